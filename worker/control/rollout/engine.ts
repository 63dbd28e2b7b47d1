import { conclusiveMetrics, type WindowReport } from "../analysis/verdict.ts";
import { type Evidence, noEvidence } from "../analysis/evidence.ts";
import { isReverted, promote, ramp, revert } from "../../core/operations.ts";
import { type AnalysisSettings, type Colour, otherColour, type Plan, type Rules } from "../../core/rules.ts";
import type { Change, RulesMeta } from "../release/store.ts";
import type { GateCall } from "./gate.ts";

/**
 * The rollout engine's decisions, with no I/O: given its saved state, the live rules and the newly
 * judged windows, what happens next. The Durable Object (analysis-object.ts) only loads, commits
 * and saves what these functions say, so every rule of the game is readable (and tested) here.
 */

/** Who signs the engine's own rules changes in the history. */
export const ENGINE = "edge-canary analysis";
/** Judged windows kept for `status` and the dashboard's chart. */
export const WINDOWS_KEPT = 30;

export type RunStatus = "running" | "paused" | "rolled-back" | "aborted" | "promoted";

/** A plan being walked: which step of which rollout, since when, and the last revision the engine wrote or accepted. */
export interface Run {
  status: RunStatus;
  step: number;
  stepSince: number;
  revision: number;
  rolloutId: string;
  stable: Colour;
  note: string;
}

/** Set by an automatic rollback; only `rollout start` (an operator) clears it. */
export interface Latch {
  at: number;
  revision: number;
  reason: string;
}

/** Every change the engine makes to the rules, as data: committed, replayed and reconciled the same way. */
export type Action =
  | { kind: "start"; by: string; reason?: string; rolloutId?: string; plan?: Plan; percent: number }
  | { kind: "resume"; by: string; reason?: string; percent: number }
  | { kind: "abort"; by: string; reason?: string }
  | { kind: "step"; step: number; percent: number }
  | { kind: "promote"; confirmed?: string }
  | { kind: "rollback"; reason: string };

/** An action saved before it is committed, so that a retried alarm recognises its own write in KV. */
export interface Pending {
  action: Action;
  expected: number;
  at: number;
}

export interface EngineState {
  run: Run | null;
  /** What the failing streak is about; a new rollout id or canary colour starts it afresh. */
  watching: { rolloutId: string; canary: Colour } | null;
  judgedUntil: number;
  streak: number;
  /** The sequential test's evidence so far (absent in a state saved before it existed). */
  evidence?: Evidence;
  windows: WindowReport[];
  latch: Latch | null;
  pending: Pending | null;
  /** The gate log: the newest gate calls and their answers (gate.ts). */
  gates?: GateCall[];
  /** A promotion waiting for the plan's before-promote gate: for which run and step, decided on which revision, asked when. */
  confirming?: Confirming | null;
  /** The last judged window in which the canary answered from another build than the rollout's (analysis.buildHeader); cleared by a start or a rollback. */
  otherBuild?: OtherBuild | null;
}

/** A promotion the before-promote gate is being asked about. */
export interface Confirming {
  rolloutId: string;
  step: number;
  revision: number;
  since: number;
}

/** Room past a gate's time-out before a confirmation nobody finished (the object was reset mid-call) is asked again. */
export const CONFIRM_GRACE_MS = 60_000;

/** Whether a confirmation for this run is still being asked (so the gate is not called twice at once). */
export function confirmingNow(state: EngineState, timeoutSeconds: number, now: number): boolean {
  const c = state.confirming;
  return Boolean(c && state.run && c.rolloutId === state.run.rolloutId && c.step === state.run.step && now < c.since + timeoutSeconds * 1000 + CONFIRM_GRACE_MS);
}

/**
 * What the before-promote gate's answer does, if the promotion it was asked about still stands
 * (the same run, running at the same step, on the same revision): a go promotes, a no-go reverts
 * the canary (recorded as a rollback with the gate's answer); anything else, nothing.
 */
export function confirmation(state: EngineState, live: Live, go: boolean, said: string): Action | null {
  const c = state.confirming;
  const run = state.run;
  if (!c || run?.status !== "running" || c.rolloutId !== run.rolloutId || c.step !== run.step || c.revision !== live.revision) return null;
  return go ? { kind: "promote", confirmed: `${said}: go` } : { kind: "rollback", reason: `${said}: no-go, the canary is reverted instead of promoted` };
}

/** Where the canary was seen serving another build: the window, how many of its answers, and one build they named ("" for none). */
export interface OtherBuild {
  start: number;
  end: number;
  answers: number;
  requests: number;
  seen: string;
}

