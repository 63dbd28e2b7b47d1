import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WranglerKV } from "../../scripts/canary/wrangler-kv.ts";
import type { RulesKV } from "../../worker/control/release/kv-layout.ts";
import { rulesKvConformance } from "../storage/conformance.ts";
import { budget } from "./helpers.ts";

/** The CLI's adapter: `wrangler kv` against local storage in a folder of its own (each call runs wrangler). */
describe("RulesKV conformance: the wrangler adapter", () => {
  let persistTo = "";
  beforeAll(async () => {
    persistTo = await mkdtemp(join(tmpdir(), "canary-conformance-"));
  });
  afterAll(() => rm(persistTo, { recursive: true, force: true }));

  rulesKvConformance(
    {
      open: () => new WranglerKV({ remote: false, persistTo }),
      commit: (kv: RulesKV) => (kv as WranglerKV).flush(),
      willRead: (kv: RulesKV, keys: string[]) => (kv as WranglerKV).prefetch(keys),
    },
    "conformance-wrangler/",
    budget({ wrangler: 5 }), // at most: put, get, metadata list per key read, delete
  );
});

describe("the wrangler adapter's runs", () => {
  /** A stand-in for wrangler that answers at once with empty KV and counts how many runs overlap. */
  function counting() {
    const seen = { running: 0, most: 0, runs: 0 };
    const run = async (args: string[]) => {
      seen.runs += 1;
      seen.most = Math.max(seen.most, ++seen.running);
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen.running -= 1;
      return { code: 0, stdout: args.includes("list") ? "[]" : "{}", stderr: "" };
    };
    return { seen, run };
  }

  it("runs local wrangler commands one at a time (two on one folder can fail with \"database is locked\")", async () => {
    const { seen, run } = counting();
    const kv = new WranglerKV({ remote: false, persistTo: "/unused" }, "CANARY_KV", run);
    expect(await Promise.all([kv.getWithMetadata("a"), kv.getWithMetadata("b")])).toEqual([
      { value: null, metadata: null },
      { value: null, metadata: null },
    ]);
    expect([seen.runs, seen.most]).toEqual([4, 1]);
  });

  it("runs remote ones at once", async () => {
    const { seen, run } = counting();
    const kv = new WranglerKV({ remote: true }, "CANARY_KV", run);
    await Promise.all([kv.getWithMetadata("a"), kv.getWithMetadata("b")]);
    expect([seen.runs, seen.most]).toEqual([4, 4]);
  });

  it("reports a failed read to whoever awaits it, and leaves no unhandled rejection behind", async () => {
    const kv = new WranglerKV({ remote: false }, "CANARY_KV", async () => ({ code: 1, stdout: "", stderr: "✘ [ERROR] database is locked" }));
    kv.prefetch(["a", "b"]); // "b" is never awaited
    await expect(kv.get("a")).rejects.toThrow("wrangler kv bulk get failed: database is locked");
  });
});
