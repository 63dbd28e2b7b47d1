import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe } from "vitest";
import { WranglerKV } from "../../scripts/canary/wrangler-kv.ts";
import type { RulesKV } from "../../worker/control/store.ts";
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
