import { Hono } from "hono";
import { admin } from "./admin/routes.ts";
import { dashboard } from "./pages/dashboard.tsx";
import { testerPage } from "./pages/tester.tsx";

/** The router's own endpoints, relative to CANARY_PATH: the tester page, the dashboard and the admin API. */
export const own = new Hono<{ Bindings: Env }>()
  .route("/api", admin)
  .route("/admin", dashboard)
  .route("/", testerPage)
  .notFound((c) => c.json({ error: "not_found", message: `no router endpoint at ${c.req.path}` }, 404));
