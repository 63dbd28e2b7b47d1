import { type Context, Hono, type Next } from "hono";
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
import { onDashboardHost } from "./dashboard-host.ts";
import { FORM_TOKEN_FIELD, formToken, formTokenMatches } from "./form-token.ts";
import { dashboardEnabled, dashboardSession, type DashboardSession, formKey, signIn, signOut } from "./session.ts";

type DashboardEnv = { Bindings: ControlEnv; Variables: { session: DashboardSession } };
type PageContext = Context<DashboardEnv>;

/** How many history entries the page shows. */
const PAGE_HISTORY = 20;

/**
 * The release dashboard: the split, what this colo serves, health, history, and ramp / promote /
 * revert forms. Every change runs the admin API's own actions, so it is validated and recorded alike.
 * It answers on its own host only (dashboard-host.ts); every post but the sign-in must carry the
 * session's form token (form-token.ts), and hono/csrf refuses posts from other origins.
 */
export const dashboard = new Hono<DashboardEnv>();

dashboard.use("*", onDashboardHost, csrf());
dashboard.post("/:action{ramp|promote|revert|logout}", requireFormToken);

dashboard.get("/", async (c) => {
  if (!dashboardEnabled(c.env)) return c.html(<Disabled />, 403);
  const session = await dashboardSession(c);
  if (!session) return c.html(<SignIn home={home(c)} failed={c.req.query("failed") !== undefined} />, 401);
  const authority = releaseAuthority(c.env);
  const since = revisionOf(c.req.query("conflict"));
  const [view, history, health, propagation] = await Promise.all([
    authority.read(),
    // After a conflict, every change since the operator's page is listed (no limit: all kept), not only the page's last few.
    authority.history(since === undefined ? { limit: PAGE_HISTORY } : {}),
    rolloutStatus(c.env),
    authority.propagation().catch(() => undefined),
  ]);
  const entries = history.ok ? history.body.entries : [];
  const conflict = since === undefined ? undefined : { since, changes: entries.filter((entry) => entry.revision > since && !entry.event) };
  const message = { text: c.req.query("msg"), ok: c.req.query("ok") === "1" };
  const token = await formToken(formKey(c.env) ?? "", session.credential);
  return c.html(<Dashboard home={home(c)} actor={session.actor} formToken={token} view={view} history={entries.slice(0, PAGE_HISTORY)} health={health} propagation={propagation} message={message} conflict={conflict} serving={readHandoff(c.req.raw.headers)?.serving} />);
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
  const { actor } = c.get("session");
  const form = await c.req.parseBody();
  const action = c.req.param("action") as Action;
  if (action !== "ramp" && form.confirm !== "yes") return done(c, { ok: false, text: `${action}: tick the box to confirm` });
  const shown = revisionOf(form.revision);
  // A ramp or promote from a page that does not say what it showed could undo a change its operator never saw.
  if (shown === undefined && action !== "revert") return done(c, { ok: false, text: `${action} refused: the form did not say which revision of the rules it showed; reload the page` });
  const outcome = await send(releaseAuthority(c.env), action, { actor, ifMatch: shown }, form);
  if (outcome.ok) c.header(REVISION_HEADER, String(outcome.body.revision));
  if (!outcome.ok && outcome.status === 412 && shown !== undefined) return done(c, { ok: false, text: notApplied(action, form, shown) }, shown);
  return done(c, describe(action, outcome, shown));
});

type Action = "ramp" | "promote" | "revert";

/** First for every post but the sign-in: a session, and the form token of that session; without either nothing else runs. */
async function requireFormToken(c: PageContext, next: Next) {
  const session = await dashboardSession(c);
  if (!session) return c.redirect(home(c), 303);
  const key = formKey(c.env);
  const form = await c.req.parseBody();
  if (!key || !(await formTokenMatches(key, session.credential, form[FORM_TOKEN_FIELD]))) {
    const what = c.req.param("action") === "logout" ? "sign out" : c.req.param("action");
    return done(c, { ok: false, text: `${what} refused: the form did not carry this session's token (a page from another session?); reload the page` });
  }
  c.set("session", session);
  await next();
}

/** Ramp and promote only if the rules are still at the revision the page showed; revert whatever they are (everyone to stable is always safe). */
function send(authority: ReturnType<typeof releaseAuthority>, action: Action, caller: actions.Caller, form: Record<string, unknown>) {
  const reason = String(form.reason ?? "").trim() || undefined;
  if (action === "ramp") return authority.ramp(caller, { percent: Number(form.percent), reason });
  if (action === "promote") return authority.promote(caller, { reason });
  return authority.revert({ actor: caller.actor }, { reason });
}

/** The revision a form (or the query) names: a whole number, or undefined when it names none. */
function revisionOf(value: unknown): number | undefined {
  return typeof value === "string" && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** Post/redirect/get: the result travels in the query so a reload never repeats a change; after a conflict, the revision the page showed too. */
function done(c: PageContext, message: { ok: boolean; text: string }, conflict?: number) {
  const since = conflict === undefined ? "" : `&conflict=${conflict}`;
  return c.redirect(`${home(c)}?ok=${message.ok ? 1 : 0}&msg=${encodeURIComponent(message.text)}${since}`, 303);
}

function notApplied(action: Action, form: Record<string, unknown>, shown: number): string {
  const what = action === "ramp" ? `ramp to ${Number(form.percent)}%` : action;
  return `your ${what} was not applied: the rules changed since your page showed revision ${shown}`;
}

/** The dashboard's own URL path; forms post to paths below it. */
function home(c: PageContext): string {
  return `${controlConfig(c.env).canaryPath}/admin`;
}

function describe(action: Action, outcome: Outcome<actions.Written>, shown: number | undefined): { ok: boolean; text: string } {
  if (!outcome.ok) {
    const where = outcome.body.issues?.map((i) => `${i.path}: ${i.message}`).join("; ");
    return { ok: false, text: `${action} refused: ${outcome.body.message}${where ? ` (${where})` : ""}` };
  }
  const { revision, unchanged, changes } = outcome.body;
  // Revisions are consecutive: a written change was applied to the one before it. Only a revert can land on another than the page showed.
  const appliedTo = unchanged ? revision : revision - 1;
  const lead = shown === undefined || shown === appliedTo ? `${action}:` : `${action} applied to revision ${appliedTo} (the page showed ${shown}):`;
  if (unchanged) return { ok: true, text: `${lead} nothing to change (revision ${revision})` };
  return { ok: true, text: `${lead} now revision ${revision} (${changes.join("; ")})` };
}

/** Health from the analysis object; the dashboard still works when it cannot answer. */
async function rolloutStatus(env: ControlEnv): Promise<RolloutStatus | undefined> {
  try {
    return await analysisObject(env).status();
  } catch {
    return undefined;
  }
}
