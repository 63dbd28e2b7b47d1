import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { HISTORY_LIMIT } from "../worker/control/release/store.ts";
import { RULES_KEY } from "../worker/core/release.ts";
import { admin, clearKv, kvSnapshot } from "./admin-helpers.ts";
import { putRawRules, rulesDoc, servedBy, testEnv, visit } from "./helpers.ts";

beforeEach(clearKv);

/** A share of 200 visitors (distinct IPs) that the canary served. */
async function canaryShare(): Promise<number> {
  let green = 0;
  for (let i = 0; i < 200; i++) if (servedBy(await visit("/", { ip: `10.1.${i >> 8}.${i & 255}` })) === "green") green++;
  return green / 200;
}

async function json(res: Response | Promise<Response>): Promise<any> {
  return (await res).json();
}

/** Puts a document through the API and returns its revision. */
async function commit(doc: unknown = rulesDoc()): Promise<number> {
  const res = await admin("/rules", { method: "PUT", body: doc });
  expect(res.status).toBe(200);
  return (await res.json<{ revision: number }>()).revision;
}

describe("GET /rules", () => {
  it("shows the document, its revision and change record, and what this isolate serves", async () => {
    await commit();
    await visit("/", { ip: "1.2.3.4" });
    const res = await admin("/rules");
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe('"1"');
    const body = await res.json<any>();
    expect(body.revision).toBe(1);
    expect(body.rules).toMatchObject({ stable: "blue", rollout: { id: "r1", percent: 0 } });
    expect(body.meta).toMatchObject({ revision: 1, updatedBy: "admin-token", action: "replace" });
    expect(Date.parse(body.meta.updatedAt)).not.toBeNaN();
    expect(body.serving).toMatchObject({ revision: 1, source: "kv", cacheTtlMs: 0 });
  });

  it("takes over a document already in KV (put with plain `wrangler kv key put`) as revision 1", async () => {
    await putRawRules(rulesDoc({ rollout: { id: "raw", percent: 7 } }));
    const body = await json(admin("/rules"));
    expect(body).toMatchObject({ revision: 1, meta: { action: "import", updatedBy: "wrangler kv" }, rules: { rollout: { id: "raw", percent: 7 } } });
  });

  it("adopts a document written to KV around it as the next revision, in the one history", async () => {
    await commit();
    await putRawRules(rulesDoc({ rollout: { id: "raw", percent: 7 } }));
    const body = await json(admin("/rules"));
    expect(body).toMatchObject({ revision: 2, meta: { action: "kv-put", updatedBy: "wrangler kv" }, rules: { rollout: { id: "raw", percent: 7 } } });
    const { entries } = await json(admin("/history"));
    expect(entries.map((e: { revision: number }) => e.revision)).toEqual([2, 1]);
  });

  it("says which revision KV's mirror holds (propagation.mirrored: canary doctor compares it with the head)", async () => {
    await commit();
    await commit(rulesDoc({ rollout: { id: "r2", percent: 5 } }));
    const body = await json(admin("/rules"));
    expect(body.propagation).toMatchObject({ head: { revision: 2 }, mirrored: 2, kvRefused: null });
    expect((await env.CANARY_KV.getWithMetadata<{ revision: number }>(RULES_KEY, "text")).metadata?.revision).toBe(2);
  });

  it("says why when there is no valid document, and refuses visibly one written to KV around it", async () => {
    expect(await json(admin("/rules"))).toMatchObject({ revision: 0, rules: null, issues: [{ path: "$" }] });
    await putRawRules('{"stable": "purple"}');
    const body = await json(admin("/rules"));
    expect(body).toMatchObject({ revision: 0, rules: null });
    expect(body.propagation.kvRefused).toMatch(/not (adopted|taken over): .*\$\.stable/);
  });
});

