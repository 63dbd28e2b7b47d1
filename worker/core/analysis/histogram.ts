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
function upperBound(bucket: number): number {
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
  for (const [bucket, count] of Object.entries(b)) merged[bucket] = (merged[bucket] ?? 0) + count;
  return merged;
}

/**
 * The q-quantile (0 < q ≤ 1) as its bucket's upper bound: at least the true value and at most about
 * 19% above it, so a latency threshold errs towards "too slow", never towards missing a slow canary.
 */
export function quantile(histogram: Histogram, q: number): number | null {
  const buckets = Object.entries(histogram)
    .map(([bucket, count]) => [Number(bucket), count] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const [bucket, count] of buckets) {
    seen += count;
    if (seen >= rank) return upperBound(bucket);
  }
  return upperBound(buckets.at(-1)![0]);
}
