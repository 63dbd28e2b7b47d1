import { describe, expect, it } from "vitest";
import type { WindowReport } from "../worker/control/analysis/verdict.ts";
import { noEvidence } from "../worker/control/analysis/evidence.ts";
import { revert } from "../worker/core/operations.ts";
import {
  type Action,
  addWindows,
  afterCommit,
  changeOf,
  CONFIRM_GRACE_MS,
  confirmation,
  confirmingNow,
  edit,
  ENGINE,
  type EngineState,
  initialState,
  type Live,
  nextAction,
  reconcile,
  type Run,
  WINDOWS_KEPT,
} from "../worker/control/rollout/engine.ts";
import { pauseRun, resumeAction, startAction } from "../worker/control/rollout/commands.ts";
import { parseRules, type Rules, type RulesInput } from "../worker/core/rules.ts";

const MIN = 60_000;

function rules(rollout: Partial<RulesInput["rollout"]> = {}, over: Partial<RulesInput> = {}): Rules {
  const parsed = parseRules({
    stable: "blue",
    origins: { blue: { url: "https://blue.example" }, green: { url: "https://green.example" } },
    rollout: {
      id: "r1",
      percent: 10,
      analysis: { failingWindows: 2 },
      plan: { steps: [10, 50, 100].map((percent) => ({ percent, dwellSeconds: 60 })) },
      ...rollout,
    },
    ...over,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.rules;
}

const live = (r: Rules, revision: number, by = "alice", action = "replace"): Live => ({ rules: r, revision, meta: { revision, updatedBy: by, action } });

function report(start: number, verdict: WindowReport["verdict"]): WindowReport {
  const summary = { requests: 100, classes: {}, errors: 0, errorRate: 0, timeouts: 0, unreachable: 0, p95: 10, p99: 10 };
  return { start, end: start + MIN, verdict, canary: summary, stable: summary, failures: verdict === "failing" ? ["error rate 50.0% (50 of 100) > 5%"] : [], evidence: noEvidence(), conclusive: false, canaryColour: "green", percent: 10, testers: { canary: summary, stable: summary } };
}

function running(over: Partial<Run> = {}): EngineState {
  const run: Run = { status: "running", step: 0, stepSince: 0, revision: 2, rolloutId: "r1", stable: "blue", note: "", ...over };
  return { ...initialState(), watching: { rolloutId: "r1", canary: "green" }, run };
}

describe("engine: the failing streak", () => {
  it("grows on failing windows, ends on a healthy one, and ignores windows with too few requests", () => {
    let state = initialState();
    state = addWindows(state, [report(0, "failing"), report(MIN, "not-enough-data"), report(2 * MIN, "failing")], 3 * MIN);
    expect(state.streak).toBe(2);
    state = addWindows(state, [report(3 * MIN, "healthy")], 4 * MIN);
    expect(state.streak).toBe(0);
    expect(state.judgedUntil).toBe(4 * MIN);
  });

  it("keeps only the last WINDOWS_KEPT windows for status", () => {
    const reports = Array.from({ length: 25 }, (_, i) => report(i * MIN, "healthy"));
    expect(addWindows(initialState(), reports, 25 * MIN).windows).toEqual(reports.slice(-WINDOWS_KEPT));
  });

  it("starts again for a new rollout id or canary colour", () => {
    const state = { ...initialState(), watching: { rolloutId: "r1", canary: "green" as const }, streak: 1, windows: [report(0, "failing")] };
    expect(reconcile(state, live(rules(), 1)).streak).toBe(1);
    expect(reconcile(state, live(rules({ id: "r2" }), 1))).toMatchObject({ streak: 0, windows: [] });
    expect(reconcile(state, live(rules({}, { stable: "green" }), 1))).toMatchObject({ streak: 0, windows: [] });
  });
});

describe("engine: rollback", () => {
  it("rolls back once the streak reaches failingWindows, with every failing window's numbers in the reason", () => {
    const state = addWindows(running(), [report(0, "failing"), report(MIN, "failing")], 2 * MIN);
    const action = nextAction(state, rules(), 2 * MIN);
    expect(action).toEqual({
      kind: "rollback",
      reason: "canary green failed 2 consecutive 60 s windows: [00:00:00-00:01:00] error rate 50.0% (50 of 100) > 5%; [00:01:00-00:02:00] error rate 50.0% (50 of 100) > 5%",
    });
    expect(changeOf(action!)).toEqual({ action: "auto-rollback", by: ENGINE, reason: (action as { reason: string }).reason });
    expect(nextAction(addWindows(running(), [report(0, "failing")], MIN), rules(), MIN)).toBeNull();
  });

  it("rolls back after one window when the sequential test is sure, and starts the evidence afresh", () => {
    const sure = {
      ...report(0, "failing"),
      failures: ["errors: canary 100.0% (100 of 100) vs stable 0.0% (0 of 1900), above stable's at 99.997% confidence"],
      evidence: { ...noEvidence(), errors: { scores: [200, 150], canary: { bad: 100, requests: 100 }, stable: { bad: 0, requests: 1900 } } },
      conclusive: true,
    };
    const state = addWindows(running(), [sure], MIN);
    expect(state.streak).toBe(1);
    const action = nextAction(state, rules(), MIN);
    expect(action).toEqual({
      kind: "rollback",
      reason: "canary green is worse than stable (sequential test, [00:00:00-00:01:00]): errors: canary 100.0% (100 of 100) vs stable 0.0% (0 of 1900), above stable's at 99.997% confidence",
    });
    expect(nextAction(state, rules({ analysis: { method: "thresholds" } }), MIN)).toBeNull();
    const after = afterCommit(state, action!, live(revert(rules()), 3, ENGINE), MIN);
    expect(after.evidence).toEqual(noEvidence());
    expect(reconcile(state, live(rules({ id: "r2" }), 1)).evidence).toEqual(noEvidence());
  });

  it("never rolls back a canary nobody can reach, nor without analysis settings", () => {
    const state = addWindows(running(), [report(0, "failing"), report(MIN, "failing")], 2 * MIN);
    expect(nextAction(state, revert(rules()), 2 * MIN)).toBeNull();
    expect(nextAction({ ...state, run: null }, rules({ analysis: undefined, plan: undefined }), 2 * MIN)).toBeNull();
  });

  it("latches: the run stops as rolled back and the streak starts again", () => {
    const state = addWindows(running(), [report(0, "failing"), report(MIN, "failing")], 2 * MIN);
    const after = afterCommit(state, { kind: "rollback", reason: "why" }, live(revert(rules()), 3, ENGINE), 2 * MIN);
    expect(after).toMatchObject({ streak: 0, latch: { at: 2 * MIN, revision: 3, reason: "why" }, run: { status: "rolled-back", revision: 3, note: "why" } });
    expect(nextAction(after, revert(rules()), 10 * MIN)).toBeNull();
    expect(afterCommit(after, { kind: "start", by: "alice", percent: 10 }, live(rules(), 4), 11 * MIN)).toMatchObject({ latch: null, run: { status: "running" } });
  });
});

describe("engine: plan steps", () => {
  const healthyIn = (state: EngineState, start: number) => addWindows(state, [report(start, "healthy")], start + MIN);

  it("steps after the dwell on a healthy window that lies wholly within the step", () => {
    const state = running({ stepSince: 30_000 });
    expect(nextAction(healthyIn(state, 0), rules(), 2 * MIN)).toBeNull(); // window began before the step
    expect(nextAction(healthyIn(state, MIN), rules(), 2 * MIN)).toEqual({ kind: "step", step: 1, percent: 50 });
    expect(nextAction(healthyIn(state, MIN), rules(), 30_000 + MIN - 1)).toBeNull(); // dwell not over
    expect(nextAction(addWindows(state, [report(MIN, "not-enough-data")], 2 * MIN), rules(), 2 * MIN)).toBeNull();
  });

  it("promotes after the last step, and does nothing while paused or after the end", () => {
    expect(nextAction(healthyIn(running({ step: 2 }), MIN), rules({ percent: 100 }), 2 * MIN)).toEqual({ kind: "promote" });
    expect(nextAction(healthyIn(running({ status: "paused" }), MIN), rules(), 2 * MIN)).toBeNull();
    expect(nextAction(healthyIn(running({ status: "promoted" }), MIN), rules(), 2 * MIN)).toBeNull();
  });

  it("records a step as the engine's, and moves the run to it", () => {
    const step: Action = { kind: "step", step: 1, percent: 50 };
    expect(changeOf(step)).toEqual({ action: "rollout-step", by: ENGINE, reason: "plan step 2: 50% after a healthy window" });
    expect(afterCommit(running(), step, live(rules({ percent: 50 }), 3, ENGINE), 5 * MIN).run).toMatchObject({ step: 1, stepSince: 5 * MIN, revision: 3 });
  });
});

describe("engine: operators win", () => {
  it("aborts the plan when someone reverts, pauses it when someone sets another percentage, accepts other edits", () => {
    expect(reconcile(running(), live(revert(rules()), 3, "bob")).run).toMatchObject({ status: "aborted", revision: 3, note: "reverted by bob (revision 3)" });
    expect(reconcile(running(), live(rules({ percent: 30 }), 3, "carol")).run).toMatchObject({
      status: "paused",
      note: "canary set to 30% by carol (revision 3); `rollout resume` returns to step 1 (10%)",
    });
    const edited = rules({}, { overrides: "off" });
    expect(reconcile(running(), live(edited, 3, "dave")).run).toMatchObject({ status: "running", revision: 3 });
    expect(reconcile(running(), live(rules({ id: "r2" }), 3, "erin")).run?.status).toBe("aborted");
  });

  it("recognises its own write after an interrupted alarm instead of taking it for an operator's", () => {
    const step: Action = { kind: "step", step: 1, percent: 50 };
    const pending = { ...running(), pending: { action: step, expected: 2, at: 5 * MIN } };
    const adopted = reconcile(pending, live(rules({ percent: 50 }), 3, ENGINE, "rollout-step"));
    expect(adopted).toMatchObject({ pending: null, run: { status: "running", step: 1, stepSince: 5 * MIN, revision: 3 } });
    const neverWritten = reconcile(pending, live(rules(), 2));
    expect(neverWritten).toMatchObject({ pending: null, run: { step: 0, revision: 2 } });
    expect(nextAction(addWindows(neverWritten, [report(MIN, "healthy")], 2 * MIN), rules(), 2 * MIN)).toEqual(step);
  });

  it("refuses commands that do not fit the run's state, saying why", () => {
    expect(startAction(initialState(), rules({ plan: undefined }), { by: "a" })).toMatchObject({ error: "no_plan" });
    expect(startAction(running(), rules(), { by: "a" })).toMatchObject({ error: "rollout_active" });
    expect(startAction(initialState(), rules(), { by: "a", rolloutId: "r9" })).toEqual({ kind: "start", by: "a", rolloutId: "r9", percent: 10 });
    expect(pauseRun(initialState(), { by: "a" })).toMatchObject({ error: "rollout_not_running", message: "cannot pause: no rollout has been started" });
    expect(resumeAction(running(), rules(), { by: "a" })).toMatchObject({ error: "rollout_not_paused" });
    expect(resumeAction(running({ status: "paused", step: 1 }), rules(), { by: "a" })).toEqual({ kind: "resume", by: "a", percent: 50 });
  });

  it("acts on a before-promote gate's answer only while the promotion it was asked about stands, and asks it once per time-out", () => {
    const asked = { ...running({ step: 2, revision: 7 }), confirming: { rolloutId: "r1", step: 2, revision: 7, since: 0 } };
    expect(confirmation(asked, live(rules(), 7), true, "gate said")).toEqual({ kind: "promote", confirmed: "gate said: go" });
    expect(confirmation(asked, live(rules(), 7), false, "gate said")).toEqual({ kind: "rollback", reason: "gate said: no-go, the canary is reverted instead of promoted" });
    expect(confirmation(asked, live(rules(), 8), true, "gate said")).toBeNull(); // someone wrote in between
    expect(confirmation({ ...asked, run: { ...asked.run!, status: "paused" } }, live(rules(), 7), true, "gate said")).toBeNull();
    expect(confirmation({ ...asked, confirming: null }, live(rules(), 7), true, "gate said")).toBeNull();
    expect(confirmingNow(asked, 30, 30_000 + CONFIRM_GRACE_MS - 1)).toBe(true);
    expect(confirmingNow(asked, 30, 30_000 + CONFIRM_GRACE_MS)).toBe(false); // nobody finished it (a reset mid-call): ask again
    expect(confirmingNow({ ...asked, run: { ...asked.run!, rolloutId: "r2" } }, 30, 0)).toBe(false);
  });

  it("starts a plan given with the start (canary release --plan): its first step, and it becomes the rules' plan in the same revision", () => {
    const plan = { steps: [{ percent: 5, dwellSeconds: 600 }, { percent: 100, dwellSeconds: 600 }] };
    const start = startAction(initialState(), rules({ plan: undefined }), { by: "a", rolloutId: "build-7", plan });
    expect(start).toEqual({ kind: "start", by: "a", rolloutId: "build-7", plan, percent: 5 });
    const edited = edit(start as Action, rules({ plan: undefined, percent: 0 }));
    expect(edited.rollout).toMatchObject({ id: "build-7", percent: 5, plan });
    expect(parseRules(edited).ok).toBe(true);
    expect(startAction(initialState(), rules({ plan: undefined, analysis: undefined }), { by: "a", plan })).toMatchObject({ error: "no_analysis" });
  });
});