/** The live rules as the engine reads them from KV. */
export interface Live {
  rules: Rules;
  revision: number;
  meta: RulesMeta | null;
}

/** A fresh engine: nothing running, nothing judged. */
export function initialState(): EngineState {
  return { run: null, watching: null, judgedUntil: 0, streak: 0, evidence: noEvidence(), windows: [], latch: null, pending: null };
}

/**
 * Brings the state up to date with the live rules before anything is decided: adopts the engine's
 * own write from an interrupted alarm, restarts the streak for a new rollout, and lets an
 * operator's change win over the plan (a revert aborts it, a different percentage pauses it).
 */
export function reconcile(state: EngineState, live: Live): EngineState {
  let next = state;
  if (state.pending) {
    const { action, expected, at } = state.pending;
    const ours = live.revision > expected && live.meta?.action === changeOf(action).action && live.meta?.updatedBy === changeOf(action).by;
    next = ours ? afterCommit({ ...state, pending: null }, action, live, at) : { ...state, pending: null };
  }
  const watching = { rolloutId: live.rules.rollout.id, canary: otherColour(live.rules.stable) };
  if (next.watching?.rolloutId !== watching.rolloutId || next.watching.canary !== watching.canary) {
    next = { ...next, watching, streak: 0, evidence: noEvidence(), windows: [], otherBuild: null };
  }
  return next.run ? { ...next, run: followOperator(next.run, live) } : next;
}

function followOperator(run: Run, live: Live): Run {
  if ((run.status !== "running" && run.status !== "paused") || live.revision === run.revision) return run;
  const { rules, revision } = live;
  const who = `${live.meta?.updatedBy ?? "someone"} (revision ${revision})`;
  if (isReverted(rules)) return { ...run, status: "aborted", revision, note: `reverted by ${who}` };
  if (rules.stable !== run.stable || rules.rollout.id !== run.rolloutId) {
    return { ...run, status: "aborted", revision, note: `stable or rollout id changed by ${who}: the plan no longer applies` };
  }
  const step = rules.rollout.plan?.steps[run.step];
  if (run.status === "running" && !step) return { ...run, status: "paused", revision, note: `plan changed by ${who}: it has no step ${run.step + 1}` };
  if (run.status === "running" && rules.rollout.percent !== step!.percent) {
    const note = `canary set to ${rules.rollout.percent}% by ${who}; \`rollout resume\` returns to step ${run.step + 1} (${step!.percent}%)`;
    return { ...run, status: "paused", revision, note };
  }
  return { ...run, revision };
}

/**
 * Adds newly judged windows up to `judgedUntil` (windows without any request are left out): a
 * failing one extends the streak, a healthy one ends it, one with too few requests does neither.
 * The sequential evidence is the last window's.
 */
export function addWindows(state: EngineState, reports: WindowReport[], judgedUntil: number): EngineState {
  let streak = state.streak;
  for (const report of reports) {
    if (report.verdict === "failing") streak += 1;
    if (report.verdict === "healthy") streak = 0;
  }
  const evidence = reports.at(-1)?.evidence ?? state.evidence;
  const other = reports.findLast((report) => report.canary.otherBuilds);
  const otherBuild = other
    ? { start: other.start, end: other.end, answers: other.canary.otherBuilds!, requests: other.canary.requests, seen: other.canary.otherBuildSeen ?? "" }
    : state.otherBuild ?? null;
  return { ...state, streak, evidence, otherBuild, judgedUntil: Math.max(state.judgedUntil, judgedUntil), windows: [...state.windows, ...reports].slice(-WINDOWS_KEPT) };
}

/**
 * What the engine does now, if anything. Rollback first: a failing canary that anyone can reach is
 * reverted once the streak is long enough, or at once when the sequential test is sure or it was
 * seen serving another build than the rollout's (and a reverted one never again: one incident, one rollback). Then the plan: the next step only after the dwell, on a healthy window that lies
 * wholly within the current step; after the last step, promote.
 */
export function nextAction(state: EngineState, rules: Rules, now: number): Action | null {
  const analysis = rules.rollout.analysis;
  if (analysis && !isReverted(rules)) {
    if (analysis.buildHeader && state.otherBuild) return { kind: "rollback", reason: otherBuildReason(state.otherBuild, rules, analysis.buildHeader) };
    const sure = state.evidence && conclusiveMetrics(state.evidence, analysis).length > 0;
    if (sure || state.streak >= analysis.failingWindows) return { kind: "rollback", reason: rollbackReason(state, rules, analysis, Boolean(sure)) };
  }
  const run = state.run;
  const steps = rules.rollout.plan?.steps;
  if (run?.status !== "running" || !steps?.[run.step]) return null;
  if (now < run.stepSince + steps[run.step]!.dwellSeconds * 1000) return null;
  const last = state.windows.at(-1);
  if (!last || last.verdict !== "healthy" || last.start < run.stepSince) return null;
  const next = run.step + 1;
  return next < steps.length ? { kind: "step", step: next, percent: steps[next]!.percent } : { kind: "promote" };
}

