// The findings of the "one release order" issue, one test each: a revert is never undone, every write is recorded, no visitor waits on the authority.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { decide } from "../worker/core/decide.ts";
import { REVISION_HEADER, RULES_KEY } from "../worker/core/release.ts";
import type { Traits } from "../worker/core/traits.ts";
import { releaseAuthority } from "../worker/control/authority/release-authority.ts";
import { RulesCache } from "../worker/edge/rules-cache.ts";
import { sourcesOf } from "../worker/edge/rules.ts";
import { admin } from "./admin-helpers.ts";
import { fetchWithEnv, resetRelease, rulesDoc, servedBy, testEnv } from "./helpers.ts";

beforeEach(resetRelease);
afterEach(() => vi.restoreAllMocks());

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const quiet = () => vi.spyOn(console, "warn").mockImplementation(() => {});

type Stub = ReturnType<typeof env.RELEASE_AUTHORITY.getByName>;
/** The authority as an edge colo reaches it, with a say in how each call goes (late, failing, hanging). */
function reach(how: { beacon?: (call: () => Promise<unknown>) => Promise<unknown> } = {}) {
  return {
    getByName: (id: string) => {
      const stub: Stub = env.RELEASE_AUTHORITY.getByName(id);
      return new Proxy(stub, {
        get(target, name) {
          if (name === "beacon" && how.beacon) return (...args: unknown[]) => how.beacon!(() => (target.beacon as (...a: unknown[]) => Promise<unknown>)(...args));
          return (...args: unknown[]) => (target as unknown as Record<string | symbol, (...a: unknown[]) => unknown>)[name]!(...args);
        },
      });
    },
  } as unknown as Env["RELEASE_AUTHORITY"];
}

/** One edge isolate of its own colo (its own Cache API), with the KV and the authority this test gives it. */
function isolate(kv: KVNamespace, authority: Env["RELEASE_AUTHORITY"], ttl = "0") {
  const name = `iso-${crypto.randomUUID()}`;
  const cache = new RulesCache(() => caches.open(name));
  const isoEnv = { ...testEnv, RULES_TTL_MS: ttl, CANARY_KV: kv, RELEASE_AUTHORITY: authority } as unknown as Env;
  return {
    cache,
    /** The colour a visitor in `bucket` gets, and how long routing took. */
    async route(bucket = 1) {
      const started = Date.now();
      const active = await cache.activeRules(sourcesOf(isoEnv), (p) => void p.catch(() => {}), "TST");
      return { colour: decide(active.compiled, {} as Traits, bucket).colour, ms: Date.now() - started, revision: active.revision };
    },
  };
}

/** A KV replica that serves the given records in turn (the last one from then on), as a lagging far replica might. */
function replica(...records: { value: string; metadata: unknown }[]): KVNamespace {
  let i = 0;
  return { getWithMetadata: async () => ({ ...records[Math.min(i++, records.length - 1)]!, cacheStatus: null }) } as unknown as KVNamespace;
}

const canary100 = () => rulesDoc({ rollout: { id: "r1", percent: 100 } });
const put = (doc: unknown) => admin("/rules", { method: "PUT", body: doc });

