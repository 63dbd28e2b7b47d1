import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUCKETS, bucketOf, inCanary } from "../worker/core/bucketing.ts";

const percent = fc.integer({ min: 0, max: 10_000 }).map((hundredths) => hundredths / 100);

describe("bucketing", () => {
  it("gives the same visitor the same bucket every time, within 0..9999", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (rollout, key) => {
        const bucket = bucketOf(rollout, key);
        expect(bucketOf(rollout, key)).toBe(bucket);
        expect(bucket).toBeGreaterThanOrEqual(0);
        expect(bucket).toBeLessThan(BUCKETS);
        expect(Number.isInteger(bucket)).toBe(true);
      }),
    );
  });

  it("never moves a canary visitor back to stable when the percentage goes up (monotone ramp)", () => {
    const ids = Array.from({ length: 2_000 }, (_, i) => `user-${i}`);
    fc.assert(
      fc.property(percent, percent, (a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        for (const id of ids) {
          const bucket = bucketOf("ramp", id);
          if (inCanary(bucket, low)) expect(inCanary(bucket, high)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("moves only the visitors above the new line when the percentage goes down", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 50, maxLength: 200 }), percent, percent, (ids, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        for (const id of ids) {
          const bucket = bucketOf("down", id);
          const moved = inCanary(bucket, high) && !inCanary(bucket, low);
          expect(moved).toBe(bucket >= Math.round(low * 100) && bucket < Math.round(high * 100));
        }
      }),
    );
  });

  it("sends nobody to the canary at 0% and everybody at 100%", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: BUCKETS - 1 }), (bucket) => {
        expect(inCanary(bucket, 0)).toBe(false);
        expect(inCanary(bucket, 100)).toBe(true);
      }),
    );
  });

  it("resolves 0.01% steps: each step adds exactly one bucket", () => {
    const canaryBuckets = (p: number) => Array.from({ length: BUCKETS }, (_, b) => b).filter((b) => inCanary(b, p)).length;
    expect(canaryBuckets(0.01)).toBe(1);
    expect(canaryBuckets(0.07)).toBe(7);
    expect(canaryBuckets(12.34)).toBe(1234);
  });

  it("spreads 100,000 IDs uniformly: 10% of them land within ±0.5% of the canary", () => {
    for (const rollout of ["r1", "2026-11-checkout", "x"]) {
      let canary = 0;
      for (let i = 0; i < 100_000; i++) if (inCanary(bucketOf(rollout, `id:${i}`), 10)) canary++;
      const share = canary / 100_000;
      console.log(`uniformity: rollout ${rollout}: ${(share * 100).toFixed(3)}% of 100,000 sequential IDs at 10%`);
      expect(Math.abs(share - 0.1)).toBeLessThan(0.005);
    }
  });

  it("spreads buckets evenly across all ten deciles (chi-square, 9 d.o.f., p > 0.001)", () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[Math.floor(bucketOf("chi", `user-${i}@example.com`) / 1000)]++;
    const chi = counts.reduce((sum, n) => sum + (n - 10_000) ** 2 / 10_000, 0);
    expect(chi).toBeLessThan(27.88);
  });

  it("picks a different cohort for a new rollout id", () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `u${i}`);
    const first = new Set(ids.filter((id) => inCanary(bucketOf("release-1", id), 10)));
    const second = ids.filter((id) => inCanary(bucketOf("release-2", id), 10));
    const overlap = second.filter((id) => first.has(id)).length / second.length;
    expect(overlap).toBeGreaterThan(0.05);
    expect(overlap).toBeLessThan(0.15);
  });
});
