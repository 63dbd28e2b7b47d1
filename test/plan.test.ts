import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { revert } from "../worker/core/operations.ts";
import { ENGINE } from "../worker/control/rollout/engine.ts";
import type { RulesInput } from "../worker/core/rules.ts";
import { ReleaseAuthority, releaseAuthority } from "../worker/control/authority/release-authority.ts";
import {
  analysis,
  canaryDoc,
  commitDoc,
  fakeClock,
  greenFails,
  historyActions,
  liveRules,
  resetAnalysis,
  runAlarm,
  trafficWindow,
  visitors,
  WINDOW_MS,
} from "./analysis-helpers.ts";

const ANALYSIS = { windowSeconds: 60, minRequests: 3, maxErrorRate: 5, failingWindows: 2, method: "thresholds" as const };
const PLAN = { steps: [20, 50, 100].map((percent) => ({ percent, dwellSeconds: 60 })) };
const STARTED = ["replace by alice", "rollout-start by alice"];
const STEP = `rollout-step by ${ENGINE}`;
/**
 * The plan's rollout id, the same in every test. Which of window()'s 30 visitors land in the canary
 * depends on the id (bucketOf hashes it with their IPs): this one sends 9 of them to a 20% canary,
 * safely above minRequests. An id taken from the wall clock changed the cohort every day, and on
 * some days (about 1 in 23) only 2 of 30 were canary: "not-enough-data", and no step was taken.
 */
const ROLLOUT_ID = "plan-42";

