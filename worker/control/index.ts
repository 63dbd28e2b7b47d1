import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { intentRoutes } from "./admin/intents.ts";
import { admin } from "./admin/routes.ts";
import { controlConfig } from "./config.ts";
import { dashboard } from "./pages/dashboard.tsx";
import { testerPage } from "./pages/tester.tsx";

/**
 * The control Worker: the router's own endpoints under CANARY_PATH (tester page, dashboard, admin
 * API) and the analysis Durable Object. The edge Worker hands it every request under CANARY_PATH
 * on the site through its service binding; the dashboard's own host (DASHBOARD_HOST) reaches it
 * directly, through a route of its own.
 */
const own = new Hono<{ Bindings: ControlEnv }>()
  .route("/api", admin)
  .route("/intents", intentRoutes)
  .route("/admin", dashboard)
  .route("/", testerPage)
  .notFound((c) => c.json({ error: "not_found", message: `no router endpoint at ${c.req.path}` }, 404))
  .onError((error, c) => (error instanceof HTTPException ? error.getResponse() : c.json({ error: "internal", message: String(error) }, 500)));

/** Every answer, whichever host and path: never framed (a page that cannot be framed cannot be clicked or read through a frame), never cached. */
const control = new Hono<{ Bindings: ControlEnv }>()
  .use(secureHeaders({ xFrameOptions: "DENY", contentSecurityPolicy: { frameAncestors: ["'none'"] } }), async (c, next) => {
    await next();
    c.res.headers.set("cache-control", "no-store"); // per-operator, per-tester answers: never cached anywhere
  })
  .all("*", (c) => {
    // Strips CANARY_PATH so the sub-apps see their own paths; anything outside it is not the control Worker's.
    const { canaryPath: prefix, dashboardHost } = controlConfig(c.env);
    const url = new URL(c.req.url);
    if (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`)) {
      url.pathname = url.pathname.slice(prefix.length) || "/";
      return own.fetch(new Request(url, c.req.raw), c.env, c.executionCtx);
    }
    if (url.pathname === "/" && url.host === dashboardHost) return c.redirect(`${prefix}/admin`, 303); // the dashboard's host has nothing else to show
    return c.json({ error: "not_found", message: `the control Worker only answers under ${prefix}` }, 404);
  });

export default {
  fetch: (request, env, ctx) => control.fetch(request, env, ctx),
} satisfies ExportedHandler<ControlEnv>;

export { CanaryAnalysis } from "./rollout/analysis-object.ts";
export { ReleaseAuthority } from "./authority/release-authority.ts";
