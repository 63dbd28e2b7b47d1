import { Hono } from "hono";
import { canaryPath } from "./canary-path.ts";
import { own } from "./own.ts";
import { route } from "./router.ts";

/** Requests under CANARY_PATH are the router's own (never proxied); every other request is a visitor's. */
const app = new Hono<{ Bindings: Env }>();

app.all("*", async (c, next) => {
  const prefix = canaryPath(c.env);
  const path = c.req.path;
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return next();
  const url = new URL(c.req.url);
  url.pathname = path.slice(prefix.length) || "/";
  return own.fetch(new Request(url, c.req.raw), c.env, c.executionCtx);
});

app.all("*", route);

export default app;
export { CanaryAnalysis } from "./rollout/analysis-object.ts";
