import type { Context } from "hono";
import { observe } from "./analysis/observe.ts";
import { decide } from "./decide.ts";
import { forward } from "./proxy.ts";
import { activeRules } from "./rules-cache.ts";
import { stamp } from "./stamp.ts";
import { readVisitor } from "./visitor.ts";

/** A visitor's request: load rules, decide blue or green, forward to that origin (its health observed), stamp the response. */
export async function route(c: Context<{ Bindings: Env }>): Promise<Response> {
  const active = await activeRules(c.env, (p) => c.executionCtx.waitUntil(p));
  const { rules } = active.compiled;
  const visitor = await readVisitor(c.req.raw, rules, c.env.CANARY_SECRET, active.source === "kv");
  const decision = decide(active.compiled, visitor.traits, visitor.bucket, visitor.forced);
  const response = await observe(c, rules, decision, () => forward(c.req.raw, rules.origins[decision.colour], decision, c.env));
  return stamp(response, decision, visitor.setCookies);
}
