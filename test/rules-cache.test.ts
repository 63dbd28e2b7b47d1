import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../worker/edge/index.ts";
import { activeRules, cachedRules } from "../worker/edge/rules.ts";
import { RULES_KEY } from "../worker/core/release.ts";
import { fetchWithEnv, putRawRules as putRules, rulesDoc, servedBy, testEnv } from "./helpers.ts";

/**
 * These tests are about KV: the edge as a deployment without the release authority runs it (its
 * beacon is tested in release.test.ts), so every change here is read from KV.
 */
const kvOnly = { RELEASE_AUTHORITY: undefined } as unknown as Partial<Env>;

/** A visitor's request with some bindings replaced (a broken KV, another cache TTL). */
function visitWith(over: Partial<Env>, path = "/", ip = "192.0.2.50"): Promise<Response> {
  return fetchWithEnv(new Request(`https://www.example.test${path}`, { headers: { "cf-connecting-ip": ip } }), { ...kvOnly, ...over });
}

/** A KV namespace that fails every read, like a KV outage. */
const brokenKv = {
  getWithMetadata: () => Promise.reject(new Error("KV GET failed: 503 Service Unavailable")),
} as unknown as KVNamespace;

/** Captures the worker's structured problem lines. */
function captureWarnings() {
  const spy = vi.spyOn(console, "warn").mockImplementation(() => {});
  return () => spy.mock.calls.map((call) => JSON.parse(String(call[0])));
}

afterEach(() => vi.restoreAllMocks());

