import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addOutcome, emptyHealth, type Health } from "../worker/core/analysis/health.ts";
import { judge } from "../worker/control/analysis/verdict.ts";
import { type AnalysisSettings, DEFAULT_ANALYSIS } from "../worker/core/rules.ts";

/** `requests` responses of which `errors` are 503, all taking `ms`. */
function health(requests: number, errors = 0, ms = 20): Health {
  const h = emptyHealth();
  for (let i = 0; i < requests; i++) addOutcome(h, i < errors ? 503 : 200, ms);
  return h;
}

const settings = (over: Partial<AnalysisSettings> = {}): AnalysisSettings => ({ ...DEFAULT_ANALYSIS, minRequests: 20, ...over });

describe("verdict", () => {
  it("is healthy within every threshold", () => {
    const verdict = judge(health(100, 2), health(100), settings({ maxP95Ms: 100, maxP95Ratio: 1.5, maxErrorRateAboveStable: 3 }));
    expect(verdict).toMatchObject({ verdict: "healthy", failures: [] });
    expect(verdict.canary).toMatchObject({ requests: 100, errors: 2, errorRate: 2 });
  });

  it("fails on the absolute error rate, with the numbers", () => {
    const verdict = judge(health(40, 8), health(40), settings({ maxErrorRate: 5 }));
    expect(verdict).toMatchObject({ verdict: "failing", failures: ["error rate 20.0% (8 of 40) > 5%"] });
  });

  it("fails when the canary's error rate exceeds stable's by more than the allowed points", () => {
    const verdict = judge(health(100, 4), health(100, 0), settings({ maxErrorRateAboveStable: 2 }));
    expect(verdict.failures).toEqual(["error rate 4.0% > stable 0.0% + 2 points"]);
    expect(judge(health(100, 4), health(100, 3), settings({ maxErrorRateAboveStable: 2 })).verdict).toBe("healthy");
  });

  it("fails on absolute and relative latency, p95 and p99", () => {
    const verdict = judge(health(50, 0, 400), health(50, 0, 100), settings({ maxP95Ms: 300, maxP99Ms: 350, maxP95Ratio: 2, maxP99Ratio: 3 }));
    // Latencies are reported as their histogram bucket's upper bound: 400 ms as 431, 100 ms as 108.
    expect(verdict.failures).toEqual(["p95 431 ms > 300 ms", "p95 431 ms > 2 × stable p95 108 ms", "p99 431 ms > 350 ms", "p99 431 ms > 3 × stable p99 108 ms"]);
  });

  it("judges on absolute thresholds alone when stable had too few requests to compare with", () => {
    const verdict = judge(health(50, 0, 400), health(3, 0, 10), settings({ maxP95Ratio: 1.1, maxErrorRateAboveStable: 0 }));
    expect(verdict.verdict).toBe("healthy");
  });

  it("never fails a threshold with fewer canary requests than minRequests, whatever they show", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(200), fc.nat(5000), (min, requests, ms) => {
        fc.pre(requests < min);
        const verdict = judge(health(requests, requests, ms), health(1000), settings({ minRequests: min, maxP95Ms: 1, method: "thresholds" }));
        expect(verdict.verdict).toBe("not-enough-data");
      }),
    );
  });

  it("fails exactly when the error rate is above the limit (absolute check alone)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 300 }), fc.nat(300), fc.integer({ min: 0, max: 100 }), (requests, errors, max) => {
        fc.pre(errors <= requests);
        const verdict = judge(health(requests, errors), emptyHealth(), settings({ maxErrorRate: max }));
        expect(verdict.verdict === "failing").toBe((errors / requests) * 100 > max);
      }),
    );
  });
});
