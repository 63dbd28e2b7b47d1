// A run's figures from its schedules' summaries: fixed-bucket histograms, so a million schedules fit in memory.
import type { Summary } from "./summary.ts";

/** Counts of values in buckets of `width`; the last bucket takes everything above. */
class Histogram {
  readonly #counts: number[];
  readonly #width: number;
  count = 0;
  max = 0;
  sum = 0;

  constructor(width: number, buckets: number) {
    this.#width = width;
    this.#counts = new Array(buckets).fill(0);
  }

  add(value: number): void {
    this.#counts[Math.min(this.#counts.length - 1, Math.floor(value / this.#width))]! += 1;
    this.count += 1;
    this.sum += value;
    this.max = Math.max(this.max, value);
  }

  /** The upper edge of the bucket holding quantile `q` (an upper bound of the true value). */
  quantile(q: number): number {
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= q * this.count) return Math.min(this.max, (i + 1) * this.#width);
    }
    return this.max;
  }
}

export interface Totals {
  schedules: number;
  calmSchedules: number;
  failed: { index: number; violations: Summary["violations"] }[];
  byInvariant: Record<string, number>;
  reachCalm: Histogram;
  reachAll: Histogram;
  neverReached: number;
  quietWaits: Histogram;
  busyWaits: Histogram;
  firstWaits: Histogram;
  beaconRate: Histogram;
  beaconPeak: Histogram;
  commits: number;
  acks: Record<string, number>;
  faults: Record<string, number>;
  notes: number;
}

/** A fresh tally, or `summary` added to `totals`. */
export function tally(): Totals;
export function tally(totals: Totals, summary: Summary): Totals;
export function tally(totals?: Totals, summary?: Summary): Totals {
  const t = totals ?? {
    schedules: 0,
    calmSchedules: 0,
    failed: [],
    byInvariant: {},
    reachCalm: new Histogram(10, 6_000),
    reachAll: new Histogram(10, 6_000),
    neverReached: 0,
    quietWaits: new Histogram(0.1, 1_000),
    busyWaits: new Histogram(0.1, 1_000),
    firstWaits: new Histogram(10, 300),
    beaconRate: new Histogram(0.01, 1_000),
    beaconPeak: new Histogram(1, 100),
    commits: 0,
    acks: {},
    faults: {},
    notes: 0,
  };
  if (!summary) return t;
  t.schedules += 1;
  if (summary.calm) t.calmSchedules += 1;
  if (summary.violations.length) {
    if (t.failed.length < 20) t.failed.push({ index: summary.index, violations: summary.violations });
    for (const violation of summary.violations) t.byInvariant[violation.invariant] = (t.byInvariant[violation.invariant] ?? 0) + 1;
  }
  for (const ms of summary.reach) {
    if (ms < 0) t.neverReached += 1;
    else {
      t.reachAll.add(ms);
      if (summary.calm) t.reachCalm.add(ms);
    }
  }
  for (const ms of summary.quietWaits) t.quietWaits.add(ms);
  for (const ms of summary.busyWaits) t.busyWaits.add(ms);
  for (const ms of summary.firstWaits) t.firstWaits.add(ms);
  for (const rate of summary.beaconRate) t.beaconRate.add(rate);
  for (const peak of summary.beaconPeak) t.beaconPeak.add(peak);
  t.commits += summary.commits;
  for (const [path, n] of Object.entries(summary.acks)) t.acks[path] = (t.acks[path] ?? 0) + n;
  for (const fault of summary.faults) {
    const kind = fault.split("@")[0]!;
    t.faults[kind] = (t.faults[kind] ?? 0) + 1;
  }
  t.notes += summary.notes;
  return t;
}

const ms = (value: number) => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;

/** The run as the docs quote it. */
export function describeRun(t: Totals, run: { seed: number; from: number; count: number; threads: number; seconds: number; calm: boolean }): string {
  const violations = Object.entries(t.byInvariant).map(([name, n]) => `${name} ${n}`).join(", ") || "none";
  const reach = (h: Histogram) => (h.count ? `p50 ${ms(h.quantile(0.5))}, p99 ${ms(h.quantile(0.99))}, max ${ms(h.max)} (${h.count} revert × colo)` : "no revert");
  const waits = (h: Histogram) => (h.count ? `p50 ${ms(h.quantile(0.5))}, p99 ${ms(h.quantile(0.99))}, max ${ms(h.max)} (${h.count} requests)` : "none");
  const acks = Object.entries(t.acks).map(([path, n]) => `${path} ${n}`).join(", ");
  const faults = Object.entries(t.faults).map(([kind, n]) => `${kind} ${n}`).join(", ") || "none";
  return [
    `release path simulation: seed ${run.seed}, schedules ${run.from}-${run.from + run.count - 1} (${t.schedules}${run.calm ? ", calm: no authority faults" : ""}), ${run.threads} thread(s), ${run.seconds.toFixed(1)} s`,
    `invariant violations: ${violations}${t.failed.length ? ` in ${t.failed.length}${t.failed.length === 20 ? "+" : ""} schedule(s)` : ""}`,
    `writes acknowledged: ${acks} (${t.commits} revisions committed); faults injected: ${faults}`,
    `revert reaches a busy colo (after its acknowledgement, until the colo's last request below it): ${reach(t.reachAll)}; with no authority fault: ${reach(t.reachCalm)}; never within the schedule: ${t.neverReached}`,
    `visitor wait, quiet colos (one visitor every 2 s), not an isolate's first request: ${waits(t.quietWaits)}`,
    `visitor wait, busy colos, not an isolate's first request: ${waits(t.busyWaits)}`,
    `visitor wait, an isolate's first request (no rules yet): ${waits(t.firstWaits)}`,
    `authority load, beacon requests per colo per second: mean ${(t.beaconRate.sum / Math.max(1, t.beaconRate.count)).toFixed(2)}, p99 ${t.beaconRate.quantile(0.99).toFixed(2)}; most in any one second from one colo: p99 ${t.beaconPeak.quantile(0.99)}, max ${t.beaconPeak.max}`,
    ...t.failed.slice(0, 5).map((f) => `  schedule ${f.index}: ${f.violations.map((v) => `[${v.invariant}] ${v.message}`).join("; ")}`),
  ].join("\n");
}
