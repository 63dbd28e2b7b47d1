import { type Histogram, upperBound } from "../../core/analysis/histogram.ts";
import type { Health } from "../../core/analysis/health.ts";

/**
 * The statistical verdict's arithmetic, with no I/O: a sequential test (CUSUM of likelihood ratios)
 * that adds up, window after window, the evidence that the canary has more errors, or more slow
 * requests, than stable in the same windows. Comparing with stable makes it independent of the
 * traffic level and of stable's own error rate; adding up windows lets a quiet canary be judged at
 * all, and a loud failure after one window.
 *
 * Given both colours' counts of bad requests (errors, or requests slower than stable's p95), the
 * canary's share of them depends only on the ratio r of the two rates (Poisson counts, conditioned
 * on their sum): π(r) = n_c·r / (n_c·r + n_s). Each window adds the log-likelihood ratio of "r is
 * ALTERNATIVES × the tolerated ratio" against "r is the tolerated ratio"; a sum never goes below 0
 * (the CUSUM), and any sum reaching the threshold trips. By Lorden's bound a sum reaches h on
 * healthy traffic at most once in e^h windows, so h = ln(tests / (1 − confidence)).
 */

/** The alternatives each test watches for, as multiples of the tolerated ratio: a small rise and a large one. */
export const ALTERNATIVES = [2, 5] as const;
/** Stable needs this many requests in a window before its p95 is a fair line for "slow". */
export const MIN_STABLE_FOR_LATENCY = 100;

export type Metric = "errors" | "slow";

/** One test's running state: a CUSUM per alternative, and the counts added up since they were all 0 (for people). */
export interface Track {
  scores: number[];
  canary: { bad: number; requests: number };
  stable: { bad: number; requests: number };
}

export type Evidence = Record<Metric, Track>;

const emptyTrack = (): Track => ({ scores: ALTERNATIVES.map(() => 0), canary: { bad: 0, requests: 0 }, stable: { bad: 0, requests: 0 } });

/** No evidence yet: a new rollout, a new canary colour, or just after a rollback. */
export function noEvidence(): Evidence {
  return { errors: emptyTrack(), slow: emptyTrack() };
}

/** The score a test must reach to trip, for a confidence in percent (99.997 → once in about 33,000 healthy windows at most). */
export function threshold(confidence: number): number {
  return Math.log((2 * ALTERNATIVES.length) / (1 - confidence / 100));
}

/** The strongest of a track's sums. */
export function score(track: Track): number {
  return Math.max(...track.scores);
}

/**
 * Adds one window to a track: `canaryBad` of `canaryRequests` against `stableBad` of
 * `stableRequests`, tolerating a canary rate up to `tolerated` × stable's.
 */
export function addWindow(track: Track, canaryBad: number, canaryRequests: number, stableBad: number, stableRequests: number, tolerated: number): Track {
  if (canaryRequests === 0 || stableRequests === 0) return track;
  const share = (ratio: number) => (canaryRequests * ratio) / (canaryRequests * ratio + stableRequests);
  const p0 = share(tolerated);
  const scores = ALTERNATIVES.map((factor, i) => {
    const p1 = share(tolerated * factor);
    const llr = canaryBad * Math.log(p1 / p0) + stableBad * Math.log((1 - p1) / (1 - p0));
    return Math.max(0, track.scores[i]! + llr);
  });
  const fresh = track.scores.every((s) => s === 0);
  const add = (before: { bad: number; requests: number }, bad: number, requests: number) =>
    fresh ? { bad, requests } : { bad: before.bad + bad, requests: before.requests + requests };
  if (scores.every((s) => s === 0)) return { ...emptyTrack(), scores };
  return { scores, canary: add(track.canary, canaryBad, canaryRequests), stable: add(track.stable, stableBad, stableRequests) };
}

/**
 * Requests slower than stable's p95 in this window, per colour: the line is the upper bound of the
 * bucket holding stable's p95, so at most 5% of stable is above it, and the canary is compared at
 * the same line. Null when stable had too few requests for a fair line.
 */
export function slowCounts(canary: Histogram, stable: Histogram): { line: number; canary: number; stable: number } | null {
  let stableTotal = 0;
  for (const bucket in stable) stableTotal += stable[bucket]!;
  if (stableTotal < MIN_STABLE_FOR_LATENCY) return null;
  let seen = 0;
  let line = 0;
  for (const bucket in stable) {
    // integer keys: ascending order
    seen += stable[bucket]!;
    line = Number(bucket);
    if (seen >= 0.95 * stableTotal) break;
  }
  const above = (histogram: Histogram) => {
    let sum = 0;
    for (const bucket in histogram) if (Number(bucket) > line) sum += histogram[bucket]!;
    return sum;
  };
  return { line: upperBound(line), canary: above(canary), stable: above(stable) };
}

/** One window added to the evidence: errors against stable's errors, slow requests against stable's slow ones. */
export function addEvidence(evidence: Evidence, canary: Health, stable: Health, tolerated: { errorRatio: number; slowRatio: number }): Evidence {
  const slow = slowCounts(canary.latency, stable.latency);
  return {
    errors: addWindow(evidence.errors, canary.errors, canary.requests, stable.errors, stable.requests, tolerated.errorRatio),
    slow: slow ? addWindow(evidence.slow, slow.canary, canary.requests, slow.stable, stable.requests, tolerated.slowRatio) : evidence.slow,
  };
}

