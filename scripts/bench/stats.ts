/** The q-th quantile (0..1) of some numbers, by nearest rank: a value that was really measured. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The median of some numbers (nearest rank): what every figure over rounds reports. */
export const median = (values: readonly number[]) => quantile(values, 0.5);