describe("progressive plan", { timeout: 20_000 }, () => {
  let clock: ReturnType<typeof fakeClock>;
  const window = (n: number, count = 30) => trafficWindow(clock, n, count);
  /** Commits a planned rollout at 0% and starts it 5 s into window 0, as alice. */
  async function startPlan(rollout: Partial<RulesInput["rollout"]> = {}, over: Partial<RulesInput> = {}) {
    await commitDoc(canaryDoc({ id: ROLLOUT_ID, percent: 0, analysis: ANALYSIS, plan: PLAN, ...rollout }, over));
    clock.set(clock.start + 5000);
    const started = await analysis().start({ by: "alice", reason: "release 42" });
    expect(started.ok).toBe(true);
  }

  beforeEach(async () => {
    await resetAnalysis();
    clock = fakeClock();
  });
  afterEach(() => vi.restoreAllMocks());

  it("walks a healthy canary through every step to promotion, one healthy window per step", async () => {
    await startPlan();
    let status = await analysis().status();
    expect(status.run).toMatchObject({ status: "running", step: 1, steps: 3 });
    expect(status.plan.map((s) => s.state)).toEqual(["current", "next", "next"]);
    expect((await liveRules()).rules.rollout.percent).toBe(20);

    await window(0); // begins before the step: not a reason to move on
    expect((await liveRules()).rules.rollout.percent).toBe(20);
    await window(1);
    expect((await liveRules()).rules.rollout.percent).toBe(50);
    await window(2);
    expect((await liveRules()).rules.rollout.percent).toBe(50);
    await window(3);
    expect((await liveRules()).rules.rollout.percent).toBe(100);
    await window(4);
    await window(5);

    const { rules } = await liveRules();
    expect(rules.stable).toBe("green");
    expect(rules.rollout.percent).toBe(0);
    expect(await historyActions()).toEqual([...STARTED, STEP, STEP, `rollout-promote by ${ENGINE}`]);
    status = await analysis().status();
    expect(status.run).toMatchObject({ status: "promoted" });
    expect(status.plan.map((s) => s.state)).toEqual(["done", "done", "done"]);
    expect(await visitors(10)).toEqual({ blue: 0, green: 10 });
  });

  it("takes no step on a window with too few requests, however long the dwell", async () => {
    await startPlan({ analysis: { ...ANALYSIS, minRequests: 1000 } });
    for (let n = 0; n < 4; n++) await window(n, 10);
    expect((await liveRules()).rules.rollout.percent).toBe(20);
    expect((await analysis().status()).lastWindow?.verdict).toBe("not-enough-data");
  });

  it("halts on a failing canary, rolls it back and stays down until an operator starts again", async () => {
    await startPlan();
    await window(0);
    await window(1);
    expect((await liveRules()).rules.rollout.percent).toBe(50);
    await greenFails(1);
    await window(2);
    await window(3);
    expect((await liveRules()).rules.rollout.percent).toBe(0);
    expect(await historyActions()).toEqual([...STARTED, STEP, `auto-rollback by ${ENGINE}`]);

    await greenFails(0);
    for (let n = 4; n < 7; n++) await window(n);
    expect((await liveRules()).rules.rollout.percent).toBe(0);
    const status = await analysis().status();
    expect(status.run).toMatchObject({ status: "rolled-back" });
    expect(status.analysis.latch?.reason).toContain("error rate 100.0%");

    const resumed = await analysis().resume({ by: "alice" });
    expect(resumed).toMatchObject({ ok: false, status: 409, body: { error: "rollout_not_paused" } });
    expect(resumed.ok || resumed.body.message).toContain("`rollout start`");

    const restarted = await analysis().start({ by: "alice", reason: "fixed in 43" });
    expect(restarted.ok && restarted.body.run).toMatchObject({ status: "running", step: 1 });
    expect(restarted.ok && restarted.body.analysis.latch).toBeNull();
    expect((await liveRules()).rules.rollout.percent).toBe(20);
  });

  it("holds the step while paused; resume returns to it and restarts its dwell", async () => {
    await startPlan();
    const paused = await analysis().pause({ by: "bob", reason: "watching a dashboard" });
    expect(paused.ok && paused.body.run).toMatchObject({ status: "paused", note: "paused by bob: watching a dashboard" });
    expect(await analysis().pause({ by: "bob" })).toMatchObject({ ok: false, body: { error: "rollout_not_running" } });

    await window(0);
    await window(1);
    await window(2);
    expect((await liveRules()).rules.rollout.percent).toBe(20);

    clock.set(clock.start + 3 * WINDOW_MS + 5000);
    const resumed = await analysis().resume({ by: "bob" });
    expect(resumed.ok && resumed.body.run).toMatchObject({ status: "running", step: 1, since: new Date(clock.now).toISOString() });
    await window(3); // begins before the resume
    expect((await liveRules()).rules.rollout.percent).toBe(20);
    await window(4);
    expect((await liveRules()).rules.rollout.percent).toBe(50);
    expect(await historyActions()).toEqual([...STARTED, STEP]);
  });

  it("aborts exactly as a manual revert does, and the plan takes no further step", async () => {
    const beta = { name: "beta", when: { header: { name: "x-tier", values: ["beta"] } }, serve: "canary" as const };
    await startPlan({}, { rules: [beta] });
    const before = await liveRules();
    const aborted = await analysis().abort({ by: "alice", reason: "wrong build" });
    expect(aborted.ok && aborted.body.run).toMatchObject({ status: "aborted", note: "aborted by alice" });

    const after = await liveRules();
    expect(after.rules).toEqual(revert(before.rules));
    expect(after.rules.rules[0]!.enabled).toBe(false);
    for (let n = 0; n < 3; n++) await window(n);
    expect((await liveRules()).revision).toBe(after.revision);
    expect(await historyActions()).toEqual([...STARTED, "rollout-abort by alice"]);
  });

  it("applies a step once when the alarm runs twice, at the same time or again later", async () => {
    await startPlan();
    await window(0);
    await trafficWindow(clock, 1, 30, { alarm: false }); // a healthy window 1: step 2 is due now
    await runInDurableObject(analysis(), (instance) => Promise.all([instance.alarm(), instance.alarm()]));
    expect(await runAlarm()).toBe(true);
    expect(await historyActions()).toEqual([...STARTED, STEP]);
    expect((await liveRules()).rules.rollout.percent).toBe(50);
  });

  it("lets a manual revert that lands while a step is being decided win: the step is not written", async () => {
    await startPlan();
    await window(0);
    await trafficWindow(clock, 1, 30, { alarm: false }); // a healthy window 1: step 2 is due now

    // The operator's revert lands right after the engine has read the rules, before it writes.
    const read = ReleaseAuthority.prototype.read;
    let raced = false;
    vi.spyOn(ReleaseAuthority.prototype, "read").mockImplementation(async function (this: ReleaseAuthority) {
      const result = await read.call(this);
      if (!raced) {
        raced = true;
        const outcome = await releaseAuthority(env).commit(revert(result.rules!), { action: "revert", by: "bob" }, result.revision);
        expect(outcome.ok).toBe(true);
      }
      return result;
    });
    expect(await runAlarm()).toBe(true);
    expect(raced).toBe(true);

    expect(await historyActions()).toEqual([...STARTED, "revert by bob"]);
    expect((await liveRules()).rules.rollout.percent).toBe(0);
    await window(2);
    const status = await analysis().status();
    expect(status.run).toMatchObject({ status: "aborted" });
    expect(status.run?.note).toMatch(/^reverted by bob \(revision \d+\)$/);
    expect(await historyActions()).toEqual([...STARTED, "revert by bob"]);
  });

  it("pauses when an operator sets another percentage by hand, and resume goes back to the step", async () => {
    await startPlan();
    const live = await liveRules();
    await releaseAuthority(env).commit({ ...live.rules, rollout: { ...live.rules.rollout, percent: 30 } }, { action: "ramp", by: "carol" }, live.revision);
    await window(0);
    await window(1);
    const status = await analysis().status();
    expect(status.run?.status).toBe("paused");
    expect(status.run?.note).toMatch(/^canary set to 30% by carol \(revision \d+\); `rollout resume` returns to step 1 \(20%\)$/);
    expect((await liveRules()).rules.rollout.percent).toBe(30);

    const resumed = await analysis().resume({ by: "carol" });
    expect(resumed.ok).toBe(true);
    expect((await liveRules()).rules.rollout.percent).toBe(20);
    expect(await historyActions()).toEqual([...STARTED, "ramp by carol", "rollout-resume by carol"]);
  });

  it("refuses to start without a plan or while one is active", async () => {
    await commitDoc(canaryDoc({ id: "no-plan", percent: 0, analysis: ANALYSIS }));
    expect(await analysis().start({ by: "alice" })).toMatchObject({ ok: false, status: 409, body: { error: "no_plan" } });
    await resetAnalysis();
    await startPlan();
    expect(await analysis().start({ by: "alice" })).toMatchObject({ ok: false, status: 409, body: { error: "rollout_active" } });
    expect(await historyActions()).toEqual(STARTED);
  });
});
