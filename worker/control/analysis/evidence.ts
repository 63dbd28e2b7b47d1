import type { Histogram } from "../../core/analysis/histogram.ts";
import type { Health } from "../../core/analysis/health.ts";

/**
 * The statistical verdict's arithmetic, with no I/O: a sequential test (CUSUM of likelihood ratios)
 * that adds up, window after window, the evidence that the canary has more errors, or slower
 * latencies, than stable in the same windows. Comparing with stable makes it independent of the
 * traffic level and of stable's own error rate; adding up windows lets a quiet canary be judged at
 * all, and a loud failure after one window.
 *
 * Errors: given both colours' error counts, the canary's share of them depends only on the ratio r
 * of the two rates (Poisson counts, conditioned on their sum): π(r) = n_c·r / (n_c·r + n_s). Each window adds the log-likelihood ratio of "r is
 * ALTERNATIVES × the tolerated ratio" against "r is the tolerated ratio"; a sum never goes below 0
 * (the CUSUM), and any sum reaching the threshold trips. By Lorden's bound a sum reaches h on
 * healthy traffic at most once in e^h windows, so h = ln(sums / (1 − confidence)). Latency: a
 * permutation test on the histogram (a rank score and a shift score) with the same discipline
 * (`addRankWindow`).
 */

/** The alternatives each test watches for, as multiples of the tolerated ratio: a small rise and a large one. */
export const ALTERNATIVES = [2, 5] as const;
/**
 * The latency test's two sums (see `addRankWindow`): a rank score tilted by θ = `TILT`, which gains
 * evidence once the canary's requests rank above 58% of the window's on average (about +15% on a
 * log-normal σ 0.5), and a shift score: "the canary's latencies are the window's, `SHIFT` buckets
 * (×1.41) slower". Ranks see a slowdown that reorders the two colours; the shift score also sees one
 * inside each hump of a many-humped distribution (cache hits and misses), where ranks barely move.
 */
export const TILT = 2;
export const SHIFT = 2;
/** The latency sums' names, in the order of `Track.scores`. */
export const LATENCY_SUMS = ["rank", "shift"] as const;
/** A shift score's cap, in nats per request: the lighter the tail of a window's evidence, the rarer a healthy window's jump to the threshold (at ±3 one window of 62 healthy requests jumped to 12.2). */
const SHIFT_CAP = 1;

export type Metric = "errors" | "slow";

/**
 * One test's running state: a CUSUM per alternative, and the counts added up since they were all 0
 * (for people): errors, or (latency) requests above the median of their window's pooled latencies.
 */
export interface Track {
  scores: number[];
  canary: { bad: number; requests: number };
  stable: { bad: number; requests: number };
}

export interface Evidence extends Record<Metric, Track> {
  /** Windows with canary requests since the evidence started (absent in a state saved before it existed: warm-up over). */
  windows?: number;
}

const emptyTrack = (): Track => ({ scores: [0, 0], canary: { bad: 0, requests: 0 }, stable: { bad: 0, requests: 0 } });

/** No evidence yet: a new rollout, a new canary colour, or just after a rollback. */
export function noEvidence(): Evidence {
  return { errors: emptyTrack(), slow: emptyTrack(), windows: 0 };
}

/** The score a test must reach to trip, for a confidence in percent (99.997 → once in about 33,000 healthy windows at most). */
export function threshold(confidence: number): number {
  return Math.log((ALTERNATIVES.length + LATENCY_SUMS.length) / (1 - confidence / 100));
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
  return advance(track, scores, { bad: canaryBad, requests: canaryRequests }, { bad: stableBad, requests: stableRequests });
}

type Counts = Track["canary"];

/** A track's new sums, with the window's counts added to those since the sums were last all 0. */
function advance(track: Track, scores: number[], canary: Counts, stable: Counts): Track {
  const fresh = track.scores.every((s) => s === 0);
  const add = (before: Counts, now: Counts) => (fresh ? now : { bad: before.bad + now.bad, requests: before.requests + now.requests });
  if (scores.every((s) => s === 0)) return { ...emptyTrack(), scores };
  return { scores, canary: add(track.canary, canary), stable: add(track.stable, stable) };
}

/**
 * Adds one window to the latency track: a sequential rank test (Mann-Whitney on the histogram
 * buckets), distribution-free and needing no minimum sample. Both colours' latencies are pooled;
 * each request gets a score g(bucket) computed from the pool alone, never from which colour a request
 * came from. If the canary is no slower than stable, its n requests are a random draw from the pool,
 * without replacement, so (Hoeffding 1963) E[e^(S)], S the sum of the canary's scores, is at most
 * M^n with M the pool's mean of e^g: each window's S − n·ln M is a log-likelihood ratio whose
 * exponential has mean at most 1, and the CUSUM's bound (once in e^h windows) holds whatever the
 * latencies' shape and whatever g, for a window of 1 request or of a million. Two scores:
 * - rank: θ·u, with u the bucket's mid-rank (the share of the pool below it, plus half its own) less 1/2;
 * - shift: ln((pool(b − SHIFT) + 1) / (pool(b) + 1)), capped at ±SHIFT_CAP: the log-ratio of "the
 *   pool, SHIFT buckets slower" to the pool itself, a likelihood ratio for a slowdown estimated
 *   from the window (the +1 keeps a sparse bucket from weighing like a full one).
 *
 * `tolerance` buckets (4 per doubling) are taken off every canary latency first: the canary may be
 * that much slower than stable.
 */
