import type { Written } from "../../worker/control/release/actions.ts";
import type { Problem } from "../../worker/control/release/outcome.ts";
import { canReachCanary } from "../../worker/core/operations.ts";
import { otherColour } from "../../worker/core/rules.ts";
import { describePropagation, type Propagation } from "../../worker/control/release/propagation.ts";
import type { RolloutStatus } from "../../worker/control/rollout/status.ts";
import type { HistoryEntry, RulesMeta, RulesView } from "../../worker/control/release/store.ts";
import { rolloutStatus } from "./print-rollout.ts";
import type { Serving } from "./transport.ts";

/** Human output of the CLI: short lines an operator can read during an incident. */

/** "ramp: revision 5 by alice" and the before → after lines. */
export function written(action: string, result: Written): string[] {
  if (result.unchanged) return [`${action}: nothing to change, still revision ${result.revision}`];
  return [`${action}: now revision ${result.revision} (${who(result.meta)})`, ...result.changes.map((line) => `  ${line}`)];
}

/** Who is on which version, and since when; over HTTP also what the worker serves, and the rollout with its health. */
export function status(view: RulesView & { serving?: Serving; propagation?: Propagation & { kvRefused?: string | null }; rollout?: RolloutStatus }): string[] {
  const record = view.meta ? who(view.meta) : view.rules ? "no change record (written with plain `wrangler kv key put`)" : "nothing stored yet";
  const lines = [`revision ${view.revision} · ${record}`];
  if (view.rules) {
    const { stable, origins, rollout, rules } = view.rules;
    const canary = otherColour(stable);
    const place = (colour: "blue" | "green") => origins[colour].url ?? `service ${origins[colour].service}`;
    const enabled = rules.filter((rule) => rule.enabled);
    const toCanary = enabled.filter(canReachCanary);
    lines.push(
      `stable   ${stable.padEnd(6)} ${place(stable)}`,
      `canary   ${canary.padEnd(6)} ${place(canary)}  ${rollout.percent}% of visitors (rollout ${rollout.id})`,
      `rules    ${enabled.length} of ${rules.length} enabled, ${toCanary.length} sending visitors to the canary`,
    );
  } else {
    lines.push("no valid rules document:", ...issueLines(view.issues ?? []));
  }
  const serving = view.serving;
  if (serving) {
    const what = serving.source ? `revision ${serving.revision ?? "(none)"} from ${serving.source}, loaded ${serving.loadedAt}` : "nothing yet (no visitor since it started)";
    lines.push(`serving  this worker isolate${serving.colo ? ` in ${serving.colo}` : ""}: ${what}; cache ${serving.cacheTtlMs} ms`);
  }
  if (view.propagation) lines.push(`reach    ${describePropagation(view.propagation)}`);
  if (view.propagation?.kvRefused) lines.push(`refused  ${view.propagation.kvRefused}`);
  if (view.rollout) lines.push(...rolloutStatus(view.rollout));
  else if (view.rules?.rollout.plan || view.rules?.rollout.analysis) {
    lines.push("rollout  plan, analysis and health: ask the worker with --url (wrangler cannot reach its Durable Object)");
  }
  return lines;
}

/** The audit trail, newest first, with each change's diff; a record that made no revision (a gate's call) shows the live one in brackets. */
export function history(entries: HistoryEntry[]): string[] {
  if (!entries.length) return ["no history yet"];
  return entries.flatMap((entry) => [
    `${entry.event ? `(#${entry.revision})` : `#${entry.revision}`}  ${entry.updatedAt ?? "?"}  ${(entry.action ?? "?").padEnd(8)} ${entry.updatedBy ?? "?"}${entry.reason ? `  "${entry.reason}"` : ""}`,
    ...entry.changes.map((line) => `      ${line}`),
  ]);
}

/** The one-line reason, then where exactly the input is wrong. */
export function problem(body: Problem): string[] {
  return [`canary: ${body.message} (${body.error})`, ...issueLines(body.issues ?? [])];
}

function issueLines(issues: { path: string; message: string }[]): string[] {
  return issues.map((issue) => `  ${issue.path}: ${issue.message}`);
}

function who(meta: RulesMeta | null): string {
  if (!meta) return "no change record";
  return [meta.action, meta.updatedBy && `by ${meta.updatedBy}`, meta.updatedAt && `at ${meta.updatedAt}`, meta.reason && `"${meta.reason}"`]
    .filter(Boolean)
    .join(" ");
}
