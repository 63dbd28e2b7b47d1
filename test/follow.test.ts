import { describe, expect, it } from "vitest";
import { duration, ending, follow, type Progress, progress, progressLine } from "../scripts/canary/follow.ts";
import type { RolloutStatus } from "../worker/control/rollout/status.ts";
import { DEFAULT_ANALYSIS } from "../worker/core/rules.ts";

/** `canary release --wait` and `rollout status --watch`: when a followed rollout has ended, how, and what is reported on the way. */

const T0 = Date.parse("2026-12-07T21:00:00.000Z");
const summary = (requests: number, errors: number) => ({ requests, classes: {}, errors, errorRate: requests ? (100 * errors) / requests : 0, timeouts: 0, unreachable: 0, p95: 12, p99: 20 });

function status(run: Partial<NonNullable<RolloutStatus["run"]>> | null, over: Partial<RolloutStatus> = {}): RolloutStatus {
  return {
    revision: 7,
    stable: "blue",
    canary: "green",
    percent: 50,
    run: run && { status: "running", rolloutId: "build-1", step: 1, steps: 2, since: new Date(T0).toISOString(), nextStepAfter: new Date(T0 + 600_000).toISOString(), note: "started by ci", ...run },
    plan: [],
    analysis: { enabled: true, settings: DEFAULT_ANALYSIS, failingStreak: 0, latch: null },
    lastWindow: null,
    currentWindow: null,
    windows: [],
    recentWindows: [],
    gates: [],
    ...over,
  };
}

describe("follow: how a followed rollout ends", () => {
  it("goes on while running or paused; promoted is 0; rolled back, aborted, replaced or gone is 1, with the run's own reason", () => {
    expect(ending(status({}), "build-1")).toBeNull();
    expect(ending(status({ status: "paused", note: "paused by alice" }), "build-1")).toBeNull();
    expect(ending(status({ status: "promoted" }, { stable: "green", canary: "blue", percent: 0 }), "build-1")).toMatchObject({ event: "promoted", code: 0, reason: "canary promoted: green is stable for everyone" });
    expect(ending(status({ status: "rolled-back", note: "canary green is worse than stable (…): error rate 100%" }), "build-1")).toMatchObject({ event: "rolled-back", code: 1, reason: "canary green is worse than stable (…): error rate 100%" });
    expect(ending(status({ status: "aborted", note: "reverted by alice" }), "build-1")).toMatchObject({ event: "aborted", code: 1, reason: "reverted by alice" });
    expect(ending(status({ rolloutId: "build-2" }), "build-1")).toMatchObject({ event: "superseded", code: 1, reason: "rollout build-2 replaced it (running: started by ci)" });
    expect(ending(status(null), "build-1")).toMatchObject({ event: "aborted", code: 1 });
  });

  it("reports the step, the share, the last window's numbers and the time to the next step", () => {
    const window = { start: "2026-12-07T21:00:10.000Z", end: "2026-12-07T21:00:20.000Z", verdict: "healthy" as const, canary: summary(40, 0), stable: summary(38, 0), failures: [] };
    const report = progress(status({}, { lastWindow: { ...window, evidence: {} as never, conclusive: false, canaryColour: "green", percent: 50, testers: { canary: summary(0, 0), stable: summary(0, 0) } } }), T0 + 591_500)!;
    expect(report).toMatchObject({ event: "progress", rolloutId: "build-1", status: "running", step: 1, steps: 2, percent: 50, nextStepInSeconds: 9, lastWindow: { verdict: "healthy", canary: { requests: 40 } } });
    expect(progressLine(report)).toBe(
      "build-1 · running · step 1 of 2 · green at 50% · window to 21:00:20 healthy: green 40 requests, 0 errors (0%), p95 12 ms, p99 20 ms | blue 38 requests, 0 errors (0%), p95 12 ms, p99 20 ms · next step in 9 s",
    );
    expect(progressLine(progress(status({ status: "paused", nextStepAfter: null, note: "paused by alice" }), T0)!)).toBe("build-1 · paused · step 1 of 2 · green at 50% · no window judged yet · paused by alice");
  });

  it("polls until the end, reporting each change once; at the deadline it stops with no ending (the rollout keeps running)", async () => {
    const seen = [status({}), status({}), status({ step: 2, nextStepAfter: null }, { percent: 100 }), status({ status: "promoted", step: 2 }, { stable: "green", percent: 0 })];
    let clock = T0;
    const reports: Progress[] = [];
    const world = { read: async () => seen.shift()!, now: () => clock, sleep: async (ms: number) => void (clock += ms), report: (p: Progress) => reports.push(p), intervalMs: 2000 };
    const first = seen.shift()!;
    const done = await follow("build-1", first, world);
    expect(done.ending).toMatchObject({ event: "promoted", code: 0 });
    expect(reports.map((r) => [r.status, r.step, r.percent])).toEqual([["running", 1, 50], ["running", 2, 100], ["promoted", 2, 0]]);

    clock = T0;
    const stuck = await follow("build-1", status({}), { ...world, read: async () => status({}), deadline: T0 + 5000 });
    expect(stuck.ending).toBeNull();
    expect(clock).toBe(T0 + 5000);
  });

  it("reads --timeout as 30m, 90s, 2h or plain seconds, and nothing else", () => {
    expect([duration("30m"), duration("90s"), duration("2h"), duration("45"), duration("1.5m")]).toEqual([1_800_000, 90_000, 7_200_000, 45_000, 90_000]);
    expect([duration("soon"), duration("0"), duration("-5m"), duration("5 days")]).toEqual([null, null, null, null]);
  });
});
