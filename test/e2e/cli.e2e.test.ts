import { describe, expect, it } from "vitest";
import { budget, canary, file, greenShare, greenShareSettles, ok, releaseDoc, TRANSPORTS } from "./helpers.ts";

describe.each(Object.keys(TRANSPORTS) as (keyof typeof TRANSPORTS)[])("a release over the %s transport", (name) => {
  const transport = () => TRANSPORTS[name]();
  const run = (...args: string[]) => canary([...args, ...transport().flags], transport().env);
  /** Over wrangler, a read runs 2 wrangler commands (values and metadata), a write 1 (its intent) and one request to the site: counted high. */
  const wranglerRuns = (count: number) => (name === "wrangler" ? count : 0);
  /** The same over HTTP whatever the transport under test: for what a test needs in place, not what it checks. */
  const http = (...args: string[]) => canary([...args, ...TRANSPORTS.http().flags], TRANSPORTS.http().env);
  /** Both transports' writes are carried out by the release authority through the edge: visitors follow at once. */
  const settleMs = 0;
  const share = (expected: (share: number) => boolean) => greenShareSettles(expected, settleMs);

  it("walks 0 → 25 → 100 → promote, and the visitors follow each step", async () => {
    const set = ok(await run("rules", "set", await file(`${name}-start.json`, releaseDoc(0, `e2e-${name}`)), "--reason", "new release"));
    expect(set.stdout).toMatch(/^rules set: now revision \d+/);
    expect(await share((s) => s === 0)).toBe(0);

    const ramp = ok(await run("ramp", "25", "--reason", "error rate flat"));
    expect(ramp.stdout).toContain("rollout.percent: 0 → 25");
    const at25 = await share((s) => s > 0.1 && s < 0.4);
    expect(at25).toBeGreaterThan(0.1);
    expect(at25).toBeLessThan(0.4);

    ok(await run("ramp", "100"));
    expect(await share((s) => s === 1)).toBe(1);

    const promote = ok(await run("promote", "--reason", "all good"));
    expect(promote.stdout).toContain('stable: "blue" → "green"');
    expect(promote.stdout).toContain("rollout.percent: 100 → 0");
    expect(await share((s) => s === 1)).toBe(1);

    const status = ok(await run("status"));
    expect(status.stdout).toMatch(/stable\s+green/);
    expect(status.stdout).toMatch(/canary\s+blue .* 0% of visitors/);
  }, budget({ wrangler: wranglerRuns(4 * 3 + 2), otherMs: 15_000 + 5 * settleMs }));

  it("reverts a bad canary at once with a reason, and rolls back to an earlier revision", async () => {
    // Where it starts from is set over HTTP (the walk above checks `rules set` over each transport); the revision is read, never assumed.
    const set = ok(await http("rules", "set", await file(`${name}-revert.json`, releaseDoc(30, `e2e-${name}-2`)), "--json"));
    const at30 = JSON.parse(set.stdout).revision as number;
    expect(await greenShare()).toBeGreaterThan(0);

    const revert = ok(await run("revert", "--reason", "5xx on checkout"));
    expect(revert.stdout).toContain("rollout.percent: 30 → 0");
    expect(revert.stdout).toContain("rules[0].enabled: true → false");
    expect(await share((s) => s === 0)).toBe(0);

    const history = JSON.parse(ok(await run("history", "--limit", "2", "--json")).stdout);
    expect(history.entries[0]).toMatchObject({ revision: at30 + 1, action: "revert", reason: "5xx on checkout" });
    expect(history.entries[0].updatedBy).toBe(name === "http" ? "admin-token" : "e2e-operator (wrangler)");

    const rollback = ok(await run("rollback", String(at30)));
    expect(rollback.stdout).toContain(`rollback: now revision ${at30 + 2}`);
    expect(await share((s) => s > 0)).toBeGreaterThan(0);
  }, budget({ wrangler: wranglerRuns(3 + 1 + 4), otherMs: 15_000 + 2 * settleMs }));

  it("refuses invalid input with a one-line reason and exit 1, and writes nothing", async () => {
    // Its own starting point (over HTTP), and the revision as the transport under test sees it: the
    // wrangler transport checks --if-match against KV, which shows the authority's revision once mirrored.
    ok(await http("rules", "set", await file(`${name}-invalid-start.json`, releaseDoc(0, `e2e-${name}-invalid`))));
    const seen = async () => JSON.parse(ok(await run("status", "--json")).stdout).revision as number;
    const before = await seen();
    const ramp = await run("ramp", "150");
    expect(ramp.code).toBe(1);
    expect(ramp.stderr).toMatch(/^canary: .*\(invalid_rules\)$/m);
    expect(ramp.stderr).toContain("$.rollout.percent:");

    const bad = await file(`${name}-bad.json`, { ...releaseDoc(), stable: "purple" });
    const set = await run("rules", "set", bad);
    expect(set.code).toBe(1);
    expect(set.stderr).toContain("$.stable:");
    const validate = await run("rules", "validate", bad);
    expect(validate.code).toBe(1);

    const stale = await run("ramp", "10", "--if-match", String(before - 1));
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`revision ${before}, not ${before - 1}`);
    expect(await seen()).toBe(before);
  }, budget({ wrangler: wranglerRuns(2 + 2 + 4), otherMs: 10_000 }));
});

