import type { Context, Next } from "hono";
import { controlConfig } from "../config.ts";
import { DashboardOff } from "./dashboard-view.tsx";

/**
 * The dashboard lives on a host of its own (DASHBOARD_HOST), never on the site's: a script on the
 * site (an XSS, a third-party tag, the canary build under judgement) is then another origin, which
 * can neither read the dashboard, frame it, nor post to it with the operator's session.
 */

/** Lets the request through on DASHBOARD_HOST only; anywhere else it is sent there before any session is read or set. */
export async function onDashboardHost<E extends { Bindings: ControlEnv }>(c: Context<E>, next: Next) {
  const { dashboardHost, canaryPath } = controlConfig(c.env);
  if (!dashboardHost) return dashboardOff(c);
  const url = new URL(c.req.url);
  if (url.host === dashboardHost) return next();
  // A 303 makes any method a GET there: a page keeps its path and query, a form post lands on the dashboard itself (an action has no page).
  const path = c.req.method === "GET" || c.req.method === "HEAD" ? `${canaryPath}${url.pathname}${url.search}` : `${canaryPath}/admin`;
  return c.redirect(`${dashboardScheme(dashboardHost, url)}//${dashboardHost}${path}`, 303);
}

/** https, except on a loopback host (npm start's own port), where the request's scheme (plain http) is kept. */
function dashboardScheme(host: string, request: URL): string {
  const name = new URL(`http://${host}`).hostname;
  const loopback = name === "localhost" || name.endsWith(".localhost") || name === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(name);
  return loopback ? request.protocol : "https:";
}

/** Without DASHBOARD_HOST there is no safe place to show the dashboard: it is off, and says how to turn it on. */
function dashboardOff<E extends { Bindings: ControlEnv }>(c: Context<E>) {
  if (c.req.header("accept")?.includes("text/html")) return c.html(DashboardOff(), 404);
  const message = "the release dashboard is off: set DASHBOARD_HOST (worker/control/wrangler.toml) to a host of its own, such as canary.example.com, routed to the control Worker as a custom domain (npm run setup -- --dashboard-host canary.example.com does both)";
  return c.json({ error: "dashboard_off", message }, 404);
}
