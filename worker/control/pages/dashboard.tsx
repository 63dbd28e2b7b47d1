import { type Context, Hono } from "hono";
import { csrf } from "hono/csrf";
import * as actions from "../release/actions.ts";
import type { Outcome } from "../release/outcome.ts";
import { readHandoff } from "../../core/handoff.ts";
import { controlConfig } from "../config.ts";
import { analysisObject } from "../rollout/analysis-object.ts";
import type { RolloutStatus } from "../rollout/status.ts";
import { REVISION_HEADER } from "../../core/release.ts";
import { releaseAuthority } from "../authority/release-authority.ts";
import { Dashboard, Disabled, SignIn } from "./dashboard-view.tsx";
import { dashboardActor, dashboardEnabled, signIn, signOut } from "./session.ts";

type PageContext = Context<{ Bindings: ControlEnv }>;

/**
 * The release dashboard: the split, what this colo serves, health, history, and ramp / promote /
 * revert forms. Every change runs the admin API's own actions, so it is validated and recorded alike.
 */
export const dashboard = new Hono<{ Bindings: ControlEnv }>();

dashboard.use("*", csrf());

dashboard.get("/", async (c) => {
  if (!dashboardEnabled(c.env)) return c.html(<Disabled />, 403);
  const actor = await dashboardActor(c);
  if (!actor) return c.html(<SignIn home={home(c)} failed={c.req.query("failed") !== undefined} />, 401);
  const authority = releaseAuthority(c.env);
  const [view, history, health, propagation] = await Promise.all([
    authority.read(),
    authority.history({ limit: "20" }),
    rolloutStatus(c.env),
    authority.propagation().catch(() => undefined),
  ]);
  const message = { text: c.req.query("msg"), ok: c.req.query("ok") === "1" };
  return c.html(<Dashboard home={home(c)} actor={actor} view={view} history={history.ok ? history.body.entries : []} health={health} propagation={propagation} message={message} serving={readHandoff(c.req.raw.headers)?.serving} />);
});

dashboard.post("/login", async (c) => {
  const form = await c.req.parseBody();
  const ok = await signIn(c, String(form.token ?? ""));
  return c.redirect(ok ? home(c) : `${home(c)}?failed`, 303);
});

dashboard.post("/logout", (c) => {
  signOut(c);
  return c.redirect(home(c), 303);
});

dashboard.post("/:action{ramp|promote|revert}", async (c) => {
  const actor = await dashboardActor(c);
  if (!actor) return c.redirect(home(c), 303);
  const form = await c.req.parseBody();
  const action = c.req.param("action") as "ramp" | "promote" | "revert";
  const reason = String(form.reason ?? "").trim() || undefined;
  if (action !== "ramp" && form.confirm !== "yes") return done(c, { ok: false, text: `${action}: tick the box to confirm` });
  const caller = { actor };
  const authority = releaseAuthority(c.env);
  const outcome =
    action === "ramp" ? await authority.ramp(caller, { percent: Number(form.percent), reason }) : await authority[action](caller, { reason });
  if (outcome.ok) c.header(REVISION_HEADER, String(outcome.body.revision));
  return done(c, describe(action, outcome));
});

/** Post/redirect/get: the result travels in the query so a reload never repeats a change. */
function done(c: PageContext, message: { ok: boolean; text: string }) {
  return c.redirect(`${home(c)}?ok=${message.ok ? 1 : 0}&msg=${encodeURIComponent(message.text)}`, 303);
}

/** The dashboard's own URL path; forms post to paths below it. */
function home(c: PageContext): string {
  return `${controlConfig(c.env).canaryPath}/admin`;
}

function describe(action: string, outcome: Outcome<actions.Written>): { ok: boolean; text: string } {
  if (!outcome.ok) {
    const where = outcome.body.issues?.map((i) => `${i.path}: ${i.message}`).join("; ");
    return { ok: false, text: `${action} refused: ${outcome.body.message}${where ? ` (${where})` : ""}` };
  }
  if (outcome.body.unchanged) return { ok: true, text: `${action}: nothing to change (revision ${outcome.body.revision})` };
  return { ok: true, text: `${action}: now revision ${outcome.body.revision} (${outcome.body.changes.join("; ")})` };
}

/** Health from the analysis object; the dashboard still works when it cannot answer. */
async function rolloutStatus(env: ControlEnv): Promise<RolloutStatus | undefined> {
  try {
    return await analysisObject(env).status();
  } catch {
    return undefined;
  }
}