describe("finding 1: a document the authority refused never routes", () => {
  async function refusedAfterRevert() {
    expect((await put(canary100())).status).toBe(200); // revision 1
    expect((await admin("/revert", { body: { reason: "5xx" } })).status).toBe(200); // revision 2
    // A wrangler-transport write that read the head before the revert lands in KV around the authority, numbered 2.
    await env.CANARY_KV.put(RULES_KEY, JSON.stringify(canary100()), { metadata: { revision: 2, updatedBy: "late cli (wrangler)" } });
    const view = await (await admin("/rules")).json<{ revision: number; propagation: { kvRefused: string | null } }>();
    expect(view.revision).toBe(2);
    expect(view.propagation.kvRefused).not.toBeNull();
  }

  it("ten new isolates whose KV read lands before the authority answers route the revert", async () => {
    quiet();
    await refusedAfterRevert();
    const refused = await env.CANARY_KV.getWithMetadata(RULES_KEY, "text");
    const late = reach({ beacon: async (call) => (await sleep(300), call()) });
    for (let i = 0; i < 10; i++) {
      const iso = isolate(replica({ value: refused.value!, metadata: { revision: 2, updatedBy: "late cli (wrangler)" } }), late);
      expect((await iso.route()).colour).toBe("blue");
      await sleep(20);
      expect((await iso.route()).colour).toBe("blue");
    }
  });

  it("a warm isolate whose last beacon failed does not take it up", { timeout: 15_000 }, async () => {
    quiet();
    expect((await put(canary100())).status).toBe(200);
    expect((await admin("/revert", { body: {} })).status).toBe(200);
    let failing = false;
    const flaky = reach({ beacon: (call) => (failing ? Promise.reject(new Error("authority down")) : call()) });
    const kv = { current: env.CANARY_KV as KVNamespace };
    const iso = isolate({ getWithMetadata: (...a: unknown[]) => (kv.current.getWithMetadata as (...b: unknown[]) => unknown)(...a) } as unknown as KVNamespace, flaky);
    expect((await iso.route()).colour).toBe("blue");
    failing = true;
    await sleep(600);
    expect((await iso.route()).colour).toBe("blue"); // this request's beacon check fails
    kv.current = replica({ value: JSON.stringify(canary100()), metadata: { revision: 2, updatedBy: "late cli (wrangler)" } });
    for (let i = 0; i < 5; i++) {
      await sleep(200);
      expect((await iso.route()).colour).toBe("blue");
    }
  });

  it("the authority puts its head back in KV over a value it refused", async () => {
    quiet();
    await refusedAfterRevert();
    const stored = await env.CANARY_KV.getWithMetadata<{ revision: number; authority?: boolean }>(RULES_KEY, "text");
    expect(stored.metadata).toMatchObject({ revision: 2, authority: true });
    expect(JSON.parse(stored.value!).rollout.percent).toBe(0);
  });
});

describe("finding 2: a raw put is adopted or refused, every time", () => {
  it("the same bytes put raw a second time, after another write, become a revision again", async () => {
    expect((await put(rulesDoc({ rollout: { id: "r1", percent: 10 } }))).status).toBe(200); // 1
    const raw = JSON.stringify(rulesDoc({ rollout: { id: "r1", percent: 40 } }));
    await env.CANARY_KV.put(RULES_KEY, raw);
    expect((await (await admin("/rules")).json<{ revision: number }>()).revision).toBe(2); // adopted
    expect((await admin("/ramp", { body: { percent: 20 } })).status).toBe(200); // 3
    await env.CANARY_KV.put(RULES_KEY, raw);
    const view = await (await admin("/rules")).json<{ revision: number; meta: { action: string }; rules: { rollout: { percent: number } } }>();
    expect({ revision: view.revision, action: view.meta.action, percent: view.rules.rollout.percent }).toEqual({ revision: 4, action: "kv-put", percent: 40 });
  });
});

describe("finding 3: an isolate's revision never goes down", () => {
  it("a lagging replica serving an older revision with the same bytes as the revert does not let the revision before the revert back in", async () => {
    quiet();
    await put(rulesDoc({ rollout: { id: "r1", percent: 0 } })); // 1
    await admin("/ramp", { body: { percent: 50 } }); // 2
    await admin("/revert", { body: {} }); // 3: the same bytes as 1
    const reverted = (await env.CANARY_KV.get(RULES_KEY, "text"))!; // revision 3 as mirrored: byte-identical to revision 1
    const fifty = JSON.parse(reverted);
    fifty.rollout.percent = 50;
    const iso = isolate(
      replica(
        { value: reverted, metadata: { revision: 3, authority: true } },
        { value: reverted, metadata: { revision: 1, authority: true } },
        { value: JSON.stringify(fifty, null, 2), metadata: { revision: 2, authority: true } },
      ),
      env.RELEASE_AUTHORITY,
    );
    // bucket 1 is green at 50%: only revision 2 sends it there
    for (let i = 0; i < 4; i++) expect((await iso.route(1)).colour).toBe("blue");
  });
});