describe("PUT /rules", () => {
  it("replaces the document, records who and why, and mirrors it to KV with its change record", async () => {
    const res = await admin("/rules", { method: "PUT", body: rulesDoc(), headers: { "x-canary-reason": "first rules" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-canary-revision")).toBe("1");
    const body = await res.json<any>();
    expect(body).toMatchObject({ revision: 1, unchanged: false, meta: { action: "replace", reason: "first rules" } });
    expect(body.changes).toEqual([expect.stringMatching(/^\(document\): null → \{"/)]);
    const stored = await env.CANARY_KV.getWithMetadata(RULES_KEY, "text");
    expect(JSON.parse(stored.value!)).toEqual(body.rules);
    expect(stored.metadata).toEqual({ ...body.meta, authority: true, seal: expect.stringMatching(/^rules:1:[0-9a-f]{64}\.[A-Za-z0-9+/]+=$/) });
  });

  it("refuses an invalid document with every issue and its JSON path; KV is unchanged", async () => {
    await commit();
    const before = await kvSnapshot();
    const res = await admin("/rules", {
      method: "PUT",
      body: { ...rulesDoc(), rollout: { id: "has space", percent: 150 }, surprise: true },
    });
    expect(res.status).toBe(400);
    const body = await res.json<any>();
    expect(body).toMatchObject({ error: "invalid_rules", message: expect.stringContaining("nothing was written") });
    expect(body.issues.map((i: { path: string }) => i.path).sort()).toEqual(["$", "$.rollout.id", "$.rollout.percent"]);
    expect(await kvSnapshot()).toEqual(before);
  });

  it("refuses a body that is not JSON; KV is unchanged", async () => {
    await commit();
    const before = await kvSnapshot();
    const res = await admin("/rules", { method: "PUT", body: "{ stable: blue" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_json", issues: [{ path: "$" }] });
    expect(await kvSnapshot()).toEqual(before);
  });

  it("refuses a body not sent as JSON (what a cross-site form could post); KV is unchanged", async () => {
    await commit();
    const before = await kvSnapshot();
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const res = await admin("/ramp", { body: { percent: 100 }, headers: { "content-type": type } });
      expect(res.status).toBe(415);
      expect(await res.json()).toMatchObject({ error: "unsupported_media_type" });
    }
    const emptyForm = await admin("/revert", { method: "POST", body: "", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(emptyForm.status).toBe(415);
    expect(await kvSnapshot()).toEqual(before);
  });

  it("writes with a matching If-Match and answers 412 with the live revision otherwise; KV is unchanged", async () => {
    await commit();
    const ok = await admin("/rules", { method: "PUT", body: rulesDoc({ overrides: "off" }), headers: { "if-match": '"1"' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("etag")).toBeNull();
    const before = await kvSnapshot();
    const stale = await admin("/rules", { method: "PUT", body: rulesDoc({ overrides: "signed" }), headers: { "if-match": "1" } });
    expect(stale.status).toBe(412);
    expect(await stale.json()).toMatchObject({ error: "revision_conflict", currentRevision: 2 });
    const garbage = await admin("/rules", { method: "PUT", body: rulesDoc(), headers: { "if-match": "latest" } });
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ error: "invalid_if_match" });
    expect(await kvSnapshot()).toEqual(before);
  });

  it("does not record a revision when nothing changes", async () => {
    await commit();
    const before = await kvSnapshot();
    const body = await json(admin("/rules", { method: "PUT", body: rulesDoc() }));
    expect(body).toMatchObject({ revision: 1, unchanged: true, changes: [] });
    expect(await kvSnapshot()).toEqual(before);
  });
});

describe("POST /ramp", () => {
  it("moves visitors to the canary step by step, each step a revision with its diff", { timeout: 20_000 }, async () => {
    await commit();
    expect(await canaryShare()).toBe(0);
    const res = await admin("/ramp", { body: { percent: 25, reason: "error rate flat" } });
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body).toMatchObject({ revision: 2, changes: ["rollout.percent: 0 → 25"], meta: { action: "ramp", reason: "error rate flat" } });
    const share = await canaryShare();
    expect(share).toBeGreaterThan(0.12);
    expect(share).toBeLessThan(0.38);
    await admin("/ramp", { body: { percent: 100 } });
    expect(await canaryShare()).toBe(1);
  });

  it("starts a fresh cohort with a new rollout id", async () => {
    await commit();
    const body = await json(admin("/ramp", { body: { percent: 5, rolloutId: "release-2" } }));
    expect(body.rules.rollout).toEqual({ id: "release-2", percent: 5 });
    expect(body.changes).toEqual(["rollout.id: \"r1\" → \"release-2\"", "rollout.percent: 0 → 5"]);
  });

  it("refuses a bad percentage, a bad rollout id or an unknown field, naming the field; KV is unchanged", async () => {
    await commit();
    const before = await kvSnapshot();
    const cases: [unknown, string][] = [
      [{ percent: 150 }, "$.rollout.percent"],
      [{ percent: 2.555 }, "$.rollout.percent"],
      [{ percent: "25" }, "$.percent"],
      [{}, "$.percent"],
      [{ percent: 5, rolloutId: "no spaces" }, "$.rollout.id"],
      [{ percent: 5, pct: 5 }, "$"],
    ];
    for (const [input, path] of cases) {
      const res = await admin("/ramp", { body: input });
      expect(res.status, JSON.stringify(input)).toBe(400);
      const body = await res.json<any>();
      expect(body.issues.map((i: { path: string }) => i.path), JSON.stringify(input)).toContain(path);
    }
    expect(await kvSnapshot()).toEqual(before);
  });

  it("answers 409 when there is no valid document to ramp; KV is unchanged", async () => {
    await putRawRules("not json");
    await admin("/rules"); // the release authority takes the document over (and marks it in KV) before the snapshot
    const before = await kvSnapshot();
    const res = await admin("/ramp", { body: { percent: 5 } });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "no_valid_rules", issues: [{ path: "$" }] });
    expect(await kvSnapshot()).toEqual(before);
  });

  it("answers 412 to a ramp based on an old revision; KV is unchanged", async () => {
    await commit();
    await admin("/ramp", { body: { percent: 5 } });
    const before = await kvSnapshot();
    const res = await admin("/ramp", { body: { percent: 50 }, headers: { "if-match": "1" } });
    expect(res.status).toBe(412);
    expect(await res.json()).toMatchObject({ currentRevision: 2 });
    expect(await kvSnapshot()).toEqual(before);
  });
});

describe("POST /promote and /revert", () => {
  const beta = { name: "beta", when: { header: { name: "x-tier", values: ["beta"] } }, serve: "canary" as const };
  const enterprise = { name: "enterprise", when: { header: { name: "x-tier", values: ["ent"] } }, serve: "stable" as const };

  it("promote makes green stable for everyone and disables canary-bound rules", async () => {
    await commit(rulesDoc({ rollout: { id: "r1", percent: 25 }, rules: [beta, enterprise] }));
    const body = await json(admin("/promote", { body: { reason: "canary healthy" } }));
    expect(body.rules).toMatchObject({ stable: "green", rollout: { percent: 0 } });
    expect(body.rules.rules.map((r: { enabled: boolean }) => r.enabled)).toEqual([false, true]);
    expect(body.meta).toMatchObject({ action: "promote", reason: "canary healthy" });
    expect(await canaryShare()).toBe(1);
    expect(servedBy(await visit("/", { headers: { "x-tier": "beta" } }))).toBe("green");
  });

  it("revert puts everyone back on stable at once, with the reason in the history", async () => {
    await commit(rulesDoc({ rollout: { id: "r1", percent: 100 }, rules: [beta] }));
    expect(servedBy(await visit("/", { ip: "9.9.9.9" }))).toBe("green");
    const res = await admin("/revert", { body: { reason: "5xx on checkout" } });
    expect(res.status).toBe(200);
    expect(await canaryShare()).toBe(0);
    expect(servedBy(await visit("/", { headers: { "x-tier": "beta" } }))).toBe("blue");
    const history = await json(admin("/history"));
    expect(history.entries[0]).toMatchObject({ revision: 2, action: "revert", reason: "5xx on checkout", updatedBy: "admin-token" });
    expect(history.entries[0].changes).toEqual(["rollout.percent: 100 → 0", "rules[0].enabled: true → false"]);
  });

  it("revert needs no reason, and a second revert changes nothing", async () => {
    await commit(rulesDoc({ rollout: { id: "r1", percent: 30 } }));
    expect((await admin("/revert", { method: "POST" })).status).toBe(200);
    const before = await kvSnapshot();
    expect(await json(admin("/revert", { body: {} }))).toMatchObject({ unchanged: true, revision: 2 });
    expect(await kvSnapshot()).toEqual(before);
  });

  it("refuses a reason that is not a string; KV is unchanged", async () => {
    await commit();
    const before = await kvSnapshot();
    const res = await admin("/revert", { body: { reason: 42 } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_request", issues: [{ path: "$.reason" }] });
    expect(await kvSnapshot()).toEqual(before);
  });
});

describe("POST /rollback", () => {
  it("restores an earlier revision's document as a new revision", async () => {
    await commit();
    await admin("/ramp", { body: { percent: 5 } });
    await admin("/ramp", { body: { percent: 25 } });
    const res = await admin("/rollback", { body: { revision: 1, reason: "bad cohort" } });
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body).toMatchObject({ revision: 4, changes: ["rollout.percent: 25 → 0"], meta: { action: "rollback", reason: "bad cohort (back to revision 1)" } });
    expect(await json(admin("/rules"))).toMatchObject({ revision: 4, rules: { rollout: { percent: 0 } } });
  });

  it("answers 404 for a revision that is not kept and 400 for one that is not a number; KV is unchanged", async () => {
    await commit();
    const before = await kvSnapshot();
    const missing = await admin("/rollback", { body: { revision: 99 } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "unknown_revision" });
    const bad = await admin("/rollback", { body: { revision: "one" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ issues: [{ path: "$.revision" }] });
    expect(await kvSnapshot()).toEqual(before);
  });
});

describe("GET /history", () => {
  it("is bounded: the newest HISTORY_LIMIT entries and revisions are kept, older ones dropped", { timeout: 30_000 }, async () => {
    await commit();
    for (let i = 1; i <= HISTORY_LIMIT + 4; i++) await admin("/ramp", { body: { percent: i % 2 ? 10 : 20 } });
    const last = HISTORY_LIMIT + 5;
    const { entries } = await json(admin("/history"));
    expect(entries).toHaveLength(HISTORY_LIMIT);
    expect(entries[0].revision).toBe(last);
    expect(entries.at(-1).revision).toBe(last - HISTORY_LIMIT + 1);
    expect((await admin("/rollback", { body: { revision: last - HISTORY_LIMIT } })).status).toBe(404);
    expect((await admin("/rollback", { body: { revision: last - HISTORY_LIMIT + 1 } })).status).toBe(200);
  });

  it("takes a limit, and refuses a bad one", async () => {
    await commit();
    await admin("/ramp", { body: { percent: 5 } });
    await admin("/ramp", { body: { percent: 10 } });
    const { entries } = await json(admin("/history?limit=2"));
    expect(entries.map((e: { revision: number }) => e.revision)).toEqual([3, 2]);
    expect((await admin("/history?limit=0")).status).toBe(400);
    expect((await admin("/history?limit=ten")).status).toBe(400);
  });
});

describe("POST /validate", () => {
  it("checks a document without writing anything and shows it with defaults filled in", async () => {
    const before = await kvSnapshot();
    const ok = await admin("/validate", { body: rulesDoc() });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ valid: true, rules: { rules: [], stickiness: {} } });
    const bad = await admin("/validate", { body: { ...rulesDoc(), stable: "red" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "invalid_rules", issues: [{ path: "$.stable" }] });
    expect(await kvSnapshot()).toEqual(before);
  });
});

describe("POST /join-link", () => {
  it("mints a signed link that puts a tester on green until it expires", async () => {
    await commit(rulesDoc({ overrides: "signed" }));
    const res = await admin("/join-link", { body: { colour: "green", ttlSeconds: 3600, path: "/shop" } });
    expect(res.status).toBe(200);
    const link = await res.json<any>();
    const url = new URL(link.url);
    expect(url.origin + url.pathname).toBe("https://www.example.test/shop");
    expect(Date.parse(link.expiresAt) / 1000 - Date.now() / 1000).toBeGreaterThan(3590);
    const visited = await visit(url.pathname + url.search, { ip: "1.2.3.4" });
    expect(servedBy(visited)).toBe("green");
    const forged = await visit(`/shop?__canary=${url.searchParams.get("__canary")!.replace("green", "blue")}`);
    expect(servedBy(forged)).toBe("blue");
  });

  it("refuses an unknown colour, a bad lifetime or a path off the site", async () => {
    for (const body of [{ colour: "red" }, { colour: "green", ttlSeconds: 5 }, { colour: "green", path: "//evil.example/x" }]) {
      const res = await admin("/join-link", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json<any>()).issues.length).toBeGreaterThan(0);
    }
  });

  it("answers 409 when there is no CANARY_SECRET to sign with", async () => {
    const res = await admin("/join-link", { body: { colour: "green" }, env: { CANARY_SECRET: "" } });
    expect(res.status).toBe(409);
    // The fix: one secret on both Workers (the edge verifies what the control Worker signs).
    const { error, message } = await res.json<{ error: string; message: string }>();
    expect(error).toBe("no_secret");
    expect(message).toContain("the same on both Workers");
    expect(message).toContain("wrangler secret put CANARY_SECRET -c worker/control/wrangler.toml");
    expect(message).toContain("npm run setup");
  });
});

describe("request size", () => {
  it("refuses a body over 8 MiB with 413; KV is unchanged", async () => {
    await commit();
    const before = await kvSnapshot();
    const huge = JSON.stringify({ ...rulesDoc(), padding: "x".repeat(9 * 1024 * 1024) });
    const res = await admin("/rules", { method: "PUT", body: huge });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "too_large" });
    expect(await kvSnapshot()).toEqual(before);
  });
});

describe("routing of the router's own paths", () => {
  it("answers unknown admin endpoints and other CANARY_PATH paths with JSON 404s, never the origin", async () => {
    const unknown = await admin("/nope");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: "not_found" });
    const other = await visit("/__canary/elsewhere");
    expect(other.status).toBe(404);
    expect(servedBy(other)).toBeNull();
  });

  it("leaves visitors' paths that merely start like the prefix to the origin", async () => {
    await putRawRules(rulesDoc());
    const res = await visit("/__canaryish");
    expect(servedBy(res)).toBe("blue");
    expect(testEnv.BLUE_ORIGIN).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });
});
