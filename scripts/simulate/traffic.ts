import { bucketOf } from "../../worker/core/analysis/histogram.ts";
import type { Health } from "../../worker/core/analysis/health.ts";
import type { Random } from "./random.ts";

/**
 * Synthetic traffic for one window and one colour, as the edge would have counted it: Poisson
 * arrivals, errors at a fixed rate, log-normal latencies. Each latency bucket's count is its own
 * Poisson draw (a Poisson stream split by bucket), so a window of 60,000 requests costs a few
 * dozen draws, not 60,000.
 */

/** Latency of a healthy origin: log-normal, median 100 ms, p95 about 230 ms. */
export const MEDIAN_MS = 100;
export const SIGMA = 0.5;

/** Bucket probabilities of the latency distribution scaled by `factor` (1.5 = 50% slower). */
export function bucketShares(factor: number): [bucket: number, share: number][] {
  const mu = Math.log(MEDIAN_MS * factor);
  const cdf = (ms: number) => 0.5 * (1 + erf((Math.log(ms) - mu) / (SIGMA * Math.SQRT2)));
  const shares: [number, number][] = [];
  const first = bucketOf(Math.exp(mu - 6 * SIGMA));
  const last = bucketOf(Math.exp(mu + 6 * SIGMA));
  for (let bucket = first; bucket <= last; bucket++) {
    const low = bucket === 0 ? 0 : cdf(2 ** ((bucket - 1) / 4));
    const share = cdf(2 ** (bucket / 4)) - low;
    if (share > 1e-9) shares.push([bucket, share]);
  }
  return shares;
}

/** One colour's health over one window: `expected` requests on average, `errorRate` of them 5xx. */
export function windowHealth(random: Random, expected: number, errorRate: number, shares: [number, number][]): Health {
  const latency: Record<string, number> = {};
  let requests = 0;
  for (const [bucket, share] of shares) {
    const count = random.poisson(expected * share);
    if (count > 0) latency[bucket] = count;
    requests += count;
  }
  const errors = Math.min(requests, random.poisson(requests * errorRate));
  const classes: Record<string, number> = {};
  if (requests - errors > 0) classes["2xx"] = requests - errors;
  if (errors > 0) classes["5xx"] = errors;
  return { requests, errors, timeouts: 0, unreachable: 0, classes, latency };
}

/** Abramowitz and Stegun 7.1.26 (error below 1.5e-7), enough for bucket shares. */
function erf(x: number): number {
  const sign = Math.sign(x);
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return sign * y;
}
