import { seeded } from "./random.ts";
import { bucketShares, coldness, type Shape, windowHealth } from "./traffic.ts";
import { Judge } from "./judge.ts";

/** The grid of the simulation: traffic levels × canary shares × stable error rates × regressions. */

/** The grid's rows by default: requests a second, the canary's share and stable's error rate, in percent. */
export const GRID = { rates: [10, 100, 1000], shares: [1, 5, 25], stableErrors: [0.1, 1] };
export interface Regression {
  name: string;
  errors: number;
  latency: number;
}
export const REGRESSIONS: Regression[] = [
  { name: "errors ×2", errors: 2, latency: 1 },
  { name: "errors ×5", errors: 5, latency: 1 },
  { name: "errors ×20", errors: 20, latency: 1 },
  { name: "latency +50%", errors: 1, latency: 1.5 },
  { name: "latency +200%", errors: 1, latency: 3 },
];

export interface Verdicts {
  names: string[];
  settings: Record<string, unknown>[];
}

export interface Options {
  seed: number;
  windowSeconds: number;
  /** Healthy hours simulated per healthy cell. */
  hours: number;
  /** Runs per regression cell. */
  runs: number;
  /** Runs per regression cell for the baseline verdict (today's thresholds), at most `runs`. */
  baselineRuns: number;
  /** Healthy windows before the regression starts. */
  warmup: number;
  /** A run that has not rolled back this many windows after the regression started counts as not detected. */
  cap: number;
  /** Spread of the traffic level from window to window (log-normal sigma; 0 = steady Poisson). */
  burst: number;
  /** The rows: every combination of these. */
  grid: typeof GRID;
}

/** With a warm-up, a healthy cell is a series of rollouts this long, each starting cold. */
export const ROLLOUT_HOURS = 1;

export interface Cell {
  rate: number;
  share: number;
  stableErrors: number;
}

export const cells = ({ rates, shares, stableErrors }: typeof GRID): Cell[] =>
  rates.flatMap((rate) => shares.flatMap((share) => stableErrors.map((errors) => ({ rate, share, stableErrors: errors }))));

/** One colour pair's window, `window` windows after the rollout started: the same site-wide burst for both. */
function traffic(random: ReturnType<typeof seeded>, cell: Cell, shape: Shape, options: Options, regression: Regression | null, window: number) {
  const burst = options.burst > 0 ? Math.exp(options.burst * random.normal() - (options.burst * options.burst) / 2) : 1;
  const total = cell.rate * options.windowSeconds * burst;
  const p = cell.stableErrors / 100;
  const cold = coldness(shape, (window + 0.5) * options.windowSeconds);
  return {
    canary: windowHealth(random, (total * cell.share) / 100, Math.min(1, p * (regression?.errors ?? 1)), shareTable(shape, regression?.latency ?? 1, cold)),
    stable: windowHealth(random, (total * (100 - cell.share)) / 100, p, shareTable(shape, 1, 0)),
  };
}

const tables = new Map<string, [number, number][]>();
function shareTable(shape: Shape, factor: number, cold: number): [number, number][] {
  const key = `${shape.name} ${factor} ${cold}`;
  let table = tables.get(key);
  if (!table) tables.set(key, (table = bucketShares(shape, factor, cold)));
  return table;
}

/** False trips per 1,000 healthy hours, per verdict, on the same traffic. */
export function healthyCell(cell: Cell, shape: Shape, index: number, verdicts: Verdicts, options: Options): number[] {
  const random = seeded(options.seed, index);
  const judges = verdicts.settings.map((s) => new Judge({ windowSeconds: options.windowSeconds, ...s }, cell.share));
  const windowMs = options.windowSeconds * 1000;
  const windows = Math.round((options.hours * 3600) / options.windowSeconds);
  const rolloutWindows = shape.warmup ? Math.round((ROLLOUT_HOURS * 3600) / options.windowSeconds) : windows;
  const trips = judges.map(() => 0);
  for (let w = 0; w < windows; w++) {
    if (w % rolloutWindows === 0) judges.forEach((judge) => judge.reset());
    const { canary, stable } = traffic(random, cell, shape, options, null, w % rolloutWindows);
    judges.forEach((judge, i) => {
      if (judge.window(w * windowMs, windowMs, canary, stable)) trips[i]! += 1;
    });
  }
  return trips.map((t) => (t / options.hours) * 1000);
}

/** Windows from the regression's start to the rollback, per run and verdict (Infinity: not within the cap). */
export function regressionCell(cell: Cell, shape: Shape, regression: Regression, index: number, verdicts: Verdicts, options: Options): number[][] {
  const judges = verdicts.settings.map((s) => new Judge({ windowSeconds: options.windowSeconds, ...s }, cell.share));
  const windowMs = options.windowSeconds * 1000;
  const times: number[][] = judges.map(() => []);
  const last = judges.length - 1;
  for (let run = 0; run < options.runs; run++) {
    // Each run its own traffic: a verdict's settings (how long a run lasts) never change another run, or another verdict's numbers.
    const random = seeded(options.seed, 1000 + index, run + 1);
    // The baseline (every verdict but the last) judges the first baselineRuns runs only.
    const judging = judges.flatMap((judge, i) => (i === last || run < options.baselineRuns ? [i] : []));
    for (const i of judging) judges[i]!.reset();
    let w = 0;
    for (; w < options.warmup; w++) {
      const { canary, stable } = traffic(random, cell, shape, options, null, w);
      for (const i of judging) if (judges[i]!.window(w * windowMs, windowMs, canary, stable)) judges[i]!.reset();
    }
    const open = new Set(judging);
    for (let after = 1; after <= options.cap && open.size > 0; after++, w++) {
      const { canary, stable } = traffic(random, cell, shape, options, regression, w);
      for (const i of [...open]) {
        if (judges[i]!.window(w * windowMs, windowMs, canary, stable)) {
          times[i]!.push(after);
          open.delete(i);
        }
      }
    }
    for (const i of open) times[i]!.push(Number.POSITIVE_INFINITY);
  }
  return times;
}

/** The share of runs rolled back within `windows` windows (Infinity, not within the cap, never is). */
export function shareWithin(times: number[], windows: number): number {
  return times.length === 0 ? 0 : times.filter((t) => t <= windows).length / times.length;
}

/** The q-quantile of run times (nearest rank). */
export function quantileOf(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}
