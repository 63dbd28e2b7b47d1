import { otherColour } from "../core/colours.ts";
import type { Decision } from "../core/decide.ts";
import type { CompiledRules } from "../core/matching.ts";
import { mayFallBack, servesFallback, SKEW_HEADER, type SkewPaths } from "../core/skew.ts";
import type { EdgeConfig } from "./config.ts";
import { type Forwarded, forward } from "./forward.ts";
import { observe } from "./observe.ts";
import { stamp } from "./stamp.ts";
import type { Visitor } from "./visitor.ts";

/** Skew protection on the visitor path: what route does when the visitor's colour answered 404 (and only then). */

/** What route knew when the 404 came: built only for a 404. */
export interface NotFound {
  request: Request;
  url: URL;
  env: Env;
  ctx: ExecutionContext;
  config: EdgeConfig;
  compiled: CompiledRules;
  skew: SkewPaths;
  decision: Decision;
  visitor: Visitor;
  forwarded: Forwarded;
  latencyMs: number;
}

/**
 * An open page's build asset that the visitor's colour does not have (its visitor was moved to the
 * other colour after the page loaded) is asked once of the other colour, as the current rules name
 * it (the canary only under a hashed name: core/skew.ts mayFallBack), within that origin's deadline.
 * A success (2xx, 304) is served, stamped with the colour that really served it and
 * `x-canary-skew: fallback`. Anything else (a page, an API call, a POST, a second 404, a failure)
 * gets the visitor's own colour's 404, as without skew protection. The attempt is counted apart
 * from both colours' health, for the colour asked, whatever it answered.
 */
export async function skewFallback(at: NotFound): Promise<Response> {
  const { request, url, env, ctx, config, compiled, decision, visitor, forwarded } = at;
  const rolloutId = compiled.rules.rollout.id;
  const toCanary = decision.role === "stable";
  if (!mayFallBack(at.skew, request.method, url.pathname, visitor.traits.headers, toCanary)) return asRouteDoes(at);
  const asked: Decision = { ...decision, colour: otherColour(decision.colour), role: toCanary ? "canary" : "stable" };
  const started = performance.now();
  const other = await forward(request, url, compiled.origins[asked.colour], asked, env, visitor.traits.headers);
  const latencyMs = at.latencyMs + performance.now() - started;
  observe(env, ctx, config, rolloutId, asked, other, latencyMs, true);
  if (!servesFallback(other.response.status)) {
    discard(other.response);
    return asRouteDoes(at);
  }
  discard(forwarded.response);
  const response = stamp(other.response, asked, visitor.setCookies, compiled.varyText);
  response.headers.set(SKEW_HEADER, "fallback");
  return response;
}

/** The visitor's own colour's answer, counted and stamped as route does every other response. */
function asRouteDoes(at: NotFound): Response {
  observe(at.env, at.ctx, at.config, at.compiled.rules.rollout.id, at.decision, at.forwarded, at.latencyMs);
  return stamp(at.forwarded.response, at.decision, at.visitor.setCookies, at.compiled.varyText);
}

/** The answer not served: its body is cancelled, so the origin's connection is let go at once. */
function discard(response: Response): void {
  response.body?.cancel().catch(() => {});
}
