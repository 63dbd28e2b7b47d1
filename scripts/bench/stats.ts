/** The q-th quantile (0..1) of some numbers, by nearest rank: a value that was really measured. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Median and p99: what the tables report for every timing. */
export function summary(values: readonly number[]): { median: number; p99: number; n: number } {
  return { median: quantile(values, 0.5), p99: quantile(values, 0.99), n: values.length };
}
