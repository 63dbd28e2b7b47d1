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
 * API) and the analysis Durable Object. Visitors reach it only through the edge Worker's service
 * binding, which hands it every request under CANARY_PATH unchanged.
 */
const own = new Hono<{ Bindings: ControlEnv }>()
  .use(secureHeaders(), async (c, next) => {
    await next();
    c.res.headers.set("cache-control", "no-store"); // per-operator, per-tester answers: never cached anywhere
  })
  .route("/api", admin)
  .route("/intents", intentRoutes)
  .route("/admin", dashboard)
  .route("/", testerPage)
  .notFound((c) => c.json({ error: "not_found", message: `no router endpoint at ${c.req.path}` }, 404))
  .onError((error, c) => (error instanceof HTTPException ? error.getResponse() : c.json({ error: "internal", message: String(error) }, 500)));

export default {
  /** Strips CANARY_PATH so the sub-apps see their own paths; anything outside it is not the control Worker's. */
  fetch(request, env, ctx) {
    const prefix = controlConfig(env).canaryPath;
    const url = new URL(request.url);
    if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
      return Response.json({ error: "not_found", message: `the control Worker only answers under ${prefix}` }, { status: 404 });
    }
    url.pathname = url.pathname.slice(prefix.length) || "/";
    return own.fetch(new Request(url, request), env, ctx);
  },
} satisfies ExportedHandler<ControlEnv>;

export { CanaryAnalysis } from "./rollout/analysis-object.ts";
export { ReleaseAuthority } from "./authority/release-authority.ts";
