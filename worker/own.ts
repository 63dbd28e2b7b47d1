import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { admin } from "./admin/routes.ts";
import { dashboard } from "./pages/dashboard.tsx";
import { testerPage } from "./pages/tester.tsx";

/** The router's own endpoints, relative to CANARY_PATH: the tester page, the dashboard and the admin API. */
export const own = new Hono<{ Bindings: Env }>()
  .use(secureHeaders(), async (c, next) => {
    await next();
    c.res.headers.set("cache-control", "no-store"); // per-operator, per-tester answers: never cached anywhere
  })
  .route("/api", admin)
  .route("/admin", dashboard)
  .route("/", testerPage)
  .notFound((c) => c.json({ error: "not_found", message: `no router endpoint at ${c.req.path}` }, 404));
