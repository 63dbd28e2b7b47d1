import { Hono } from "hono";
import { canaryPath } from "../core/canary-path.ts";
import { encodeHandoff, HANDOFF_HEADER, type Handoff } from "../core/handoff.ts";
import { decideFor, route, routeToStable } from "./router.ts";
import { heardRevision } from "./rules-cache.ts";

/** Requests under CANARY_PATH go to the control Worker (never proxied); every other request is a visitor's. */
const app = new Hono<{ Bindings: Env }>();

app.all("*", async (c, next) => {
  const prefix = canaryPath(c.env);
  const path = c.req.path;
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return next();
  const tester = path === prefix || path === `${prefix}/`;
  const { active, visitor, decision } = await decideFor(c);
  const rules = active.compiled.rules;
  const handoff: Handoff = {
    serving: {
      colo: (c.req.raw.cf as { colo?: string } | undefined)?.colo ?? null,
      revision: active.revision,
      source: active.source,
      via: active.via,
      loadedAt: new Date(active.loadedAt).toISOString(),
      cacheTtlMs: Number(c.env.RULES_TTL_MS ?? 5000),
    },
    visitor: tester
      ? { decision, bucketSource: visitor.bucketSource, rollout: rules.rollout, stable: rules.stable, overrides: rules.overrides }
      : undefined,
  };
  const headers = new Headers(c.req.raw.headers);
  headers.set(HANDOFF_HEADER, encodeHandoff(handoff)); // replaces any copy the client sent
  const response = await c.env.CONTROL.fetch(new Request(c.req.raw, { headers }));
  heardRevision(response.headers, (p) => c.executionCtx.waitUntil(p)); // a write handed over here is routed on from the next request
  if (!tester || visitor.setCookies.length === 0) return response;
  const stamped = new Response(response.body, response);
  for (const cookie of visitor.setCookies) stamped.headers.append("set-cookie", cookie);
  return stamped;
});

app.all("*", route);

app.onError((error, c) => {
  const path = c.req.path;
  const prefix = canaryPath(c.env);
  if (path === prefix || path.startsWith(`${prefix}/`)) return c.json({ error: "internal", message: String(error) }, 500);
  return routeToStable(c, error);
});

export default app;
