import { decide } from "../../../worker/core/decide.ts";
import router from "../../../worker/edge/index.ts";
import { originHeaders, targetUrl } from "../../../worker/edge/forward.ts";
import { activeRules } from "../../../worker/edge/rules-cache.ts";
import { stamp } from "../../../worker/edge/stamp.ts";
import { readVisitor } from "../../../worker/edge/visitor.ts";
import { RULES_KEY } from "../../../worker/core/release.ts";
import passthrough from "./passthrough-worker.ts";
import { BENCH_SECRET } from "./fixtures.ts";

/**
 * The handlers the per-request benchmark times, all answered by the same origin stub so that no
 * network time hides the work: the bare passthrough Worker (the baseline), the router Worker
 * (worker/index.ts, everything but the socket), and the router's decision path on its own.
 */

/** The origin's answer without the network; every handler gets the same answer. */
export function originStub(): Promise<Response> {
  return Promise.resolve(new Response("blue\n", { headers: { "content-type": "text/plain; charset=utf-8" } }));
}

/** Runs `work` with the global fetch answered by the origin stub, then puts the real fetch back. */
export async function withOriginStub<T>(work: () => Promise<T>): Promise<T> {
  const realFetch = globalThis.fetch;
  globalThis.fetch = originStub as typeof fetch;
  try {
    return await work();
  } finally {
    globalThis.fetch = realFetch;
  }
}

/** The baseline: the bare passthrough Worker of the load test, `fetch(request)` to the origin. */
export function passthroughHandler(request: Request): Promise<Response> {
  return passthrough.fetch(request, { ORIGIN: "https://blue.example.com" });
}

/**
 * An env for the router whose KV holds `rulesText` (with RULES_TTL_MS "0" every call reads it
 * again) and whose analysis object takes health batches and does nothing with them.
 */
export function routerEnv(rulesText: string, ttlMs: string): Env {
  const kv = {
    getWithMetadata: async (key: string) => ({ value: key === RULES_KEY ? rulesText : null, metadata: { revision: 1 } }),
  };
  const analysis = { getByName: () => ({ record: async () => {} }) };
  // The release authority's beacon names the revision KV already holds: the isolate never needs its document.
  const authority = { getByName: () => ({ beacon: async () => ({ revision: 1, at: Date.now() }), document: async () => null }) };
  return {
    CANARY_KV: kv as unknown as KVNamespace,
    CANARY_ANALYSIS: analysis as unknown as Env["CANARY_ANALYSIS"],
    RELEASE_AUTHORITY: authority as unknown as Env["RELEASE_AUTHORITY"],
    CANARY_SECRET: BENCH_SECRET,
    FALLBACK_ORIGIN: "https://blue.example.com",
    FALLBACK_COLOUR: "blue",
    RULES_TTL_MS: ttlMs,
    CANARY_PATH: "/__canary",
    CONTROL: { fetch: async () => new Response(null, { status: 404 }) } as unknown as Env["CONTROL"],
    HEALTH_FLUSH_REQUESTS: "1000",
    HEALTH_FLUSH_MS: "5000",
  };
}

const executionContext = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

/** The whole router Worker: hono routing, rules cache, decision, proxying (to the stub), health counting and stamping. */
export function routerHandler(request: Request, env: Env): Promise<Response> {
  return router.fetch(request, env, executionContext) as Promise<Response>;
}

/** The router's per-request work as in worker/router.ts, with hono's proxy() replaced by a plain stubbed fetch. */
export async function decisionPath(request: Request, env: Env): Promise<Response> {
  const { compiled } = await activeRules(env, () => {});
  const { rules } = compiled;
  const visitor = await readVisitor(request, rules, env.CANARY_SECRET, true);
  const decision = decide(compiled, visitor.traits, visitor.bucket, visitor.forced);
  const outgoing = new Request(targetUrl(request.url, rules.origins[decision.colour]), {
    method: request.method,
    headers: originHeaders(request, decision),
    redirect: "manual",
  });
  return stamp(await fetch(outgoing), decision, visitor.setCookies, compiled.vary);
}
