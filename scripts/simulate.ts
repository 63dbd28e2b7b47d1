import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { cells, GRID, type Options, quantileOf, REGRESSIONS, shareWithin, type Verdicts } from "./simulate/grid.ts";
import { SHAPES } from "./simulate/traffic.ts";
import type { Job, Result } from "./simulate/worker.ts";

/**
 * `npm run simulate`: seeded Monte-Carlo of canary traffic through the real windows, verdict and
 * engine code, today's threshold verdict side by side with the sequential one on the same traffic.
 * Prints one grid per traffic shape as Markdown (docs/analysis.md keeps them): per cell the median
 * and 95th-percentile windows to rollback, and false trips per 1,000 healthy hours.
 */

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "12" },
    hours: { type: "string", default: "1000" },
    runs: { type: "string", default: "300" },
    "baseline-runs": { type: "string", default: "100" },
    shape: { type: "string", multiple: true, default: [] },
    rates: { type: "string", default: GRID.rates.join(",") },
    shares: { type: "string", default: GRID.shares.join(",") },
    errors: { type: "string", default: GRID.stableErrors.join(",") },
    burst: { type: "string", default: "0" },
    window: { type: "string", default: "60" },
    set: { type: "string", multiple: true, default: [] },
    alone: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(
    "npm run simulate -- [--seed 12] [--hours 1000] [--runs 300] [--baseline-runs 100] [--burst 0] [--window 60] [--shape cache]... [--rates 10,100,1000] [--shares 1,5,25] [--errors 0.1,1] [--set confidence=99.99]...",
  );
  console.log("--runs 0: healthy cells only (false trips); --set: a setting of the statistical verdict other than its default; --alone: without today's thresholds beside it");
  console.log(`shapes: ${SHAPES.map((s) => (s.extra ? `${s.name} (only when named)` : s.name)).join(", ")}`);
  process.exit(0);
}
const unknown = values.shape.filter((name) => !SHAPES.some((s) => s.name === name));
if (unknown.length > 0) fail(`unknown --shape ${unknown.join(", ")}; known: ${SHAPES.map((s) => s.name).join(", ")}`);
const shapes = SHAPES.flatMap((shape, index) => ((values.shape.length === 0 ? !shape.extra : values.shape.includes(shape.name)) ? [index] : []));

const options: Options = {
  seed: Number(values.seed),
  windowSeconds: Number(values.window),
  hours: Number(values.hours),
  runs: Number(values.runs),
  baselineRuns: Math.min(Number(values["baseline-runs"]), Number(values.runs)),
  warmup: 20,
  cap: 60,
  burst: Number(values.burst),
  grid: { rates: list(values.rates), shares: list(values.shares), stableErrors: list(values.errors) },
};
for (const [name, value] of Object.entries(options)) {
  if (name !== "grid" && (!Number.isFinite(value) || value < 0)) fail(`--${name} must be a number ≥ 0`);
}
for (const [name, value] of Object.entries({ rates: options.grid.rates, shares: options.grid.shares, errors: options.grid.stableErrors })) {
  if (value.length === 0 || value.some((n) => !Number.isFinite(n) || n <= 0 || (name !== "rates" && n > 100))) fail(`--${name} must be numbers above 0, comma-separated${name === "rates" ? "" : ", at most 100"}`);
}

function list(text: string): number[] {
  return text.split(",").filter((part) => part.trim() !== "").map(Number);
}

function fail(message: string): never {
  console.error(`simulate: ${message}`);
  process.exit(1);
}

/** --set name=value: a sequential setting other than its default, e.g. --set confidence=99.999 */
const sequential = Object.fromEntries(
  values.set.map((pair) => {
    const [name, value] = pair.split("=");
    return [name, Number.isNaN(Number(value)) ? value : Number(value)];
  }),
);
const verdicts: Verdicts = values.alone
  ? { names: ["settings"], settings: [sequential] }
  : { names: ["today", "sequential"], settings: [{ method: "thresholds" }, sequential] };
/** The statistical verdict's column. */
const mine = verdicts.names.length - 1;
const DETECT_WITHIN = 10;
/** A cell whose share of runs rolled back within DETECT_WITHIN windows is in this range is at the edge: its median can land on either side from one seed or shape to another. */
const EDGE = [0.35, 0.65] as const;
const started = performance.now();

const fmt = (times: number[]) => {
  const median = quantileOf(times, 0.5);
  const p95 = quantileOf(times, 0.95);
  const show = (n: number) => (Number.isFinite(n) ? String(n) : "–");
  return Number.isFinite(median) ? `${show(median)} (${show(p95)})` : "–";
};

/** Every cell of every shape on as many threads as there are cores; each cell has its own seeded stream, so the threads change nothing. */
async function runAll(): Promise<Result[]> {
  // The long healthy cells first, so that no thread is left with one at the end.
  const jobs: Job[] = [
    ...shapes.flatMap((shape) => cells(options.grid).map((_, cell) => ({ kind: "healthy" as const, shape, cell }))),
    ...(options.runs === 0 ? [] : shapes.flatMap((shape) => cells(options.grid).flatMap((_, cell) => REGRESSIONS.map((_, regression) => ({ kind: "regression" as const, shape, cell, regression }))))),
  ];
  const results: Result[] = [];
  const threads = Math.max(1, Math.min(availableParallelism(), jobs.length));
  await Promise.all(
    Array.from({ length: threads }, async () => {
      const worker = new Worker(new URL("./simulate/worker.ts", import.meta.url), { workerData: { options, verdicts } });
      try {
        for (let job = jobs.shift(); job; job = jobs.shift()) {
          const sent = job;
          results.push(
            await new Promise<Result>((resolve, reject) => {
              worker.once("error", reject);
              worker.once("message", (result: Result) => {
                worker.off("error", reject);
                resolve(result);
              });
              worker.postMessage(sent);
            }),
          );
        }
      } finally {
        await worker.terminate();
      }
    }),
  );
  return results;
}

