import { decide } from "../../../worker/core/decide.ts";
import { RULES_KEY } from "../../../worker/core/release.ts";
import edge from "../../../worker/edge/index.ts";
import { originInit, targetUrl } from "../../../worker/edge/forward.ts";
import { activeRules } from "../../../worker/edge/rules.ts";
import { stamp } from "../../../worker/edge/stamp.ts";
import { readVisitor } from "../../../worker/edge/visitor.ts";
import { traitsOf } from "../../../worker/core/traits.ts";
import handRolled from "../peers/hand-rolled.ts";
import passthrough from "../peers/passthrough.ts";
import { BENCH_REVISION, BENCH_SECRET } from "./fixtures.ts";

/**
 * The handlers the in-isolate timing calls, all answered by the same origin stub so that no network
 * time hides the work: the three peers' whole `fetch` handlers, and the edge's decision path alone.
 */

const BLUE = "https://blue.example.com";
const GREEN = "https://green.example.com";

/**
 * The origin's answer without the network; every handler gets the same answer. Like the real
 * fetch, it first builds the Request its arguments describe (the spec's `new Request(input, init)`),
 * so a handler that hands fetch a URL and an init pays here what it pays under load.
 */
function originStub(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  new Request(input, init);
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

/** The baseline: the bare passthrough Worker of the load test. */
export function passthroughHandler(request: Request): Promise<Response> {
  return passthrough.fetch(request, { ORIGIN: BLUE });
}

/** The hand-rolled router with the bench visitor's secret. */
export function handRolledHandler(request: Request): Promise<Response> {
  return handRolled.fetch(request, { BLUE_ORIGIN: BLUE, GREEN_ORIGIN: GREEN, CANARY_SECRET: BENCH_SECRET });
}

/**
 * An env for the edge Worker whose KV holds `rulesText` as the authority mirrors it (`metadata`:
 * fixtures.ts mirrorMetadata; with RULES_TTL_MS "0" every call reads it again) and whose analysis
 * object takes health batches and does nothing with them.
 */
export function edgeEnv(rulesText: string, metadata: unknown, ttlMs: string): Env {
  const kv = {
    getWithMetadata: async (key: string) => (key === RULES_KEY ? { value: rulesText, metadata } : { value: null, metadata: null }),
  };
  const analysis = { getByName: () => ({ record: async () => {} }) };
  // The release authority's beacon names the revision KV already holds: the isolate never needs its document.
  const authority = { getByName: () => ({ beacon: async () => ({ revision: BENCH_REVISION, at: Date.now() }), document: async () => null }) };
  return {
    CANARY_KV: kv as unknown as KVNamespace,
    CANARY_ANALYSIS: analysis as unknown as Env["CANARY_ANALYSIS"],
    RELEASE_AUTHORITY: authority as unknown as Env["RELEASE_AUTHORITY"],
    CANARY_SECRET: BENCH_SECRET,
    FALLBACK_ORIGIN: BLUE,
    FALLBACK_COLOUR: "blue",
    RULES_TTL_MS: ttlMs,
    CONTROL_TIMEOUT_MS: "30000",
    CANARY_PATH: "/__canary",
    CONTROL: { fetch: async () => new Response(null, { status: 404 }) } as unknown as Env["CONTROL"],
    HEALTH_FLUSH_REQUESTS: "1000",
    HEALTH_FLUSH_MS: "5000",
  };
}

const executionContext = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

/** The whole edge Worker: config, rules cache, visitor, decision, forwarding (to the stub), health counting, stamping. */
export function edgeHandler(request: Request, env: Env): Promise<Response> {
  return edge.fetch(request, env, executionContext);
}

/**
 * The edge's decision path as issue 6 defined it ("rules from the isolate cache, cookie parse and
 * verify, bucketing, targeting rules, header rewriting"): the real functions in
 * worker/edge/router.ts's order, from the URL parse to the origin's request ready to send (its URL
 * and init, the headers rewritten): activeRules, readVisitor, decide, targetUrl and originInit. What
 * follows it (the platform's fetch, which builds the request from them, and the response copy in
 * stamp) is timed on its own below, and in the whole Worker.
 */
export async function decisionPath(request: Request, env: Env): Promise<unknown> {
  const url = new URL(request.url);
  const { compiled } = await activeRules(env, () => {});
  const visitor = await readVisitor(request, url, compiled, env.CANARY_SECRET, true);
  const decision = decide(compiled, visitor.traits, visitor.bucket, visitor.forced);
  return [targetUrl(url, compiled.origins[decision.colour]), originInit(request, visitor.traits.headers, url, decision)];
}

/** The decision path and then what the edge does with the answer: the (stubbed) fetch and stamp. */
export async function decisionAndStamp(request: Request, env: Env): Promise<Response> {
  const url = new URL(request.url);
  const { compiled } = await activeRules(env, () => {});
  const visitor = await readVisitor(request, url, compiled, env.CANARY_SECRET, true);
  const decision = decide(compiled, visitor.traits, visitor.bucket, visitor.forced);
  const init = originInit(request, visitor.traits.headers, url, decision) as RequestInit;
  return stamp(await fetch(targetUrl(url, compiled.origins[decision.colour]), init), decision, visitor.setCookies, compiled.varyText);
}

/**
 * The decision path's steps one at a time, each with the inputs the step before it produced, to
 * show where its time goes. The stamp step includes the stub's response it copies (the fetch step alone).
 */
export async function decisionSteps(request: Request, env: Env): Promise<Record<string, () => Promise<unknown>>> {
  const url = new URL(request.url);
  const { compiled } = await activeRules(env, () => {});
  const visitor = await readVisitor(request, url, compiled, env.CANARY_SECRET, true);
  const decision = decide(compiled, visitor.traits, visitor.bucket, visitor.forced);
  const target = compiled.origins[decision.colour];
  const init = () => originInit(request, visitor.traits.headers, url, decision) as RequestInit;
  return {
    "new URL": async () => new URL(request.url),
    activeRules: async () => activeRules(env, () => {}),
    "readVisitor: traitsOf": async () => traitsOf(request, url, compiled.rules.stickiness, compiled),
    readVisitor: async () => readVisitor(request, url, compiled, env.CANARY_SECRET, true),
    decide: async () => decide(compiled, visitor.traits, visitor.bucket, visitor.forced),
    targetUrl: async () => targetUrl(url, target),
    originInit: async () => init(),
    "after the path: fetch (origin stub)": () => fetch(targetUrl(url, target), init()),
    "after the path: stamp (with the stub's response)": async () => stamp(await fetch(targetUrl(url, target), init()), decision, visitor.setCookies, compiled.varyText),
  };
}