export function addRankWindow(track: Track, canary: Histogram, stable: Histogram, tolerance = 0): Track {
  // Integer keys enumerate in ascending order: both histograms are walked side by side, no sort.
  const canaryBuckets = Object.keys(canary);
  const stableBuckets = Object.keys(stable);
  let n = 0;
  let m = 0;
  for (const bucket of canaryBuckets) n += canary[bucket]!;
  for (const bucket of stableBuckets) m += stable[bucket]!;
  if (n === 0 || m === 0) return track;
  const total = n + m;
  let below = 0;
  let sum = 0;
  let mgf = 0;
  const slower = { canary: 0, stable: 0 };
  // The pool per bucket (canary buckets less the tolerance), in ascending order, for the shift score.
  const at: number[] = [];
  const canaryAt: number[] = [];
  const poolAt: number[] = [];
  for (let i = 0, j = 0; i < canaryBuckets.length || j < stableBuckets.length; ) {
    const atCanary = i < canaryBuckets.length ? Number(canaryBuckets[i]) - tolerance : Number.POSITIVE_INFINITY;
    const atStable = j < stableBuckets.length ? Number(stableBuckets[j]) : Number.POSITIVE_INFINITY;
    const c = atCanary <= atStable ? canary[canaryBuckets[i++]!]! : 0;
    const s = atStable <= atCanary ? stable[stableBuckets[j++]!]! : 0;
    // The score centred on the pool's mean (u − 1/2): all-tied requests then give exactly 0, not rounding noise.
    const u = (below + (c + s) / 2) / total - 0.5;
    if (below >= total / 2) [slower.canary, slower.stable] = [slower.canary + c, slower.stable + s];
    sum += c * u;
    mgf += (c + s) * Math.exp(TILT * u);
    below += c + s;
    at.push(Math.min(atCanary, atStable));
    canaryAt.push(c);
    poolAt.push(c + s);
  }
  // The shift score: the pool SHIFT buckets lower, looked up by walking a second index behind the first.
  let lag = 0;
  const g = at.map((bucket, k) => {
    while (at[lag]! < bucket - SHIFT) lag++;
    const from = at[lag] === bucket - SHIFT ? poolAt[lag]! : 0;
    return Math.max(-SHIFT_CAP, Math.min(SHIFT_CAP, Math.log((from + 1) / (poolAt[k]! + 1))));
  });
  // Centred on the largest score, so that a score equal in every bucket gives exactly 0, not rounding noise.
  const top = Math.max(...g);
  let shifted = 0;
  let shiftMgf = 0;
  g.forEach((score, k) => {
    shifted += canaryAt[k]! * (score - top);
    shiftMgf += poolAt[k]! * Math.exp(score - top);
  });
  const llrs = [TILT * sum - n * Math.log(mgf / total), shifted - n * Math.log(shiftMgf / total)];
  const scores = llrs.map((llr, t) => Math.max(0, track.scores[t]! + llr));
  return advance(track, scores, { bad: slower.canary, requests: n }, { bad: slower.stable, requests: m });
}

/** Whole histogram buckets (4 per doubling) in a latency multiple: 1.5 → 2 (×1.41), 2 → 4. */
export function toleratedBuckets(ratio: number): number {
  return Math.round(4 * Math.log2(ratio));
}

/**
 * One window added to the evidence: errors against stable's errors, latencies ranked against
 * stable's. During the canary's first `warmupSeconds` of traffic (cold caches, a fresh isolate)
 * latency adds nothing; errors always count.
 */
export function addEvidence(
  evidence: Evidence,
  canary: Health,
  stable: Health,
  settings: { errorRatio: number; slowRatio: number; warmupSeconds: number; windowSeconds: number },
): Evidence {
  const { windows } = evidence;
  const warm = windows === undefined || windows * settings.windowSeconds >= settings.warmupSeconds;
  return {
    errors: addWindow(evidence.errors, canary.errors, canary.requests, stable.errors, stable.requests, settings.errorRatio),
    slow: warm ? addRankWindow(evidence.slow, canary.latency, stable.latency, toleratedBuckets(settings.slowRatio)) : evidence.slow,
    ...(windows === undefined ? {} : { windows: canary.requests > 0 ? windows + 1 : windows }),
  };
}

