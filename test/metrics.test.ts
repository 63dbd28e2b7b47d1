import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { addOutcome, emptyHealth } from "../worker/core/analysis/health.ts";
import type { SlotReport } from "../worker/core/analysis/windows.ts";
import { dataPoint, LATENCY_BANDS_MS } from "../worker/control/analysis/metrics.ts";
import { analysis, fakeClock, resetAnalysis } from "./analysis-helpers.ts";

/** Analytics Engine metrics: one point per colour per batch when the optional binding exists, nothing otherwise. */

function report(colour: "blue" | "green", outcomes: [status: number, ms: number][], tester = false, slot = 1_700_000_000_000): SlotReport {
  const health = emptyHealth();
  for (const [status, ms] of outcomes) addOutcome(health, status, ms);
  return { slot, rolloutId: "metrics", colour, tester, health };
}

describe("Analytics Engine data points", () => {
  it("carry rollout, colour and who, then counts, errors and latency bands", () => {
    const point = dataPoint(report("green", [[200, 20], [503, 80], [200, 300], [200, 9000]], true));
    expect(point.blobs).toEqual(["metrics", "green", "tester"]);
    expect(point.indexes).toEqual(["metrics"]);
    expect(point.doubles).toEqual([1_700_000_000_000, 4, 1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1]);
    expect(point.doubles!.length).toBe(5 + LATENCY_BANDS_MS.length);
    expect(dataPoint(report("blue", [])).blobs![2]).toBe("visitor");
    expect(dataPoint({ ...report("green", []), skew: true }).blobs).toEqual(["metrics", "green", "skew"]);
  });
});

describe("the analysis object's metrics", () => {
  let clock: ReturnType<typeof fakeClock>;
  beforeEach(async () => {
    await resetAnalysis();
    clock = fakeClock();
  });
  afterEach(() => vi.restoreAllMocks());

  it("writes one point per report with the binding, and stores exactly what it stores without it", async () => {
    const slot = clock.start;
    const reports = [report("blue", [[200, 20]], false, slot), report("green", [[503, 40]], false, slot), report("green", [[200, 10]], true, slot)];
    const stored = async () => runInDurableObject(analysis(), async (_, state) => Object.fromEntries(await state.storage.list({ prefix: "slot:" })));

    await analysis().record(reports);
    const without = await stored();
    await resetAnalysis();

    const points: AnalyticsEngineDataPoint[] = [];
    await runInDurableObject(analysis(), async (instance) => {
      const self = instance as unknown as { env: Record<string, unknown> };
      self.env = { ...self.env, CANARY_METRICS: { writeDataPoint: (point: AnalyticsEngineDataPoint) => points.push(point) } };
      await instance.record(reports);
    });
    expect(points).toEqual(reports.map(dataPoint));
    expect(await stored()).toEqual(without);
  });
});
