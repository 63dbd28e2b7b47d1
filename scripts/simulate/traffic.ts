import { bucketOf } from "../../worker/core/analysis/histogram.ts";
import type { Health } from "../../worker/core/analysis/health.ts";
import type { Random } from "./random.ts";

/**
 * Synthetic traffic for one window and one colour, as the edge would have counted it: Poisson
 * arrivals, errors at a fixed rate, latencies of a chosen shape. Each latency bucket's count is its
 * own Poisson draw (a Poisson stream split by bucket), so a window of 60,000 requests costs a few
 * dozen draws, not 60,000.
 */

/** One log-normal part of a latency distribution. */
export interface Part {
  weight: number;
  medianMs: number;
  sigma: number;
}

/** A traffic model: the latency distribution, and whether a fresh canary starts cold. */
export interface Shape {
  name: string;
  /** For people: what the shape is. */
  about: string;
  parts: Part[];
  /**
   * A fresh canary warms up: during its first minutes (from each rollout's start) its latencies are
   * (1 + 2^(−t / 30 s)) × its steady ones (twice as slow at first, the excess halving every 30 s),
   * and in a shape with a cache its hit ratio starts at 0 and closes in on the steady one alike.
   */
  warmup: boolean;
  /** Run only when named with --shape (the grid by default leaves it out, to stay within 3 minutes). */
  extra?: boolean;
}

const lognormal = (medianMs: number, sigma: number): Part[] => [{ weight: 1, medianMs, sigma }];
/** Cache hits (70%, around 15 ms) and misses that go to the backend (30%, around 180 ms). */
const cached: Part[] = [
  { weight: 0.7, medianMs: 15, sigma: 0.4 },
  { weight: 0.3, medianMs: 180, sigma: 0.5 },
];

export const SHAPES: Shape[] = [
  { name: "lognormal-100-0.5", about: "log-normal, median 100 ms, σ 0.5 (p95 about 230 ms)", parts: lognormal(100, 0.5), warmup: false },
  { name: "lognormal-80-0.7", about: "log-normal, median 80 ms, σ 0.7 (p95 about 250 ms)", parts: lognormal(80, 0.7), warmup: false },
  { name: "lognormal-120-0.7", about: "log-normal, median 120 ms, σ 0.7 (p95 about 380 ms)", parts: lognormal(120, 0.7), warmup: false, extra: true },
  { name: "cache", about: "bimodal: 70% cache hits (median 15 ms, σ 0.4), 30% misses (median 180 ms, σ 0.5)", parts: cached, warmup: false },
  { name: "lognormal-100-0.5-warmup", about: "log-normal, median 100 ms, σ 0.5, the canary starting twice as slow", parts: lognormal(100, 0.5), warmup: true },
  { name: "cache-warmup", about: "bimodal cache hits and misses, the canary starting with a cold cache", parts: cached, warmup: true },
];

/** How far a fresh canary still is from warm, `seconds` after its rollout started: 1 at first, 0 once warm. */
export function coldness(shape: Shape, seconds: number): number {
  if (!shape.warmup) return 0;
  const left = 2 ** (-seconds / 30);
  return left < 0.001 ? 0 : Math.round(left * 1000) / 1000;
}

/**
 * Bucket probabilities of the shape, latencies scaled by `factor` (1.5 = 50% slower), `cold` of the
 * way from warm (0) to cold (1): latencies × (1 + cold), and cache hits × (1 − cold).
 */
export function bucketShares(shape: Shape, factor: number, cold = 0): [bucket: number, share: number][] {
  const cache = shape.parts.length > 1;
  const parts = shape.parts.map((part, i) => ({
    ...part,
    medianMs: part.medianMs * factor * (cache ? 1 : 1 + cold),
    weight: cache ? (i === 0 ? part.weight * (1 - cold) : 1 - shape.parts[0]!.weight * (1 - cold)) : part.weight,
  }));
  const cdf = (ms: number) => parts.reduce((sum, p) => sum + p.weight * 0.5 * (1 + erf((Math.log(ms) - Math.log(p.medianMs)) / (p.sigma * Math.SQRT2))), 0);
  const first = Math.min(...parts.map((p) => bucketOf(p.medianMs * Math.exp(-6 * p.sigma))));
  const last = Math.max(...parts.map((p) => bucketOf(p.medianMs * Math.exp(6 * p.sigma))));
  const shares: [number, number][] = [];
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
