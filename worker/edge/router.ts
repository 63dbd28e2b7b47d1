import type { Decision } from "../core/decide.ts";
import { decide } from "../core/decide.ts";
import { logProblem } from "../core/log.ts";
import type { EdgeConfig } from "./config.ts";
import { forward } from "./forward.ts";
import { observe } from "./observe.ts";
import { activeRules, lastResortRules } from "./rules.ts";
import { stamp } from "./stamp.ts";
import { skewFallback } from "./skew.ts";
import { readVisitor } from "./visitor.ts";

/** A visitor's request: rules, visitor, decide, forward (its health observed), stamp. */
export async function route(request: Request, url: URL, env: Env, ctx: ExecutionContext, config: EdgeConfig): Promise<Response> {
  const rules = activeRules(env, (p) => ctx.waitUntil(p), () => coloOf(request));
  const active = rules instanceof Promise ? await rules : rules; // most requests: from isolate memory, no await
  const read = readVisitor(request, url, active.compiled, config.secret, active.source === "kv");
  const visitor = read instanceof Promise ? await read : read; // a returning visitor: signatures known, no await
  const decision = decide(active.compiled, visitor.traits, visitor.bucket, visitor.forced);
  const started = performance.now();
  const forwarded = await forward(request, url, active.compiled.origins[decision.colour], decision, env, visitor.traits.headers);
  const latencyMs = performance.now() - started;
  const skew = forwarded.response.status === 404 && active.compiled.skew; // an asset's 404 may be the other colour's (skew.ts)
  if (skew) return skewFallback({ request, url, env, ctx, config, compiled: active.compiled, skew, decision, visitor, forwarded, latencyMs });
  observe(env, ctx, config, active.compiled.rules.rollout, decision, forwarded, latencyMs);
  return stamp(forwarded.response, decision, visitor.setCookies, active.compiled.varyText);
}

/** The colo serving this request, for the release authority's propagation report; never throws (routing must not fail on it). */
export function coloOf(request: Request): string | null {
  try {
    return (request.cf as { colo?: string } | undefined)?.colo ?? null;
  } catch {
    return null;
  }
}

/** When routing itself fails, the visitor still gets the stable site (no cookies touched): a router bug must not take it down. */
export async function routeToStable(request: Request, url: URL, env: Env, error: unknown): Promise<Response> {
  logProblem("route_failed", { error: String(error) });
  if (request.bodyUsed) return new Response("edge-canary: the request could not be routed\n", { status: 502 });
  const compiled = lastResortRules(env);
  const stable = compiled.rules.stable;
  const decision: Decision = { colour: stable, role: "stable", reason: "fallback", bucket: 0 };
  const forwarded = await forward(request, url, compiled.origins[stable], decision, env);
  return stamp(forwarded.response, decision, [], "Cookie");
}