describe("finding 5: no visitor waits for the authority", () => {
  it("an isolate idle for two seconds routes its next visitor without waiting for a hanging authority", { timeout: 15_000 }, async () => {
    quiet();
    await put(canary100());
    let hang = false;
    const calls: string[] = [];
    const hanging = reach({ beacon: (call) => (calls.push("beacon"), hang ? new Promise(() => {}) : call()) });
    const iso = isolate(env.CANARY_KV, hanging, "5000");
    expect((await iso.route()).colour).toBe("green"); // the isolate's very first request may wait
    hang = true;
    await sleep(2_000);
    const idle = await iso.route();
    expect(idle.colour).toBe("green");
    expect(idle.ms).toBeLessThan(200); // a hanging authority costs today's 1 s beacon deadline
  });
});

describe("finding 6: the smaller ones", () => {
  it("the isolate that handed a revert over routes the next request on it, even right after a failed beacon", async () => {
    quiet();
    await put(canary100());
    const beaconDown = reach({ beacon: () => Promise.reject(new Error("blip")) }); // its documents still come
    const visit = () => fetchWithEnv(new Request("https://www.example.test/", { headers: { "cf-connecting-ip": "192.0.2.9" } }), { RULES_TTL_MS: "60000", RELEASE_AUTHORITY: beaconDown });
    expect(servedBy(await visit())).toBe("green");
    await sleep(1_100); // the colo's beacon has expired: this visit's question to the authority fails
    expect(servedBy(await visit())).toBe("green");
    const res = await fetchWithEnv(
      new Request("https://www.example.test/__canary/api/revert", { method: "POST", headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" }, body: "{}" }),
      { RULES_TTL_MS: "60000", RELEASE_AUTHORITY: beaconDown },
    );
    expect(res.status).toBe(200);
    expect(servedBy(await visit())).toBe("blue");
  });

  it("rollout start, resume and abort answer with the revision they wrote", async () => {
    const plan = { steps: [{ percent: 20, dwellSeconds: 60 }] };
    await put(rulesDoc({ rollout: { id: "r1", percent: 0, analysis: { windowSeconds: 60 }, plan } }));
    const start = await admin("/rollout/start", { body: { reason: "go" } });
    expect(start.status).toBe(200);
    expect(start.headers.get(REVISION_HEADER)).toBe("2");
    const abort = await admin("/rollout/abort", { body: {} });
    expect(abort.headers.get(REVISION_HEADER)).toBe("3");
  });

  it("keeps no per-revision copies in KV (rules@<n>), and removes old ones", async () => {
    await env.CANARY_KV.put("rules@1", "{}");
    await env.CANARY_KV.put("rules@2", "{}");
    await put(rulesDoc());
    for (let i = 1; i <= 3; i++) await admin("/ramp", { body: { percent: i } });
    const { keys } = await env.CANARY_KV.list({ prefix: "rules@" });
    expect(keys).toEqual([]);
  });

  it("refuses the control Worker or the authority as an origin", async () => {
    await put(rulesDoc());
    await admin("/rules"); // the edge has reported its bindings
    for (const service of ["CONTROL", "RELEASE_AUTHORITY", "CANARY_ANALYSIS"]) {
      const res = await put(rulesDoc({ origins: { blue: { url: testEnv.BLUE_ORIGIN }, green: { service } } }));
      expect(res.status, service).toBe(400);
    }
  });

  it("answers 504 when the control Worker does not answer in time, instead of hanging", { timeout: 10_000 }, async () => {
    const hung = { fetch: () => new Promise<Response>(() => {}) } as unknown as Fetcher;
    const res = await fetchWithEnv(new Request("https://www.example.test/__canary/api/rules"), { CONTROL: hung, CONTROL_TIMEOUT_MS: "300" } as Partial<Env>);
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: "control_timeout" });
  });
});
