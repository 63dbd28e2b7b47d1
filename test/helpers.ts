import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import control from "../worker/control/index.ts";
import worker from "../worker/edge/index.ts";
import type { RulesInput } from "../worker/core/rules.ts";
import { releaseAuthority } from "../worker/control/authority/release-authority.ts";
import type { RulesMeta } from "../worker/control/release/store.ts";
import { SqlReleaseStore } from "../worker/control/release/store-sql.ts";
import { RULES_KEY } from "../worker/core/release.ts";
import { learnRevision, resetRulesCache, sourcesOf } from "../worker/edge/rules.ts";

/** The bindings the tests add on top of wrangler.toml: the real demo origins' URLs. */
export const testEnv = env as Cloudflare.Env & { BLUE_ORIGIN: string; GREEN_ORIGIN: string };

/** A valid rules document pointing at the real demo origins; `over` replaces top-level fields. */
export function rulesDoc(over: Partial<RulesInput> = {}): RulesInput {
  return {
    stable: "blue",
    origins: { blue: { url: testEnv.BLUE_ORIGIN }, green: { url: testEnv.GREEN_ORIGIN } },
    rollout: { id: "r1", percent: 0 },
    overrides: "open",
    ...over,
  };
}

/**
 * Writes a rules document as an operator would: through the release authority, the one writer (it
 * mirrors it to KV), and the test's edge isolate routes on it from its next request, as the isolate
 * that handed a write over does. Text, a change record of the test's own, or a document the authority
 * refuses goes to KV raw, as `wrangler kv key put` would put it (a KV-only edge routes on it).
 */
export async function putRules(doc: RulesInput | string, meta?: RulesMeta): Promise<void> {
  if (typeof doc !== "string" && !meta) {
    let written = await releaseAuthority(env).replace({ actor: "test" }, doc);
    if (!written.ok && JSON.stringify(written.body).includes("no edge Worker has reported its bindings yet")) {
      await releaseAuthority(env).beacon({ colo: null, services: [...sourcesOf(env as Env).services] }); // as the edge reports its service bindings
      written = await releaseAuthority(env).replace({ actor: "test" }, doc);
    }
    if (written.ok) return void (await learnRevision(written.body.revision, env as Env));
  }
  await putRawRules(doc, meta);
}

/** Writes a rules document (or any text) straight to the real local KV, around the release authority. */
export async function putRawRules(doc: RulesInput | string, meta?: RulesMeta): Promise<void> {
  const text = typeof doc === "string" ? doc : JSON.stringify(doc);
  await env.CANARY_KV.put(RULES_KEY, text, meta ? { metadata: meta } : undefined);
}

/** A visitor's request through the worker's entry point (redirects are not followed, as a browser's fetch would see them). */
export function visit(path = "/", init: RequestInit & { ip?: string; cookies?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.ip) headers.set("cf-connecting-ip", init.ip);
  if (init.cookies) headers.set("cookie", init.cookies);
  return exports.default.fetch(new Request(`https://www.example.test${path}`, { redirect: "manual", ...init, headers }));
}

/** The colour that served a response, read from the router's documented header. */
export function servedBy(response: Response): string | null {
  return response.headers.get("x-canary-version");
}

/** Cookies the response sets, as name → full Set-Cookie line. */
export function setCookies(response: Response): Record<string, string> {
  return Object.fromEntries(response.headers.getSetCookie().map((line) => [line.split("=")[0]!, line]));
}

/** The cookie pair ("name=value") of a Set-Cookie line, to send back on the next request. */
export function cookiePair(setCookieLine: string | undefined): string {
  return setCookieLine?.split(";")[0] ?? "";
}

/** Calls the worker with some bindings replaced (a broken KV, admin switched off...), as workerd would. */
export async function fetchWithEnv(request: Request, over: Partial<Cloudflare.Env>): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, { ...env, ...over }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** Calls the control Worker directly with some of its bindings replaced (admin switched off, Access on...). */
export async function fetchControlWithEnv(request: Request, over: Partial<ControlEnv>): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await control.fetch(request as Request<unknown, IncomingRequestCfProperties>, { ...(env as ControlEnv), ...over }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** Starts a test from nothing: an empty KV, an empty release authority, and an edge isolate that has read neither. */
export async function resetRelease(): Promise<void> {
  const { keys } = await env.CANARY_KV.list();
  await Promise.all(keys.map(({ name }) => env.CANARY_KV.delete(name)));
  await runInDurableObject(releaseAuthority(env), async (_, state) => {
    await state.storage.deleteAll();
    new SqlReleaseStore(state.storage); // its tables again, as a new object would have them
  });
  resetRulesCache(`colo-${++resets}`); // revisions start again at 1: a fresh colo cache, not one holding the last test's documents
}

let resets = 0;
