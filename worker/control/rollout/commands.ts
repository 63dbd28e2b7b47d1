import type { Plan, Rules } from "../../core/rules.ts";
import type { Action, EngineState } from "./engine.ts";

/**
 * What an operator may ask of the rollout engine, and when it is refused: each command either
 * becomes an Action (a rules change the Durable Object commits), a new state, or a Refusal (409).
 */

/** Why an operator's command was refused (sent as a 409 with this body). */
export interface Refusal {
  error: string;
  message: string;
}

/** Who asks, and why (recorded in the history with the change). */
export interface Operator {
  by: string;
  reason?: string;
}

/**
 * `rollout start`: step 1 of the plan in the live rules, or of the plan given with it (which then
 * replaces the rules' plan, in the same revision). Clears an automatic rollback's latch: an operator has acted.
 */
export function startAction(state: EngineState, rules: Rules, operator: Operator & { rolloutId?: string; plan?: Plan }): Action | Refusal {
  const first = (operator.plan ?? rules.rollout.plan)?.steps[0];
  if (!first) return { error: "no_plan", message: "the live rules have no rollout.plan: add one (with rollout.analysis) first, or give one with the start" };
  if (operator.plan && !rules.rollout.analysis) {
    return { error: "no_analysis", message: "the live rules have no rollout.analysis: a plan walks only on healthy windows, so add analysis settings (`\"analysis\": {}` takes the defaults) first" };
  }
  if (state.run?.status === "running" || state.run?.status === "paused") {
    return { error: "rollout_active", message: `a rollout is ${state.run.status} at step ${state.run.step + 1}: resume, pause or abort it` };
  }
  return { kind: "start", ...operator, percent: first.percent };
}

/** `rollout pause`: the plan stops where it is (the traffic split stays); the analysis keeps guarding. */
export function pauseRun(state: EngineState, operator: Operator): EngineState | Refusal {
  if (state.run?.status !== "running") return notRunning(state, "pause");
  const note = `paused by ${operator.by}${operator.reason ? `: ${operator.reason}` : ""}`;
  return { ...state, run: { ...state.run, status: "paused", note } };
}

/** `rollout resume`: back to the current step's percentage, and its dwell starts again. */
export function resumeAction(state: EngineState, rules: Rules, operator: Operator): Action | Refusal {
  if (state.run?.status !== "paused") return notRunning(state, "resume");
  const step = rules.rollout.plan?.steps[state.run.step];
  if (!step) return { error: "no_plan", message: `the live rules' plan has no step ${state.run.step + 1}: abort, then start again` };
  return { kind: "resume", ...operator, percent: step.percent };
}

/** `rollout abort`: everyone back on stable exactly as a manual revert does, and the plan stops. */
export function abortAction(operator: Operator): Action {
  return { kind: "abort", ...operator };
}

function notRunning(state: EngineState, verb: string): Refusal {
  const run = state.run;
  const now = run ? `the rollout is ${run.status} (${run.note})` : "no rollout has been started";
  const hint = run?.status === "rolled-back" ? ": fix the canary, then `rollout start`" : "";
  return { error: "rollout_not_" + (verb === "pause" ? "running" : "paused"), message: `cannot ${verb}: ${now}${hint}` };
}

/** Tells a refusal from an action or a state. */
export function isRefusal(value: object): value is Refusal {
  return "error" in value;
}
