import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addOutcome, emptyHealth, mergeHealth, summarize } from "../worker/core/analysis/health.ts";
import { addLatency, type Histogram, mergeHistograms, quantile } from "../worker/core/analysis/histogram.ts";

const latencies = fc.array(fc.double({ min: 0, max: 120_000, noNaN: true }), { minLength: 1, maxLength: 300 });

function histogramOf(values: number[]): Histogram {
  const histogram: Histogram = {};
  for (const value of values) addLatency(histogram, value);
  return histogram;
}

/** The exact q-quantile by the same rank rule: the ceil(q·n)-th smallest value. */
function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(q * sorted.length) - 1]!;
}

describe("latency histogram", () => {
  it("reports a quantile at or above the true one, and at most about 19% (plus rounding) above it", () => {
    fc.assert(
      fc.property(latencies, fc.constantFrom(0.5, 0.95, 0.99), (values, q) => {
        const reported = quantile(histogramOf(values), q)!;
        const exact = exactQuantile(values, q);
        expect(reported).toBeGreaterThanOrEqual(exact);
        expect(reported).toBeLessThanOrEqual(Math.max(exact, 1) * 2 ** 0.25 + 1);
      }),
    );
  });

  it("merges like counting everything in one place, in any order", () => {
    fc.assert(
      fc.property(latencies, latencies, (a, b) => {
        expect(mergeHistograms(histogramOf(a), histogramOf(b))).toEqual(histogramOf([...a, ...b]));
        expect(mergeHistograms(histogramOf(a), histogramOf(b))).toEqual(mergeHistograms(histogramOf(b), histogramOf(a)));
      }),
    );
  });

  it("has no quantile without data, and puts sub-millisecond latencies in the first bucket", () => {
    expect(quantile({}, 0.95)).toBeNull();
    expect(quantile(histogramOf([0, 0.2, 1]), 0.99)).toBe(1);
    // 100 ms falls in the bucket (90.5, 107.6]: reported as its upper bound, rounded up.
    expect(quantile(histogramOf([100, 100, 100, 5000]), 0.5)).toBe(108);
  });
});

describe("health counts", () => {
  const outcomes = fc.array(
    fc.record({
      status: fc.constantFrom(200, 204, 301, 404, 500, 502, 503, 504),
      ms: fc.nat(10_000),
      failure: fc.constantFrom(undefined, "timeout" as const, "unreachable" as const),
    }),
    { maxLength: 100 },
  );
  const healthOf = (list: { status: number; ms: number; failure?: "timeout" | "unreachable" }[]) => {
    const health = emptyHealth();
    for (const o of list) addOutcome(health, o.status, o.ms, o.failure);
    return health;
  };

  it("merge of two isolates' counts equals one isolate counting both", () => {
    fc.assert(
      fc.property(outcomes, outcomes, (a, b) => {
        expect(mergeHealth(healthOf(a), healthOf(b))).toEqual(healthOf([...a, ...b]));
      }),
    );
  });

  it("counts 5xx as errors and keeps origin failures apart", () => {
    const health = healthOf([
      { status: 200, ms: 10 },
      { status: 404, ms: 10 },
      { status: 500, ms: 10 },
      { status: 504, ms: 30_000, failure: "timeout" },
      { status: 502, ms: 5, failure: "unreachable" },
    ]);
    expect(summarize(health)).toMatchObject({
      requests: 5,
      classes: { "2xx": 1, "4xx": 1, "5xx": 3 },
      errors: 3,
      errorRate: 60,
      timeouts: 1,
      unreachable: 1,
    });
  });

  it("counts a stable answer later than the canary's deadline as a timeout and an error, whatever its status", () => {
    const health = healthOf([
      { status: 200, ms: 31_000, failure: "timeout" },
      { status: 200, ms: 10 },
    ]);
    expect(summarize(health)).toMatchObject({ requests: 2, classes: { "2xx": 2 }, errors: 1, timeouts: 1 });
  });
});