describe("never the thing that breaks the site", () => {
  it("with no rules ever read, sends everyone to the fallback origin from wrangler.toml vars", async () => {
    const warnings = captureWarnings();
    await env.CANARY_KV.delete(RULES_KEY);
    const res = await visitWith({});
    expect(res.status).toBe(200);
    expect(servedBy(res)).toBe("blue");
    expect(await res.text()).toBe("blue\n");
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(cachedRules()?.source).toBe("fallback");
    expect(warnings()).toEqual([expect.objectContaining({ event: "rules_missing", component: "edge-canary", keeping: "fallback" })]);
  });

  it("keeps the last good rules when the document turns invalid, and logs it once, not per request", async () => {
    const warnings = captureWarnings();
    await putRules(rulesDoc({ rollout: { id: "good", percent: 100 } }), { revision: 7 });
    expect(servedBy(await visitWith({}))).toBe("green");
    await putRules({ ...rulesDoc(), rollout: { id: "bad", percent: 250 } } as never, { revision: 8 });
    for (let i = 0; i < 5; i++) expect(servedBy(await visitWith({}))).toBe("green");
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({
      event: "rules_invalid",
      revision: 8,
      keeping: "revision 7",
      issues: [{ path: "$.rollout.percent", message: expect.any(String) }],
    });
  });

  it("parses a refused document once, not on every refresh, until it changes", async () => {
    captureWarnings();
    await putRules(rulesDoc({ rollout: { id: "good", percent: 100 } }), { revision: 7 });
    expect(servedBy(await visitWith({}))).toBe("green");
    const broken = JSON.stringify({ ...rulesDoc(), rollout: { id: "parsed-once", percent: 250 } });
    await putRules(broken, { revision: 8 });
    const parse = vi.spyOn(JSON, "parse");
    for (let i = 0; i < 5; i++) expect(servedBy(await visitWith({}))).toBe("green");
    expect(parse.mock.calls.filter(([text]) => text === broken)).toHaveLength(1);
    await putRules(rulesDoc({ rollout: { id: "fixed", percent: 0 } }), { revision: 9 });
    expect(servedBy(await visitWith({}))).toBe("blue");
  });

  it("cuts a user ID at 256 characters, so a longer one cannot make hashing or matching expensive", async () => {
    const id = "u".repeat(256);
    await putRules(rulesDoc({ stickiness: { userIdHeader: "x-user-id" }, rules: [{ name: "vip", when: { userIds: [id] }, serve: "canary" }] }));
    const visitAs = (userId: string) => fetchWithEnv(new Request("https://www.example.test/", { headers: { "x-user-id": userId } }), kvOnly);
    expect(servedBy(await visitAs(`${id}and-then-some`))).toBe("green");
    expect(servedBy(await visitAs(`v${id}`))).toBe("blue");
  });

  it("keeps the last good rules when the document is not even JSON", async () => {
    const warnings = captureWarnings();
    await putRules(rulesDoc({ rollout: { id: "good", percent: 100 } }));
    expect(servedBy(await visitWith({}))).toBe("green");
    await putRules("{ this is not json");
    expect(servedBy(await visitWith({}))).toBe("green");
    expect(warnings()[0]).toMatchObject({ event: "rules_invalid", issues: [{ path: "$", message: expect.stringMatching(/^not JSON/) }] });
  });

  it("keeps the last good rules through a KV outage", async () => {
    const warnings = captureWarnings();
    await putRules(rulesDoc({ rollout: { id: "good", percent: 100 } }));
    expect(servedBy(await visitWith({}))).toBe("green");
    const res = await visitWith({ CANARY_KV: brokenKv });
    expect(res.status).toBe(200);
    expect(servedBy(res)).toBe("green");
    expect(warnings()[0]).toMatchObject({ event: "rules_kv_error", error: expect.stringContaining("503") });
  });

  it("sends everyone to stable when the canary origin names a service binding this deployment lacks", async () => {
    const warnings = captureWarnings();
    await putRules(rulesDoc({ rollout: { id: "good", percent: 100 } }));
    expect(servedBy(await visitWith({}))).toBe("green");
    await putRules(rulesDoc({ rollout: { id: "good", percent: 100 }, origins: { blue: { url: testEnv.BLUE_ORIGIN }, green: { service: "NO_SUCH_WORKER" } } }));
    expect(servedBy(await visitWith({}))).toBe("blue");
    expect(warnings()[0]).toMatchObject({ event: "rules_canary_unusable", missing: ["NO_SUCH_WORKER"], routing: "everyone to stable" });
  });

  it("keeps the last good rules when the stable origin names a service binding this deployment lacks", async () => {
    const warnings = captureWarnings();
    await putRules(rulesDoc({ rollout: { id: "good", percent: 100 } }));
    expect(servedBy(await visitWith({}))).toBe("green");
    await putRules(rulesDoc({ origins: { blue: { service: "NO_SUCH_WORKER" }, green: { url: testEnv.GREEN_ORIGIN } } }));
    expect(servedBy(await visitWith({}))).toBe("green");
    expect(warnings()[0]).toMatchObject({ event: "rules_unknown_binding", missing: ["NO_SUCH_WORKER"] });
  });

  it("serves from isolate memory within RULES_TTL_MS and picks up changes in the background after it", async () => {
    await putRules(rulesDoc({ rollout: { id: "ttl", percent: 0 } }));
    expect(servedBy(await visitWith({ RULES_TTL_MS: "0" }))).toBe("blue");
    await putRules(rulesDoc({ rollout: { id: "ttl", percent: 100 } }));
    // Fresh cache: the change is not read yet, and no KV read happens on the request path.
    const get = vi.spyOn(env.CANARY_KV, "getWithMetadata");
    expect(servedBy(await visitWith({ RULES_TTL_MS: "10000" }))).toBe("blue");
    expect(get).not.toHaveBeenCalled();
    // Stale cache: this request is still served from memory while a refresh runs after it.
    const stale = cachedRules()!;
    stale.loadedAt -= 20_000;
    expect(servedBy(await visitWith({ RULES_TTL_MS: "10000" }))).toBe("blue");
    expect(get).toHaveBeenCalledTimes(1);
    expect(servedBy(await visitWith({ RULES_TTL_MS: "10000" }))).toBe("green");
  });

  it("never serves rules older than a minute: past that, the request waits for the refresh", async () => {
    await putRules(rulesDoc({ rollout: { id: "old", percent: 0 } }));
    expect(servedBy(await visitWith({ RULES_TTL_MS: "0" }))).toBe("blue");
    await putRules(rulesDoc({ rollout: { id: "old", percent: 100 } }));
    cachedRules()!.loadedAt -= 61_000;
    expect(servedBy(await visitWith({ RULES_TTL_MS: "10000" }))).toBe("green");
  });

  it("keeps the last good rules when a stored origin is not even a URL (no exception, no 500)", async () => {
    const warnings = captureWarnings();
    await putRules(rulesDoc({ rollout: { id: "good", percent: 100 } }));
    expect(servedBy(await visitWith({}))).toBe("green");
    await putRules({ ...rulesDoc(), origins: { blue: { url: "blue.example.com" }, green: { url: "https://" } } } as never);
    const res = await visitWith({});
    expect(res.status).toBe(200);
    expect(servedBy(res)).toBe("green");
    expect(warnings()[0]).toMatchObject({ event: "rules_invalid" });
    expect(warnings()[0].issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: "$.origins.blue.url" }), expect.objectContaining({ path: "$.origins.green.url" })]),
    );
  });

  it("warns when the stable origin is not the FALLBACK_ORIGIN (say, after a promote), once", async () => {
    const warnings = captureWarnings();
    await putRules(rulesDoc({ stable: "green" }));
    await visitWith({});
    await visitWith({});
    expect(warnings()).toEqual([expect.objectContaining({ event: "fallback_not_stable", stable: "green", stableOrigin: testEnv.GREEN_ORIGIN })]);
  });

  it("sends the visitor to the stable origin, cookies untouched, when routing itself throws", async () => {
    const warnings = captureWarnings();
    // A country rule makes routing read request.cf, which throws here.
    await putRules(rulesDoc({ rollout: { id: "boom", percent: 100 }, stable: "blue", rules: [{ name: "nz", when: { countries: ["NZ"] }, serve: "stable" }] }));
    const request = new Request("https://www.example.test/", { headers: { "cf-connecting-ip": "192.0.2.70" } });
    Object.defineProperty(request, "cf", { get: () => { throw new Error("cf exploded"); } });
    const res = await fetchWithEnv(request, kvOnly);
    expect(res.status).toBe(200);
    expect(servedBy(res)).toBe("blue");
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(warnings()).toEqual([expect.objectContaining({ event: "route_failed", error: "Error: cf exploded" })]);
  });

  it("never reads request.cf when no rule looks at geography (the runtime parses it on first use)", async () => {
    const warnings = captureWarnings();
    await putRules(rulesDoc({ rollout: { id: "no-geo", percent: 100 } }));
    await visitWith({});
    const request = new Request("https://www.example.test/", { headers: { "cf-connecting-ip": "192.0.2.71" } });
    Object.defineProperty(request, "cf", { get: () => { throw new Error("cf was read"); } });
    const res = await fetchWithEnv(request, kvOnly);
    expect(servedBy(res)).toBe("green");
    expect(warnings()).toEqual([]);
  });

  it("during a KV outage, only one visitor waits for the deadline; the others get the last good rules at once", { timeout: 15_000 }, async () => {
    captureWarnings();
    await putRules(rulesDoc({ rollout: { id: "slow", percent: 100 } }));
    expect(servedBy(await visitWith({}))).toBe("green");
    cachedRules()!.loadedAt -= 61_000;
    const slowKv = { getWithMetadata: () => new Promise((done) => setTimeout(() => done({ value: null, metadata: null }), 5_000)) };
    const slowEnv = { ...env, ...kvOnly, CANARY_KV: slowKv as unknown as KVNamespace, RULES_TTL_MS: "5000" };
    const timed = async () => {
      const ctx = createExecutionContext();
      const started = Date.now();
      const res = await worker.fetch(new Request("https://www.example.test/", { headers: { "cf-connecting-ip": "192.0.2.80" } }), slowEnv, ctx);
      return { ms: Date.now() - started, colour: servedBy(res), done: waitOnExecutionContext(ctx) };
    };
    const first = await timed();
    const second = await timed();
    expect(first).toMatchObject({ colour: "green" });
    expect(first.ms).toBeGreaterThanOrEqual(1_900);
    expect(second).toMatchObject({ colour: "green" });
    expect(second.ms).toBeLessThan(500);
    await Promise.all([first.done, second.done]);
  });

  it("answers the router's own path prefix itself and never proxies it", async () => {
    await putRules(rulesDoc());
    const res = await visitWith({}, "/__canary/nothing-here");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "not_found" });
  });
});

describe("rules cache refresh", () => {
  /** RULES_TTL_MS is "0" in the tests, so every call reads KV again, as a refresh would. */
  const read = () => activeRules({ ...testEnv, ...kvOnly } as Env, () => {});

  it("keeps the compiled rules when KV still holds the same document, and takes the new revision number", async () => {
    await putRules(rulesDoc({ rollout: { id: "same", percent: 10 } }), { revision: 7 });
    const first = await read();
    await putRules(rulesDoc({ rollout: { id: "same", percent: 10 } }), { revision: 8 });
    const second = await read();
    expect(second.compiled).toBe(first.compiled);
    expect(second.revision).toBe(8);
    expect(second.loadedAt).toBeGreaterThanOrEqual(first.loadedAt);
  });

  it("compiles again as soon as the document changes", async () => {
    await putRules(rulesDoc({ rollout: { id: "before", percent: 10 } }), { revision: 1 });
    const before = await read();
    await putRules(rulesDoc({ rollout: { id: "after", percent: 20 } }), { revision: 2 });
    const after = await read();
    expect(after.compiled).not.toBe(before.compiled);
    expect(after.compiled.rules.rollout).toEqual({ id: "after", percent: 20 });
  });
});
