import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SETTLE_MS } from "../worker/core/analysis/windows.ts";
import { ENGINE } from "../worker/control/rollout/engine.ts";
import { readHistory } from "../worker/control/release/kv-layout.ts";
import { env } from "cloudflare:workers";
import {
  analysis,
  analysisEnv,
  canaryDoc,
  commitDoc,
  fakeClock,
  greenFails,
  historyActions,
  liveRules,
  resetAnalysis,
  runAlarm,
  visitAndFlush,
  visitors,
  trafficWindow,
  webhookCalls,
  WINDOW_MS,
} from "./analysis-helpers.ts";

const WINDOW = WINDOW_MS;
const ANALYSIS = { windowSeconds: 60, minRequests: 10, maxErrorRate: 5, failingWindows: 2, method: "thresholds" as const };

describe("automatic rollback", { timeout: 20_000 }, () => {
  let clock: ReturnType<typeof fakeClock>;
  beforeEach(async () => {
    await resetAnalysis();
    clock = fakeClock();
  });
  afterEach(() => vi.restoreAllMocks());

  const window = (n: number, count?: number) => trafficWindow(clock, n, count);

  it("rolls a green canary that starts failing back by itself after the configured failing windows, with the numbers", async () => {
    await commitDoc(canaryDoc({ id: "fails", percent: 50, analysis: { ...ANALYSIS, webhook: `${analysisEnv.WEBHOOK_URL}/hook` } }));

    const first = await window(0);
    expect(first.green).toBeGreaterThanOrEqual(10);
    expect((await analysis().status()).lastWindow?.verdict).toBe("healthy");

    await greenFails(1);
    await window(1);
    let status = await analysis().status();
    expect(status.lastWindow?.verdict).toBe("failing");
    expect(status.analysis.failingStreak).toBe(1);
    expect((await liveRules()).rules.rollout.percent).toBe(50);

    await window(2);
    const { rules, revision } = await liveRules();
    expect(rules.rollout.percent).toBe(0);
    const [entry] = await readHistory(env.CANARY_KV);
    expect(entry).toMatchObject({ action: "auto-rollback", updatedBy: ENGINE, revision });
    expect(entry!.reason).toMatch(/^canary green failed 2 consecutive 60 s windows: \[\d\d:01:00-\d\d:02:00\] error rate 100\.0% \(\d+ of \d+\) > 5%; \[/);
    expect(entry!.changes).toEqual(["rollout.percent: 50 → 0"]);

    status = await analysis().status();
    expect(status.analysis.latch).toMatchObject({ revision, reason: entry!.reason });

    const calls = await webhookCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.contentType).toBe("application/json");
    expect(calls[0]!.body).toMatchObject({ event: "auto-rollback", rolloutId: "fails", canary: "green", revision, reason: entry!.reason });
    expect(calls[0]!.body.text).toContain("rolled back the green canary");

    await visitAndFlush("/", { ip: "198.51.99.1", flush: false }); // the rollback reaches the edge in the background (beacon or KV mirror), not on a visitor's path
    expect(await visitors(20)).toEqual({ blue: 20, green: 0 });
  });

  it("rolls back once per incident: a canary that keeps failing after the rollback is not rolled back again", async () => {
    await commitDoc(canaryDoc({ id: "once", percent: 50, analysis: { ...ANALYSIS, minRequests: 5 } }));
    await greenFails(1);
    await window(0);
    await window(1);
    expect(await historyActions()).toEqual(["replace by alice", `auto-rollback by ${ENGINE}`]);

    // Testers still reach the broken green with the override cookie: counted apart, never judged.
    for (let n = 2; n < 5; n++) {
      clock.set(clock.start + n * WINDOW + 1000);
      for (let i = 0; i < 10; i++) await visitAndFlush("/?__canary=green", { ip: `192.0.2.${i + 1}` });
      clock.set(clock.start + (n + 1) * WINDOW + SETTLE_MS);
      await runAlarm();
    }
    expect((await analysis().status()).currentWindow?.testers.canary.requests).toBe(0);
    expect(await historyActions()).toEqual(["replace by alice", `auto-rollback by ${ENGINE}`]);
  });

  it("keeps tester traffic out of the judgment: testers forcing a failing canary are shown apart, and nothing rolls back", async () => {
    await commitDoc(canaryDoc({ id: "testers", percent: 10, analysis: { ...ANALYSIS, minRequests: 5, failingWindows: 1 } }));
    await greenFails(1);
    clock.set(clock.start + 1000);
    for (let i = 0; i < 20; i++) await visitAndFlush("/?__canary=green", { ip: `192.0.2.${i + 1}` });
    await visitors(20);
    clock.set(clock.start + WINDOW + SETTLE_MS);
    await runAlarm();
    const window = (await analysis().status()).lastWindow!;
    expect(window.testers.canary).toMatchObject({ requests: 20, errors: 20, errorRate: 100 });
    expect(window.canary.requests).toBeLessThan(5);
    expect(window.verdict).toBe("not-enough-data");
    expect(await historyActions()).toEqual(["replace by alice"]);
  });

  it("statistical verdict (the default): a failing canary is rolled back after one window, the numbers in the reason", async () => {
    await commitDoc(canaryDoc({ id: "sequential", percent: 50, analysis: { windowSeconds: 60, minRequests: 10 } }));
    await window(0, 80);
    expect((await analysis().status()).lastWindow).toMatchObject({ verdict: "healthy", conclusive: false });
    await greenFails(1);
    await window(1, 80);
    expect((await liveRules()).rules.rollout.percent).toBe(0);
    const [entry] = await readHistory(env.CANARY_KV);
    expect(entry).toMatchObject({ action: "auto-rollback", updatedBy: ENGINE });
    expect(entry!.reason).toMatch(
      /^canary green is worse than stable \(sequential test, \[\d\d:01:00-\d\d:02:00\]\): errors: canary 100\.0% \(\d+ of \d+\) vs stable 0\.0% \(0 of \d+\), above stable's at 99\.997% confidence$/,
    );
  });

  it("never trips on too few requests, however bad they are", async () => {
    await commitDoc(canaryDoc({ id: "quiet", percent: 50, analysis: { ...ANALYSIS, minRequests: 50 } }));
    await greenFails(1);
    for (let n = 0; n < 4; n++) {
      const served = await window(n, 20);
      expect(served.green).toBeGreaterThan(0);
    }
    const status = await analysis().status();
    expect(status.recentWindows.map((w) => w.verdict)).toEqual(["not-enough-data", "not-enough-data", "not-enough-data", "not-enough-data"]);
    expect(status.recentWindows[3]!.canaryErrorRate).toBe(100);
    expect((await liveRules()).rules.rollout.percent).toBe(50);
    expect(await historyActions()).toEqual(["replace by alice"]);
  });

  it("does not roll back a flapping origin whose failing windows are never consecutive, and does once they are", async () => {
    await commitDoc(canaryDoc({ id: "flaps", percent: 50, analysis: { ...ANALYSIS, minRequests: 5 } }));
    for (let n = 0; n < 6; n++) {
      await greenFails(n % 2 === 0 ? 1 : 0);
      await window(n, 20);
    }
    const status = await analysis().status();
    expect(status.recentWindows.map((w) => w.verdict)).toEqual(["failing", "healthy", "failing", "healthy", "failing", "healthy"]);
    expect((await liveRules()).rules.rollout.percent).toBe(50);

    await greenFails(1);
    await window(6, 20);
    expect((await liveRules()).rules.rollout.percent).toBe(50);
    await window(7, 20);
    expect((await liveRules()).rules.rollout.percent).toBe(0);
    expect(await historyActions()).toEqual(["replace by alice", `auto-rollback by ${ENGINE}`]);
  });

  it("rolls back on latency too: p95 above the absolute limit and above the allowed multiple of stable", async () => {
    await commitDoc(canaryDoc({ id: "slow", percent: 50, analysis: { ...ANALYSIS, failingWindows: 1, maxP95Ms: 300, maxP95Ratio: 2 } }));
    const slow = await fetch(`${analysisEnv.FLAKY_GREEN_ORIGIN}/__demo/slow?ms=400`, { method: "POST" });
    expect(slow.status).toBe(200);
    try {
      await window(0, 30);
    } finally {
      await fetch(`${analysisEnv.FLAKY_GREEN_ORIGIN}/__demo/slow?ms=0`, { method: "POST" });
    }
    const [entry] = await readHistory(env.CANARY_KV);
    expect(entry?.action).toBe("auto-rollback");
    expect(entry!.reason).toMatch(/p95 \d+ ms > 300 ms/);
    expect(entry!.reason).toMatch(/p95 \d+ ms > 2 × stable p95 \d+ ms/);
  });

  it("without analysis settings it only watches: health is shown, nothing is rolled back", async () => {
    await commitDoc(canaryDoc({ id: "watch", percent: 100 }));
    await greenFails(1);
    clock.set(clock.start + 1000);
    await visitors(50);
    clock.set(clock.start + WINDOW + SETTLE_MS);
    await runAlarm();
    clock.set(clock.start + 2 * WINDOW + SETTLE_MS);
    await runAlarm();
    const status = await analysis().status();
    expect(status.analysis.enabled).toBe(false);
    expect(status.recentWindows[0]).toMatchObject({ verdict: "failing", canaryErrorRate: 100 });
    expect((await liveRules()).rules.rollout.percent).toBe(100);
  });
});