/** One shape's grid and its summary against the targets, as Markdown (healthy cells alone with --runs 0). */
function printShape(shape: number, results: Result[]): void {
  const ofShape = results.filter((x) => x.shape === shape);
  const regressions = options.runs > 0 ? REGRESSIONS : [];
  const detected = verdicts.names.map(() => 0);
  const detectedP95 = verdicts.names.map(() => 0);
  const worstFalse = verdicts.names.map(() => 0);
  const slower: string[] = [];
  const thin: string[] = [];
  const edge: string[] = [];
  const rows: string[] = [];
  cells(options.grid).forEach((cell, c) => {
    const columns: string[] = [];
    regressions.forEach((regression, r) => {
      const times = ofShape.find((x) => x.kind === "regression" && x.cell === c && x.regression === r)!.values as number[][];
      const medians = times.map((t) => quantileOf(t, 0.5));
      medians.forEach((m, i) => {
        if (m <= DETECT_WITHIN) detected[i]! += 1;
        if (quantileOf(times[i]!, 0.95) <= DETECT_WITHIN) detectedP95[i]! += 1;
      });
      if (mine > 0 && Number.isFinite(medians[0]!) && medians[mine]! > medians[0]!) slower.push(`${cell.rate} req/s, ${cell.share}%, ${cell.stableErrors}%: ${regression.name}`);
      if (cell.share === 5 && regression.name === "latency +50%" && !(medians[mine]! <= DETECT_WITHIN)) thin.push(`${cell.rate} req/s, ${cell.stableErrors}%: ${fmt(times[mine]!)}`);
      const within = shareWithin(times[mine]!, DETECT_WITHIN);
      if (within >= EDGE[0] && within <= EDGE[1]) edge.push(`${cell.rate} req/s, ${cell.share}%, ${cell.stableErrors}%, ${regression.name}: ${Math.round(within * 100)}%`);
      columns.push(times.map(fmt).join(" → "));
    });
    const trips = ofShape.find((x) => x.kind === "healthy" && x.cell === c)!.values as number[];
    trips.forEach((t, i) => (worstFalse[i] = Math.max(worstFalse[i]!, t)));
    columns.push(trips.map((t) => t.toFixed(1)).join(" → "));
    rows.push(`| ${cell.rate} | ${cell.share}% | ${cell.stableErrors}% | ${columns.join(" | ")} |`);
  });
  const total = cells(options.grid).length * regressions.length;
  console.log(`#### Shape ${SHAPES[shape]!.name}: ${SHAPES[shape]!.about}\n`);
  console.log(`| req/s | canary | stable 5xx | ${[...regressions.map((r) => r.name), "healthy"].join(" | ")} |`);
  console.log(`| --- | --- | --- | ${[...regressions, null].map(() => "---").join(" | ")} |`);
  for (const row of rows) console.log(row);
  console.log("");
  verdicts.names.forEach((name, i) => {
    const detection = total > 0 ? `rolled back within ${DETECT_WITHIN} windows in ${detected[i]} of ${total} regression cells (median; ${detectedP95[i]} at the 95th percentile); ` : "";
    console.log(`- ${name}: ${detection}at most ${worstFalse[i]!.toFixed(1)} false trips per 1,000 healthy hours.`);
  });
  if (total === 0) return console.log("");
  console.log(
    `- ${verdicts.names[mine]} at the edge (${EDGE[0] * 100}–${EDGE[1] * 100}% of runs rolled back within ${DETECT_WITHIN} windows, so the median lands on either side of ${DETECT_WITHIN} by chance): ` +
      `${edge.length === 0 ? "no cell" : edge.join("; ")}.`,
  );
  if (mine > 0) console.log(`- sequential slower than today (median) in ${slower.length} of the cells where today detects${slower.length ? `: ${slower.join("; ")}` : ""}.`);
  console.log(`- latency +50% at a 5% canary: ${thin.length === 0 ? `within ${DETECT_WITHIN} windows (median) at every traffic level` : `not within ${DETECT_WITHIN} windows at ${thin.join("; ")}`}.\n`);
}

const results = await runAll();
console.log(
  `Seed ${options.seed}, ${options.windowSeconds} s windows, burst ${options.burst}, ${options.runs} runs per regression cell` +
    `${verdicts.names.length > 1 ? ` (${verdicts.names[0]}: ${options.baselineRuns})` : ""}, the regression starting ${options.warmup} healthy windows in, ` +
    `given up ${options.cap} windows later; ${options.hours} healthy hours per cell` +
    `${Object.keys(sequential).length ? `, sequential with ${values.set.join(", ")}` : ""}.`,
);
console.log(`Each cell: ${verdicts.names.join(" → ")}. Regressions: median (95th percentile) windows to rollback, – = not within ${options.cap}. Healthy: false trips per 1,000 hours.\n`);
for (const shape of shapes) printShape(shape, results);
console.log(`(${((performance.now() - started) / 1000).toFixed(0)} s)`);