describe("the two transports see the same rules and history", () => {
  it("a change made over wrangler is what the admin API reads and the worker serves, and the other way round", async () => {
    const wrangler = TRANSPORTS.wrangler();
    const http = TRANSPORTS.http();
    ok(await canary(["ramp", "7", ...wrangler.flags], wrangler.env));
    await greenShare();
    const view = JSON.parse(ok(await canary(["status", "--json", ...http.flags], http.env)).stdout);
    expect(view.rules.rollout.percent).toBe(7);
    expect(view.meta.updatedBy).toBe("e2e-operator (wrangler)");
    expect(view.serving).toMatchObject({ revision: view.revision, source: "kv" });

    ok(await canary(["ramp", "8", ...http.flags], http.env));
    const got = ok(await canary(["rules", "get", ...wrangler.flags], wrangler.env));
    expect(JSON.parse(got.stdout).rollout.percent).toBe(8);
    expect(got.stderr).toContain(`revision ${view.revision + 1}`);
  }, budget({ wrangler: 3 + 2, otherMs: 10_000 }));
});

describe("rules get and rules set round-trip a file", () => {
  it("rules get --out writes only the document, which rules set takes back with --if-match", async () => {
    const wrangler = TRANSPORTS.wrangler();
    const http = TRANSPORTS.http();
    const set = ok(await canary(["rules", "set", await file("roundtrip-start.json", releaseDoc(5, "e2e-roundtrip")), "--json", ...http.flags], http.env));
    const revision = JSON.parse(set.stdout).revision as number;
    const out = await file("roundtrip.json", "");
    const got = ok(await canary(["rules", "get", "--out", out, ...wrangler.flags], wrangler.env));
    expect(got.stdout).toBe("");
    expect(got.stderr).toContain(`revision ${revision} written to ${out}`);
    const again = ok(await canary(["rules", "set", out, "--if-match", String(revision), ...http.flags], http.env));
    expect(again.stdout).toMatch(/nothing to change, still revision/);
  }, budget({ wrangler: 2, otherMs: 15_000 }));
});

