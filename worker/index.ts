import { Hono } from "hono";
import { testerPage } from "./pages/tester.tsx";
import { route } from "./router.ts";

/** The router's own endpoints live under CANARY_PATH; every other request is a visitor's. */
const app = new Hono<{ Bindings: Env }>();

app.all("*", async (c, next) => {
  const prefix = c.env.CANARY_PATH;
  const path = c.req.path;
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return next();
  if (path === prefix || path === `${prefix}/`) {
    const url = new URL(c.req.url);
    url.pathname = "/";
    return testerPage.fetch(new Request(url, c.req.raw), c.env, c.executionCtx);
  }
  return c.json({ error: "not_found", message: `no router endpoint at ${path}` }, 404);
});

app.all("*", route);

export default app;
export { CanaryAnalysis } from "./rollout/analysis-object.ts";
