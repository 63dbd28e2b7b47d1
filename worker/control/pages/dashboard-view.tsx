import { describeCall } from "../rollout/gate.ts";
import { otherColour } from "../../core/rules.ts";
import type { Serving } from "../../core/handoff.ts";
import { describePropagation, type Propagation } from "../release/propagation.ts";
import type { HealthSummary } from "../../core/analysis/health.ts";
import type { RolloutStatus } from "../rollout/status.ts";
import type { HistoryEntry, RulesView } from "../release/store.ts";
import { EvidenceChart } from "./evidence-chart.tsx";
import { FORM_TOKEN_FIELD } from "./form-token.ts";
import { Layout } from "./layout.tsx";

/** The dashboard's views: pure functions of what the routes read, so the routes stay a short story. */

export function Disabled() {
  return (
    <Layout title="edge-canary dashboard">
      <h1>Release dashboard</h1>
      <p class="card">The dashboard is off: set the ADMIN_TOKEN secret (or Cloudflare Access) to use it.</p>
    </Layout>
  );
}

/** Without DASHBOARD_HOST: no host of its own to show the dashboard on, so it is off. */
export function DashboardOff() {
  return (
    <Layout title="edge-canary dashboard">
      <h1>Release dashboard</h1>
      <p class="card">
        The dashboard is off: set <code>DASHBOARD_HOST</code> (worker/control/wrangler.toml) to a host of its own, such as canary.example.com, routed to the
        control Worker as a custom domain (<code>npm run setup -- --dashboard-host canary.example.com</code> does both). It never answers on the
        site's host.
      </p>
    </Layout>
  );
}

export function SignIn(props: { home: string; failed: boolean }) {
  return (
    <Layout title="Sign in: edge-canary dashboard">
      <h1>Release dashboard</h1>
      <form method="post" action={`${props.home}/login`} class="card">
        {props.failed && (
          <p class="error" role="alert">
            That token is not right.
          </p>
        )}
        <label for="token">Admin token</label>{" "}
        <input id="token" name="token" type="password" autocomplete="current-password" required />{" "}
        <button type="submit">Sign in</button>
      </form>
    </Layout>
  );
}

export function Dashboard(props: {
  home: string;
  actor: string;
  /** This session's form token: every form carries it (form-token.ts). */
  formToken: string;
  view: RulesView;
  history: HistoryEntry[];
  health: RolloutStatus | undefined;
  message: { text: string | undefined; ok: boolean };
  serving: Serving | undefined;
  propagation: Propagation | undefined;
  /** A ramp or promote refused because the rules changed after revision `since`, which the operator's page showed. */
  conflict?: { since: number; changes: HistoryEntry[] };
}) {
  const { view, message, serving } = props;
  const rules = view.rules;
  return (
    <Layout title="edge-canary dashboard">
      <h1>Release dashboard</h1>
      <form method="post" action={`${props.home}/logout`} class="note">
        <FormToken value={props.formToken} />
        Signed in as {props.actor}. <button type="submit">Sign out</button>
      </form>
      {props.conflict ? (
        <Conflict text={message.text} {...props.conflict} view={view} />
      ) : (
        message.text && (
          <p class={message.ok ? "card" : "card error"} role="status" data-testid="message">
            {message.text}
          </p>
        )
      )}
      <section class="card" aria-labelledby="split">
        <h2 id="split">Split</h2>
        {rules ? (
          <dl>
            <dt>Stable</dt>
            <dd class={rules.stable}>{rules.stable}</dd>
            <dt>Canary</dt>
            <dd>
              <span class={otherColour(rules.stable)}>{otherColour(rules.stable)}</span> at{" "}
              <strong data-testid="percent">{rules.rollout.percent}%</strong> (rollout {rules.rollout.id})
            </dd>
            <dt>Revision</dt>
            <dd data-testid="revision">
              {view.revision}
              {view.meta?.updatedAt && ` · ${view.meta.action ?? "change"} by ${view.meta.updatedBy} at ${view.meta.updatedAt}`}
              {view.meta?.reason && ` · “${view.meta.reason}”`}
            </dd>
            <dt>This colo serves</dt>
            <dd>
              {serving
                ? `revision ${serving.revision ?? "unrecorded"} (${serving.source}, loaded ${serving.loadedAt})`
                : "not through the edge: the dashboard's host reaches the control Worker directly (GET /__canary/api/rules on the site says what an edge isolate serves)"}
            </dd>
            <dt>Propagation</dt>
            <dd data-testid="propagation">{props.propagation ? describePropagation(props.propagation) : "unknown (the release authority did not answer)"}</dd>
          </dl>
        ) : (
          <p class="error">The stored rules are not usable: {view.issues?.map((i) => `${i.path}: ${i.message}`).join("; ")}</p>
        )}
      </section>
      {rules && <Controls home={props.home} formToken={props.formToken} revision={view.revision} percent={rules.rollout.percent} canary={otherColour(rules.stable)} />}
      <Health status={props.health} history={props.history} />
      <History entries={props.history} />
    </Layout>
  );
}

