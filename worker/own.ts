import { Hono } from "hono";
import { admin } from "./admin/routes.ts";
import { testerPage } from "./pages/tester.tsx";

/** The router's own endpoints, relative to CANARY_PATH: the tester page and the admin API. */
export const own = new Hono<{ Bindings: Env }>()
  .route("/api", admin)
  .route("/", testerPage)
  .notFound((c) => c.json({ error: "not_found", message: `no router endpoint at ${c.req.path}` }, 404));
