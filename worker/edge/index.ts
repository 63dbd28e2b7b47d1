import { atMost, realClock } from "../core/clock.ts";
import { decide } from "../core/decide.ts";
import { encodeHandoff, HANDOFF_HEADER, type Handoff } from "../core/handoff.ts";
import { REVISION_HEADER } from "../core/release.ts";
import { type EdgeConfig, edgeConfig } from "./config.ts";
import { activeRules, learnRevision } from "./rules.ts";
import { coloOf, route, routeToStable } from "./router.ts";
import { readVisitor } from "./visitor.ts";

/**
 * The edge Worker: every request to the site comes here. Requests under CANARY_PATH belong to the
 * control Worker (admin API, tester page, dashboard) and are handed to it; every other request is a
 * visitor's and is routed to blue or green. Any failure in routing still sends the visitor to stable.
 */
export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const config = edgeConfig(env);
    const url = new URL(request.url);
    const prefix = config.canaryPath;
    if (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`)) return handOver(request, url, env, ctx, config);
    try {
      return await route(request, url, env, ctx, config);
    } catch (error) {
      return routeToStable(request, url, env, error);
    }
  },
} satisfies ExportedHandler<Env>;

/**
 * Passes a request under CANARY_PATH to the control Worker with what this isolate routes with and,
 * for the tester page, this visitor's decision and cookies: the page shows exactly what the router does.
 */
async function handOver(request: Request, url: URL, env: Env, ctx: ExecutionContext, config: EdgeConfig): Promise<Response> {
  try {
    const active = await activeRules(env, (p) => ctx.waitUntil(p), () => coloOf(request));
    const tester = url.pathname === config.canaryPath || url.pathname === `${config.canaryPath}/`;
    const visitor = tester ? await readVisitor(request, url, active.compiled, config.secret, active.source === "kv") : undefined;
    const rules = active.compiled.rules;
    const handoff: Handoff = {
      serving: {
        colo: coloOf(request),
        revision: active.revision,
        source: active.source,
        via: active.via,
        loadedAt: new Date(active.loadedAt).toISOString(),
        cacheTtlMs: config.rulesTtlMs,
      },
    };
    if (visitor) {
      const decision = decide(active.compiled, visitor.traits, visitor.bucket, visitor.forced);
      handoff.visitor = { decision, bucketSource: visitor.bucketSource, rollout: rules.rollout, stable: rules.stable, overrides: rules.overrides };
    }
    const headers = new Headers(request.headers);
    headers.set(HANDOFF_HEADER, encodeHandoff(handoff)); // replaces any copy the client sent
    const response = await atMost(env.CONTROL.fetch(new Request(request, { headers })), config.controlTimeoutMs, realClock, () => null);
    if (!response) {
      const message = `the control Worker did not answer within ${config.controlTimeoutMs} ms (CONTROL_TIMEOUT_MS)`;
      return Response.json({ error: "control_timeout", message }, { status: 504, headers: { "cache-control": "no-store" } });
    }
    const revision = Number(response.headers.get(REVISION_HEADER));
    if (revision > 0) await learnRevision(revision, env, () => coloOf(request)); // a write handed over here is routed on from the next request
    if (!visitor?.setCookies.length) return response;
    const stamped = new Response(response.body, response);
    for (const cookie of visitor.setCookies) stamped.headers.append("set-cookie", cookie);
    return stamped;
  } catch (error) {
    return Response.json({ error: "unavailable", message: `the control Worker could not be reached: ${String(error)}` }, { status: 503, headers: { "cache-control": "no-store" } });
  }
}
