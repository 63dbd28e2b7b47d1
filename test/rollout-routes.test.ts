import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RolloutStatus } from "../worker/control/rollout/status.ts";
import { admin, kvSnapshot } from "./admin-helpers.ts";
import { canaryDoc, commitDoc, fakeClock, historyActions, liveRules, resetAnalysis, trafficWindow, visitors, WINDOW_MS } from "./analysis-helpers.ts";

/** The rollout engine's endpoints as operators reach them: the worker's admin API at /__canary/api/rollout. */

const PLANNED = { id: "routes", percent: 0, analysis: {}, plan: { steps: [{ percent: 20, dwellSeconds: 600 }, { percent: 100, dwellSeconds: 600 }] } };
const COMMANDS = ["start", "pause", "resume", "abort"] as const;

async function status(): Promise<RolloutStatus> {
  const response = await admin("/rollout");
  expect(response.status).toBe(200);
  return response.json();
}

async function command(verb: (typeof COMMANDS)[number], body?: unknown): Promise<Response> {
  return admin(`/rollout/${verb}`, { method: "POST", body });
}

describe("rollout endpoints of the admin API", () => {
  let clock: ReturnType<typeof fakeClock>;
  beforeEach(async () => {
    await resetAnalysis();
    clock = fakeClock();
  });
  afterEach(() => vi.restoreAllMocks());

  it("refuses every rollout endpoint without a valid token, and nothing changes", async () => {
    await commitDoc(canaryDoc(PLANNED));
    const before = await kvSnapshot();
    for (const token of [null, "not-the-token"]) {
      const read = await admin("/rollout", { token });
      expect(read.status).toBe(401);
      expect(await read.json()).toMatchObject({ error: "unauthorized" });
      for (const verb of COMMANDS) {
        const write = await admin(`/rollout/${verb}`, { method: "POST", body: {}, token });
        expect(write.status, verb).toBe(401);
      }
    }
    expect(await kvSnapshot()).toEqual(before);
    expect((await status()).run).toBeNull();
  });

  it("starts, pauses, resumes and aborts a plan, signed with the caller's name", async () => {
    await commitDoc(canaryDoc(PLANNED));
    const started = await command("start", { reason: "release 42", rolloutId: "release-42" });
    expect(started.status).toBe(200);
    expect(await started.json()).toMatchObject({ percent: 20, run: { status: "running", step: 1, steps: 2 }, plan: [{ state: "current" }, { state: "next" }] });
    expect((await liveRules()).rules.rollout).toMatchObject({ id: "release-42", percent: 20 });

    const paused = await command("pause", { reason: "watching the dashboards" });
    expect(await paused.json()).toMatchObject({ run: { status: "paused", note: "paused by admin-token: watching the dashboards" } });
    expect(await (await command("resume")).json()).toMatchObject({ percent: 20, run: { status: "running", note: "resumed by admin-token" } });
    const aborted = await command("abort", { reason: "wrong build" });
    expect(await aborted.json()).toMatchObject({ percent: 0, run: { status: "aborted", note: "aborted by admin-token" } });
    expect((await liveRules()).rules.rollout.percent).toBe(0);
    expect(await historyActions()).toEqual(["replace by alice", "rollout-start by admin-token", "rollout-abort by admin-token"]);
  });

  it("starts a plan given with the start (canary release --plan) in the same revision, and refuses a bad one changing nothing", async () => {
    await commitDoc(canaryDoc({ id: "given", percent: 0, analysis: {} }));
    const before = await kvSnapshot();
    const bad = await command("start", { rolloutId: "build-9", plan: { steps: [{ percent: 50, dwellSeconds: 600 }, { percent: 10, dwellSeconds: 600 }] } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "invalid_request", issues: [{ path: "$.plan.steps", message: "step percents must increase" }] });
    expect(await kvSnapshot()).toEqual(before);

    const plan = { steps: [{ percent: 5, dwellSeconds: 600 }, { percent: 100, dwellSeconds: 600 }] };
    const started = await command("start", { rolloutId: "build-9", plan });
    expect(started.status).toBe(200);
    expect(await started.json()).toMatchObject({ percent: 5, run: { rolloutId: "build-9", status: "running", step: 1, steps: 2 } });
    expect((await liveRules()).rules.rollout).toMatchObject({ id: "build-9", percent: 5, plan });
    expect(await historyActions()).toEqual(["replace by alice", "rollout-start by admin-token"]);
  });

  it("shows the run, the plan, the current step, the analysis, the latch and each colour's health", async () => {
    await commitDoc(canaryDoc(PLANNED));
    clock.set(clock.start + 5000);
    await command("start");
    const now = await visitors(20);
    expect((await status()).currentWindow).toMatchObject({ canary: { requests: now.green }, stable: { requests: now.blue } });

    const served = await trafficWindow(clock, 1); // the first window that lies wholly within step 1
    const body = await status();
    expect(body).toMatchObject({
      stable: "blue",
      canary: "green",
      percent: 20,
      run: { status: "running", step: 1, steps: 2, since: new Date(clock.start + 5000).toISOString(), note: "started by admin-token" },
      plan: [
        { percent: 20, dwellSeconds: 600, state: "current" },
        { percent: 100, dwellSeconds: 600, state: "next" },
      ],
      analysis: { enabled: true, settings: { windowSeconds: 60, minRequests: 50, failingWindows: 2, method: "sequential", confidence: 99.997 }, failingStreak: 0, latch: null },
      lastWindow: {
        start: new Date(clock.start + WINDOW_MS).toISOString(),
        verdict: "not-enough-data",
        canary: { requests: served.green, errors: 0, errorRate: 0 },
        stable: { requests: served.blue, errors: 0, errorRate: 0 },
      },
    });
    expect(body.run?.nextStepAfter).toBe(new Date(clock.start + 5000 + 600_000).toISOString());
    expect(body.lastWindow!.canary.p95).toBeGreaterThan(0);
    expect(body.recentWindows.map((w) => w.verdict)).toEqual(["not-enough-data"]);
  });

  it("answers a bad body with 400 and where it is wrong, and nothing changes", async () => {
    await commitDoc(canaryDoc(PLANNED));
    await command("start");
    const before = { kv: await kvSnapshot(), status: await status() };

    const notJson = await command("pause", "{");
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: "invalid_json", issues: [{ path: "$" }] });
    const badStart = await command("start", { rolloutId: "no spaces allowed", extra: 1 });
    expect(badStart.status).toBe(400);
    expect(await badStart.json()).toMatchObject({ error: "invalid_request", issues: [{ path: "$.rolloutId" }, { path: "$" }] });
    for (const verb of ["pause", "resume", "abort"] as const) {
      const response = await command(verb, { reason: "" });
      expect(response.status, verb).toBe(400);
      expect(await response.json()).toMatchObject({ error: "invalid_request", issues: [{ path: "$.reason" }] });
    }

    expect(await kvSnapshot()).toEqual(before.kv);
    expect(await status()).toEqual(before.status);
  });

  it("answers a command that does not fit the rollout's state with 409 and why", async () => {
    await commitDoc(canaryDoc({ id: "no-plan", percent: 0 }));
    const start = await command("start");
    expect(start.status).toBe(409);
    expect(await start.json()).toMatchObject({ error: "no_plan" });
    const pause = await command("pause");
    expect(pause.status).toBe(409);
    expect(await pause.json()).toEqual({ error: "rollout_not_running", message: "cannot pause: no rollout has been started" });
    expect(await historyActions()).toEqual(["replace by alice"]);
  });

  it("shows an operator's revert in the status at once, before the engine's next alarm", async () => {
    await commitDoc(canaryDoc(PLANNED));
    await command("start");
    expect((await admin("/revert", { body: { reason: "checkout errors" } })).status).toBe(200);
    const { run, percent } = await status();
    expect(percent).toBe(0);
    expect(run).toMatchObject({ status: "aborted", note: `reverted by admin-token (revision ${(await liveRules()).revision})` });
  });
});
