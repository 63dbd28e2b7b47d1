import type { Context } from "hono";
import { observe } from "./observe.ts";
import { type Decision, decide } from "../core/decide.ts";
import { logProblem } from "../core/log.ts";
import { forward } from "./forward.ts";
import { activeRules, lastResortRules } from "./rules-cache.ts";
import { stamp } from "./stamp.ts";
import { readVisitor } from "./visitor.ts";

type RouterContext = Context<{ Bindings: Env }>;

/** Rules, visitor and verdict for this request: the router acts on them, the tester page shows them. */
export async function decideFor(c: RouterContext) {
  const active = await activeRules(c.env, (p) => c.executionCtx.waitUntil(p), coloOf(c.req.raw));
  const visitor = await readVisitor(c.req.raw, active.compiled.rules, c.env.CANARY_SECRET, active.source === "kv");
  const decision = decide(active.compiled, visitor.traits, visitor.bucket, visitor.forced);
  return { active, visitor, decision };
}

/** The colo serving this request, for the release authority's propagation report; never throws (routing must not fail on it). */
function coloOf(request: Request): string | null {
  try {
    return (request.cf as { colo?: string } | undefined)?.colo ?? null;
  } catch {
    return null;
  }
}

/** A visitor's request: decide blue or green, forward to that origin (its health observed), stamp the response. */
export async function route(c: RouterContext): Promise<Response> {
  const { active, visitor, decision } = await decideFor(c);
  const { rules, vary } = active.compiled;
  const response = await observe(c, rules, decision, () => forward(c.req.raw, rules.origins[decision.colour], decision, c.env));
  return stamp(response, decision, visitor.setCookies, vary);
}

/** When routing itself fails, the visitor still gets the stable site (no cookies touched): a router bug must not take it down. */
export async function routeToStable(c: RouterContext, error: unknown): Promise<Response> {
  logProblem("route_failed", { error: String(error) });
  if (c.req.raw.bodyUsed) return new Response("edge-canary: the request could not be routed\n", { status: 502 });
  const rules = lastResortRules(c.env);
  const decision: Decision = { colour: rules.stable, role: "stable", reason: "fallback", bucket: 0 };
  return stamp(await forward(c.req.raw, rules.origins[rules.stable], decision, c.env), decision, [], ["Cookie"]);
}
