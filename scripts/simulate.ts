import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { cells, type Options, quantileOf, REGRESSIONS, type Verdicts } from "./simulate/grid.ts";
import type { Job, Result } from "./simulate/worker.ts";

/**
 * `npm run simulate`: seeded Monte-Carlo of canary traffic through the real windows, verdict and
 * engine code, today's threshold verdict side by side with the sequential one on the same traffic.
 * Prints the grid as Markdown (docs/analysis.md keeps it): per cell the median and 95th-percentile
 * windows to rollback, and false trips per 1,000 healthy hours.
 */

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "12" },
    hours: { type: "string", default: "1000" },
    runs: { type: "string", default: "100" },
    burst: { type: "string", default: "0" },
    window: { type: "string", default: "60" },
    set: { type: "string", multiple: true, default: [] },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("npm run simulate -- [--seed 12] [--hours 1000] [--runs 100] [--burst 0] [--window 60] [--set confidence=99.99]...");
  process.exit(0);
}

const options: Options = {
  seed: Number(values.seed),
  windowSeconds: Number(values.window),
  hours: Number(values.hours),
  runs: Number(values.runs),
  warmup: 20,
  cap: 60,
  burst: Number(values.burst),
};
for (const [name, value] of Object.entries(options)) {
  if (!Number.isFinite(value) || value < 0) {
    console.error(`simulate: --${name} must be a number ≥ 0`);
    process.exit(1);
  }
}

/** --set name=value: a sequential setting other than its default, e.g. --set confidence=99.999 */
const sequential = Object.fromEntries(
  values.set.map((pair) => {
    const [name, value] = pair.split("=");
    return [name, Number.isNaN(Number(value)) ? value : Number(value)];
  }),
);
const verdicts: Verdicts = { names: ["today", "sequential"], settings: [{ method: "thresholds" }, sequential] };
const DETECT_WITHIN = 10;
const started = performance.now();

const fmt = (times: number[]) => {
  const median = quantileOf(times, 0.5);
  const p95 = quantileOf(times, 0.95);
  const show = (n: number) => (Number.isFinite(n) ? String(n) : "–");
  return Number.isFinite(median) ? `${show(median)} (${show(p95)})` : "–";
};

/** Every cell on as many threads as there are cores; each cell has its own seeded stream, so the threads change nothing. */
async function runAll(): Promise<Result[]> {
  const jobs: Job[] = cells().flatMap((_, cell) => [
    { kind: "healthy" as const, cell },
    ...REGRESSIONS.map((_, regression) => ({ kind: "regression" as const, cell, regression })),
  ]);
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

const results = await runAll();
const detected = verdicts.names.map(() => 0);
const detectedP95 = verdicts.names.map(() => 0);
const worstFalse = verdicts.names.map(() => 0);
const slower: string[] = [];
const rows: string[] = [];
cells().forEach((cell, c) => {
  const columns: string[] = [];
  REGRESSIONS.forEach((_, r) => {
    const times = results.find((x) => x.kind === "regression" && x.cell === c && x.regression === r)!.values as number[][];
    const medians = times.map((t) => quantileOf(t, 0.5));
    medians.forEach((m, i) => {
      if (m <= DETECT_WITHIN) detected[i]! += 1;
      if (quantileOf(times[i]!, 0.95) <= DETECT_WITHIN) detectedP95[i]! += 1;
    });
    if (Number.isFinite(medians[0]!) && medians[1]! > medians[0]!) slower.push(`${cell.rate} req/s, ${cell.share}%, ${cell.stableErrors}%: ${REGRESSIONS[r]!.name}`);
    columns.push(times.map(fmt).join(" → "));
  });
  const trips = results.find((x) => x.kind === "healthy" && x.cell === c)!.values as number[];
  trips.forEach((t, i) => (worstFalse[i] = Math.max(worstFalse[i]!, t)));
  columns.push(trips.map((t) => t.toFixed(1)).join(" → "));
  rows.push(`| ${cell.rate} | ${cell.share}% | ${cell.stableErrors}% | ${columns.join(" | ")} |`);
});

const total = cells().length * REGRESSIONS.length;
console.log(
  `Seed ${options.seed}, ${options.windowSeconds} s windows, burst ${options.burst}, ${options.runs} runs per regression cell ` +
    `(rolled back ${options.warmup} healthy windows in, given up after ${options.cap}), ${options.hours} healthy hours per cell.`,
);
console.log(`Each cell: ${verdicts.names.join(" → ")}. Regressions: median (95th percentile) windows to rollback, – = not within ${options.cap}. Healthy: false trips per 1,000 hours.\n`);
console.log(`| req/s | canary | stable 5xx | ${REGRESSIONS.map((r) => r.name).join(" | ")} | healthy |`);
console.log(`| --- | --- | --- | ${REGRESSIONS.map(() => "---").join(" | ")} | --- |`);
for (const row of rows) console.log(row);
console.log("");
verdicts.names.forEach((name, i) => {
  console.log(
    `- ${name}: rolled back within ${DETECT_WITHIN} windows in ${detected[i]} of ${total} regression cells (median; ${detectedP95[i]} at the 95th percentile); ` +
      `at most ${worstFalse[i]!.toFixed(1)} false trips per 1,000 healthy hours.`,
  );
});
console.log(`- sequential slower than today (median) in ${slower.length} of the cells where today detects${slower.length ? `: ${slower.join("; ")}` : ""}.`);
console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);
