import { Hono } from "hono";
import { route } from "./router.ts";

/** The router's own endpoints live under CANARY_PATH; every other request is a visitor's. */
const app = new Hono<{ Bindings: Env }>();

app.all("*", async (c, next) => {
  const prefix = c.env.CANARY_PATH;
  if (c.req.path === prefix || c.req.path.startsWith(`${prefix}/`)) {
    return c.json({ error: "not_found", message: `no router endpoint at ${c.req.path}` }, 404);
  }
  return next();
});

app.all("*", route);

export default app;
export { CanaryAnalysis } from "./rollout/analysis-object.ts";