function rollbackReason(state: EngineState, rules: Rules, analysis: AnalysisSettings, sure: boolean): string {
  const canary = otherColour(rules.stable);
  const last = state.windows.at(-1);
  if (sure && last) {
    return `canary ${canary} is worse than stable (sequential test, [${clock(last.start)}-${clock(last.end)}]): ${last.failures.join(", ")}`;
  }
  const failing = state.windows.filter((w) => w.verdict === "failing").slice(-analysis.failingWindows);
  const windows = failing.map((w) => `[${clock(w.start)}-${clock(w.end)}] ${w.failures.join(", ")}`).join("; ");
  return `canary ${canary} failed ${state.streak} consecutive ${analysis.windowSeconds} s windows: ${windows}`;
}

/** "canary green served another build: 12 of 40 answers in [21:04:00-21:04:10] had x-app-version "build-6", not "build-7" (…)". */
function otherBuildReason(other: OtherBuild, rules: Rules, header: string): string {
  const named = other.seen === "" ? `no ${header}` : `${header} "${other.seen}"`;
  return (
    `canary ${otherColour(rules.stable)} served another build: ${other.answers} of ${other.requests} answers in [${clock(other.start)}-${clock(other.end)}] had ${named}, ` +
    `not "${rules.rollout.id}" (the build this rollout delivers): was it redeployed during the release?`
  );
}

function clock(time: number): string {
  return new Date(time).toISOString().slice(11, 19);
}

/** The rules an action leaves behind: the same pure operations the admin API and the CLI use. */
export function edit(action: Action, rules: Rules): Rules {
  switch (action.kind) {
    case "start": {
      const ramped = ramp(rules, action.percent, action.rolloutId);
      return action.plan ? { ...ramped, rollout: { ...ramped.rollout, plan: action.plan } } : ramped;
    }
    case "resume":
    case "step":
      return ramp(rules, action.percent);
    case "promote":
      return promote(rules);
    case "abort":
    case "rollback":
      return revert(rules);
  }
}

/** How an action is recorded in the history: what, by whom, why (with the numbers for a rollback). */
export function changeOf(action: Action): Change {
  switch (action.kind) {
    case "start":
    case "resume":
    case "abort":
      return { action: `rollout-${action.kind}`, by: action.by, reason: action.reason };
    case "step":
      return { action: "rollout-step", by: ENGINE, reason: `plan step ${action.step + 1}: ${action.percent}% after a healthy window` };
    case "promote":
      return { action: "rollout-promote", by: ENGINE, reason: `last plan step healthy: canary promoted${action.confirmed ? `; ${action.confirmed}` : ""}` };
    case "rollback":
      return { action: "auto-rollback", by: ENGINE, reason: action.reason };
  }
}

/** The engine's state once an action's rules (`live`, at `live.revision`) are committed. */
export function afterCommit(state: EngineState, action: Action, live: Live, at: number): EngineState {
  const run = state.run;
  const fresh = (step: number, note: string): Run => ({
    status: "running",
    step,
    stepSince: at,
    revision: live.revision,
    rolloutId: live.rules.rollout.id,
    stable: live.rules.stable,
    note,
  });
  switch (action.kind) {
    case "start":
      return { ...state, run: fresh(0, `started by ${action.by}`), latch: null, streak: 0, evidence: noEvidence(), otherBuild: null, confirming: null, judgedUntil: at };
    case "resume":
      return { ...state, run: fresh(run?.step ?? 0, `resumed by ${action.by}`) };
    case "step":
      return { ...state, run: run && { ...run, step: action.step, stepSince: at, revision: live.revision } };
    case "promote":
      return { ...state, confirming: null, run: run && { ...run, status: "promoted", revision: live.revision, note: "promoted after the last step" } };
    case "abort":
      return { ...state, run: run && { ...run, status: "aborted", revision: live.revision, note: `aborted by ${action.by}` } };
    case "rollback": {
      const stopped = run && (run.status === "running" || run.status === "paused");
      const latch = { at, revision: live.revision, reason: action.reason };
      return { ...state, streak: 0, evidence: noEvidence(), otherBuild: null, confirming: null, latch, run: stopped ? { ...run, status: "rolled-back", revision: live.revision, note: action.reason } : run };
    }
  }
}
