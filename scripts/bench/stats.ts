/** The q-th quantile (0..1) of some numbers, by nearest rank: a value that was really measured. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The median of some numbers (nearest rank): what every figure over rounds reports. */
export const median = (values: readonly number[]) => quantile(values, 0.5);

/** A reading with its spread: the median and the 25th and 75th percentile (nearest rank) of the samples it comes from. */
export interface Spread {
  median: number;
  q25: number;
  q75: number;
}

/** The spread of some per-round readings. */
export function spreadOf(values: readonly number[]): Spread {
  return { median: median(values), q25: quantile(values, 0.25), q75: quantile(values, 0.75) };
}

/** How two peers' values of the same round are compared: a ratio or a difference. */
export const COMPARE = { "÷": (a: number, b: number) => a / b, "−": (a: number, b: number) => a - b } as const;
export type Comparison = keyof typeof COMPARE;

/** Per-round paired readings: `a[i]` compared with `b[i]` of the same round, so the noise both met in that round cancels out of each reading. */
export function paired(a: readonly number[], b: readonly number[], compare: Comparison): number[] {
  if (a.length !== b.length) throw new Error(`paired readings need as many rounds on both sides (${a.length} and ${b.length})`);
  return a.map((value, i) => COMPARE[compare](value, b[i]!));
}

/**
 * Per-call times (µs) inside workerd by handler: every batch's mean, pooled over rounds, and each
 * round's mean. workerd moves its clock at its own moments, so a single batch can read 0 and the
 * next one the time of both; a round's mean (its batches have the same size) is immune to where
 * the tick lands.
 */
export type Samples = Record<string, { batches: number[]; rounds: number[] }>;
