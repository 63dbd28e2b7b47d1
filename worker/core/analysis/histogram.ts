/**
 * Latency histogram with logarithmic buckets, four per doubling (each about 19% wide): a few dozen
 * numbers per colour and window whatever the traffic, mergeable by adding counts, and precise
 * enough for p95/p99 thresholds. Stored sparse: bucket index → count.
 */
export type Histogram = Record<string, number>;

const BUCKETS_PER_DOUBLING = 4;

/** The bucket a latency falls in; bucket 0 holds everything up to 1 ms. */
export function bucketOf(ms: number): number {
  return Math.max(0, Math.ceil(BUCKETS_PER_DOUBLING * Math.log2(Math.max(ms, 1))));
}

/** A bucket's upper bound, rounded up to whole milliseconds, so a reported quantile is never below the true one. */
export function upperBound(bucket: number): number {
  return Math.ceil(2 ** (bucket / BUCKETS_PER_DOUBLING));
}

/** Counts one latency; mutates, because the isolate adds one per request and must stay cheap. */
export function addLatency(histogram: Histogram, ms: number): void {
  const bucket = bucketOf(ms);
  histogram[bucket] = (histogram[bucket] ?? 0) + 1;
}

/** Two histograms as one, as if every latency had been counted in a single place. */
export function mergeHistograms(a: Histogram, b: Histogram): Histogram {
  const merged: Histogram = { ...a };
  for (const bucket in b) merged[bucket] = (merged[bucket] ?? 0) + b[bucket]!;
  return merged;
}

/**
 * The q-quantile (0 < q ≤ 1) as its bucket's upper bound: at least the true value and at most about
 * 19% above it, so a latency threshold errs towards "too slow", never towards missing a slow canary.
 * Bucket indexes are integer keys, which JavaScript always lists in ascending order: no sort.
 */
export function quantile(histogram: Histogram, q: number): number | null {
  return quantiles(histogram, [q])[0]!;
}

/** Several quantiles (ascending) in one pass over the buckets (their keys listed once: a for-in per pass costs twice as much). */
export function quantiles(histogram: Histogram, qs: number[]): (number | null)[] {
  const buckets = Object.keys(histogram);
  let total = 0;
  for (const bucket of buckets) total += histogram[bucket]!;
  if (total === 0) return qs.map(() => null);
  const found: number[] = [];
  let seen = 0;
  let last = 0;
  for (const bucket of buckets) {
    seen += histogram[bucket]!;
    last = Number(bucket);
    while (found.length < qs.length && seen >= Math.ceil(qs[found.length]! * total)) found.push(upperBound(last));
    if (found.length === qs.length) return found;
  }
  while (found.length < qs.length) found.push(upperBound(last));
  return found;
}
