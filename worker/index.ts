import { Hono } from "hono";
import { admin } from "./admin/routes.ts";
import { route } from "./router.ts";

/** The router's own endpoints live under CANARY_PATH (the admin API at `${CANARY_PATH}/api`); every other request is a visitor's. */
const app = new Hono<{ Bindings: Env }>();

app.all("*", async (c, next) => {
  const prefix = c.env.CANARY_PATH || "/__canary";
  const path = c.req.path;
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return next();
  const api = `${prefix}/api`;
  if (path === api || path.startsWith(`${api}/`)) {
    const url = new URL(c.req.url);
    url.pathname = path.slice(api.length) || "/";
    return admin.fetch(new Request(url, c.req.raw), c.env);
  }
  return c.json({ error: "not_found", message: `no router endpoint at ${path}` }, 404);
});

app.all("*", route);

export default app;