describe("every write is in the one history, with the number the CLI printed", () => {
  it("two wrangler-transport writes in a row (the second back to the bytes before the first), then an admin API write: three revisions in order, none lost or reused", async () => {
    const wrangler = TRANSPORTS.wrangler();
    const http = TRANSPORTS.http();
    const printed = (run: { stdout: string }) => Number(/now revision (\d+)/.exec(run.stdout)?.[1]);
    ok(await canary(["rules", "set", await file("order-start.json", releaseDoc(0, "e2e-order-start")), ...http.flags], http.env)); // its own starting point
    const ramp = ok(await canary(["ramp", "10", "--reason", "first 10%", ...wrangler.flags], wrangler.env));
    const revert = ok(await canary(["ramp", "0", "--reason", "5xx", ...wrangler.flags], wrangler.env)); // the starting document's bytes again
    const after = ok(await canary(["ramp", "3", "--json", ...http.flags], http.env));
    const revisions = [printed(ramp), printed(revert), JSON.parse(after.stdout).revision as number];
    expect(revisions[1]).toBe(revisions[0]! + 1);
    expect(revisions[2]).toBe(revisions[1]! + 1);
    const { entries } = JSON.parse(ok(await canary(["history", "--limit", "3", "--json", ...http.flags], http.env)).stdout);
    expect(entries.map((e: { revision: number; action: string; updatedBy: string; reason?: string }) => [e.revision, e.action, e.updatedBy, e.reason])).toEqual([
      [revisions[2], "ramp", "admin-token", undefined],
      [revisions[1], "ramp", "e2e-operator (wrangler)", "5xx"],
      [revisions[0], "ramp", "e2e-operator (wrangler)", "first 10%"],
    ]);
    expect(after.stderr).not.toContain("60 s");
  }, budget({ wrangler: 2 + 2 * 2, otherMs: 20_000 }));
});

describe("HTTP-only and safety behaviour", () => {
  const http = () => TRANSPORTS.http();

  it("shows what the worker is serving in status", async () => {
    const status = ok(await canary(["status", ...http().flags], http().env));
    expect(status.stdout).toMatch(/serving\s+this worker isolate.*revision \d+ from kv/);
  }, budget({ otherMs: 5_000 }));

  it("mints a join link that pins a tester to green", async () => {
    ok(await canary(["rules", "set", await file("join.json", releaseDoc(0, "e2e-join")), ...http().flags], http().env));
    const link = ok(await canary(["join-link", "--colour", "green", "--ttl", "600", ...http().flags], http().env));
    const url = link.stdout.split("\n")[0]!;
    const response = await fetch(url, { redirect: "manual" });
    expect(response.headers.get("x-canary-version")).toBe("green");
    const overWrangler = await canary(["join-link", "--colour", "green", ...TRANSPORTS.wrangler().flags]);
    expect(overWrangler.code).toBe(1);
    expect(overWrangler.stderr).toContain("--url");
  }, budget({ otherMs: 10_000 }));

  it("needs the token in CANARY_ADMIN_TOKEN, refuses a wrong one, and never takes it as a flag", async () => {
    const missing = await canary(["status", ...http().flags]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("CANARY_ADMIN_TOKEN");
    const wrong = await canary(["status", ...http().flags], { CANARY_ADMIN_TOKEN: "nope" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("wrong admin token");
    expect(wrong.stderr).not.toContain("nope");
    const flag = await canary(["status", "--token", "secret", ...http().flags]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("never a flag");
  }, budget({ otherMs: 10_000 }));

  it("answers --help for every command and refuses unknown commands and options", async () => {
    const commands = ["status", "ramp", "promote", "revert", "rollback", "history", "rules get", "rules set", "rules validate", "join-link"];
    for (const command of [...commands, "release", "rollout start", "rollout pause", "rollout resume", "rollout abort", "rollout status"]) {
      const help = ok(await canary([...command.split(" "), "--help"]));
      expect(help.stdout).toContain(`npm run canary -- ${command}`);
    }
    expect((await canary(["frobnicate"])).code).toBe(2);
    expect((await canary(["status", "--rollout-id", "x"])).code).toBe(2);
    expect((await canary(["ramp"])).code).toBe(2);
  }, budget({ otherMs: 20_000 }));
});