/** What the operator's change ran into: where the rules are now, and every change since the page they submitted from. */
function Conflict(props: { text: string | undefined; since: number; changes: HistoryEntry[]; view: RulesView }) {
  const { view, since } = props;
  const rules = view.rules;
  return (
    <section class="card" role="alert" aria-labelledby="conflict" data-testid="conflict">
      <h2 id="conflict" class="error">Not applied: the rules changed</h2>
      <p class="error" data-testid="message">{props.text ?? `the rules changed since your page showed revision ${since}`}</p>
      <p>
        Now:{" "}
        <strong data-testid="conflict-split">
          revision {view.revision}: {rules ? `${otherColour(rules.stable)} at ${rules.rollout.percent}% (stable ${rules.stable})` : "the stored rules are not usable"}
        </strong>
        . The forms below start from this revision: submit again if you still mean it.
      </p>
      <h3>Changed since revision {since}</h3>
      {props.changes.length ? <HistoryTable entries={props.changes} /> : <p class="note">No change after revision {since} is kept in the history.</p>}
    </section>
  );
}

function Controls(props: { home: string; formToken: string; revision: number; percent: number; canary: string }) {
  // Each form says which revision it was rendered from, so a change made since is not silently undone, and carries the session's token.
  const shown = () => (
    <>
      <FormToken value={props.formToken} />
      <input type="hidden" name="revision" value={String(props.revision)} />
    </>
  );
  return (
    <section class="card" aria-labelledby="controls">
      <h2 id="controls">Change</h2>
      <form method="post" action={`${props.home}/ramp`}>
        {shown()}
        <label for="percent">Canary %</label>{" "}
        <input id="percent" name="percent" type="number" min="0" max="100" step="0.01" value={String(props.percent)} required />{" "}
        <label for="ramp-reason">Reason</label> <input id="ramp-reason" name="reason" />{" "}
        <button type="submit">Ramp</button>
      </form>
      <form method="post" action={`${props.home}/promote`}>
        {shown()}
        <input type="checkbox" id="promote-confirm" name="confirm" value="yes" required />{" "}
        <label for="promote-confirm">Yes, make {props.canary} stable for everyone</label>{" "}
        <button type="submit">Promote</button>
      </form>
      <form method="post" action={`${props.home}/revert`}>
        {shown()}
        <input type="checkbox" id="revert-confirm" name="confirm" value="yes" required />{" "}
        <label for="revert-confirm">Yes, send everyone back to stable now</label>{" "}
        <label for="revert-reason">Reason</label> <input id="revert-reason" name="reason" />{" "}
        <button type="submit" class="danger">
          Revert
        </button>
      </form>
    </section>
  );
}

function FormToken(props: { value: string }) {
  return <input type="hidden" name={FORM_TOKEN_FIELD} value={props.value} />;
}

function Health(props: { status: RolloutStatus | undefined; history: HistoryEntry[] }) {
  const status = props.status;
  const window = status?.lastWindow;
  const pct = (percent: number) => `${percent.toFixed(1)}%`;
  const ms = (value: number | null) => (value === null ? "–" : `${Math.round(value)} ms`);
  return (
    <section class="card" aria-labelledby="health">
      <h2 id="health">Health</h2>
      {!status && <p class="note">Health is unavailable right now (the analysis object did not answer).</p>}
      {status && (
        <>
          <p data-testid="rollout-run">
            Analysis {status.analysis.enabled ? "on" : "off"}
            {status.run &&
              (status.run.status === "running" || status.run.status === "paused"
                ? ` · plan step ${status.run.step} of ${status.run.steps} (${status.run.status})`
                : ` · last run (rollout ${status.run.rolloutId}) ${status.run.status} at step ${status.run.step}`)}
            {status.analysis.latch && ` · rolled back at ${status.analysis.latch.at}: ${status.analysis.latch.reason}`}
          </p>
          {skewNote(status) && <p data-testid="skew">{skewNote(status)}</p>}
          {window ? (
            <table>
              <caption class="note">
                Last window {window.start} – {window.end}: {window.verdict}
              </caption>
              <Head columns={["version", "requests", "errors", "p95", "p99"]} />
              <tbody>
                {rowsOf(window).map(([role, numbers]) => (
                  <tr>
                    <th scope="row">{role}</th>
                    <td>{numbers.requests}</td>
                    <td>{pct(numbers.errorRate)}</td>
                    <td>{ms(numbers.p95)}</td>
                    <td>{ms(numbers.p99)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="note">No window judged yet.</p>
          )}
          {status.gates?.length ? (
            <ul data-testid="gates">
              {status.gates.slice(-3).map((call) => (
                <li>
                  {call.at} {describeCall(call)}: {call.go ? "go" : "no-go"}
                </li>
              ))}
            </ul>
          ) : null}
          {window?.canary.otherBuilds ? (
            <p data-testid="other-build">
              {window.canary.otherBuilds} canary answers came from another build than the rollout's
              {window.canary.otherBuildSeen ? ` (they named "${window.canary.otherBuildSeen}")` : " (they named none)"}
            </p>
          ) : null}
          {window?.failures.length ? (
            <ul data-testid="failures">
              {window.failures.map((failure) => (
                <li>{failure}</li>
              ))}
            </ul>
          ) : null}
          <h3>Evidence</h3>
          <EvidenceChart windows={status.windows ?? []} history={props.history} latch={status.analysis.latch} />
        </>
      )}
    </section>
  );
}

/** The judged colours, then testers (override cookie) and skew fallbacks apart when there were any: shown, never judged. */
function rowsOf(window: NonNullable<RolloutStatus["lastWindow"]>): [string, HealthSummary][] {
  const rows: [string, HealthSummary][] = [
    ["canary", window.canary],
    ["stable", window.stable],
  ];
  for (const role of ["canary", "stable"] as const) {
    const testers = window.testers?.[role];
    if (testers && testers.requests > 0) rows.push([`testers on ${role} (not judged)`, testers]);
  }
  for (const role of ["canary", "stable"] as const) {
    const skew = window.skew?.[role];
    if (skew && skew.requests > 0) rows.push([`skew fallbacks to ${role} (not judged)`, skew]);
  }
  return rows;
}

/** How many open pages' assets came from the other colour (edge/skew.ts), this window and the last: what a revert touched. */
function skewNote(status: RolloutStatus): string | null {
  const parts: string[] = [];
  for (const [label, window] of [["this window", status.currentWindow], ["last window", status.lastWindow]] as const) {
    const asked = window?.skew ? [window.skew.canary, window.skew.stable] : [];
    const total = asked.reduce((sum, health) => sum + health.requests, 0);
    if (total === 0) continue;
    const served = asked.reduce((sum, health) => sum + (health.classes["2xx"] ?? 0) + (health.classes["3xx"] ?? 0), 0);
    parts.push(`${served} of ${total} served by the other colour ${label}`);
  }
  return parts.length ? `Skew fallbacks (an open page's asset its visitor's new colour lacks; not judged): ${parts.join("; ")}.` : null;
}

function History(props: { entries: HistoryEntry[] }) {
  return (
    <section class="card" aria-labelledby="history">
      <h2 id="history">History</h2>
      <HistoryTable entries={props.entries} />
    </section>
  );
}

function HistoryTable(props: { entries: HistoryEntry[] }) {
  return (
    <table>
      <Head columns={["rev", "when", "who", "what", "why"]} />
      <tbody>
        {props.entries.map((entry) => (
          <tr>
            <td>{entry.event ? <span title={`no revision: the rules were at ${entry.revision}`}>({entry.revision})</span> : entry.revision}</td>
            <td class="when">{entry.updatedAt?.replace("T", " ").replace(/\.\d+Z$/, "Z")}</td>
            <td>{entry.updatedBy}</td>
            <td class="changes">
              {entry.action}: {entry.changes.join("; ")}
            </td>
            <td>{entry.reason ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Head(props: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((column) => (
          <th scope="col">{column}</th>
        ))}
      </tr>
    </thead>
  );
}
