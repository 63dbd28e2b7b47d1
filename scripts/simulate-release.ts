// npm run simulate:release -- --schedules N --seed S: seeded schedules of the release path (the real edge cache and authority core), every invariant checked at every step.
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { describeRun, type Totals, tally } from "./simulate-release/report.ts";
import type { Summary } from "./simulate-release/summary.ts";

const { values } = parseArgs({
  options: {
    schedules: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    from: { type: "string", default: "0" },
    threads: { type: "string" },
    calm: { type: "boolean", default: false },
    first: { type: "boolean", default: false },
    replay: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
const USAGE = `npm run simulate:release -- [--schedules 1000] [--seed 1] [--from 0] [--threads N] [--calm] [--replay INDEX]

Runs seeded schedules of the release path: colos with their own Cache API and a KV replica lagging
0-60 s, isolates that start, idle and die, operators writing through every path (admin API, stale
dashboard forms, the CLI over wrangler, raw KV puts, plan steps, automatic rollbacks) and an authority
that is slow, throws, hangs and restarts. Every invariant of docs/operating.md ("One writer, heard
everywhere") is checked at every routed request. Exit 1 when any schedule breaks one: it prints the
seed and index, and --replay INDEX runs that schedule alone, the same way.
--calm: no authority faults (the latency and reach figures the docs quote).
--first: stop at the first schedule that breaks an invariant (how fast a bug is found).`;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const number = (name: string, text: string | undefined, min: number) => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    console.error(`simulate:release: --${name} must be a whole number ≥ ${min}\n\n${USAGE}`);
    process.exit(2);
  }
  return value;
};
const seed = number("seed", values.seed, 0);
const calm = values.calm;

if (values.replay !== undefined) {
  console.warn = () => {}; // the real code's problem lines: the schedule's faults would flood the output
  const { summarise } = await import("./simulate-release/summary.ts");
  const index = number("replay", values.replay, 0);
  const summary = await summarise(seed, index, calm);
  console.log(JSON.stringify({ seed, index, faults: summary.faults, violations: summary.violations, commits: summary.commits, acks: summary.acks }, null, 2));
  process.exit(summary.violations.length ? 1 : 0);
}

const count = number("schedules", values.schedules, 1);
const from = number("from", values.from, 0);
const threads = Math.min(values.threads ? number("threads", values.threads, 1) : availableParallelism(), count);
const BATCH = 25;
const started = performance.now();
const totals: Totals = tally();
let next = from;
const end = from + count;

await Promise.all(
  Array.from({ length: threads }, () => {
    const worker = new Worker(new URL("./simulate-release/thread.ts", import.meta.url), { workerData: { seed, calm } });
    const ask = () => {
      if (next >= end || (values.first && totals.failed.length)) return false;
      const batch = Array.from({ length: Math.min(BATCH, end - next) }, (_, i) => next + i);
      next += batch.length;
      worker.postMessage(batch);
      return true;
    };
    return new Promise<void>((done, fail) => {
      worker.on("message", (summaries: Summary[]) => {
        for (const summary of summaries) {
          tally(totals, summary);
          // A long run names each schedule that broke an invariant as it is found: it can be replayed while the run goes on.
          if (count >= 100_000 && summary.violations.length) console.error(`schedule ${summary.index}: ${summary.violations.map((v) => `[${v.invariant}] ${v.message}`).join("; ")}`);
        }
        if (count >= 100_000 && totals.schedules % 50_000 < summaries.length) {
          console.error(`${totals.schedules} schedules, ${((performance.now() - started) / 1000).toFixed(0)} s, violations so far: ${totals.failed.length}`);
        }
        if (!ask()) void worker.terminate().then(() => done());
      });
      worker.on("error", fail);
      ask();
    });
  }),
);

const seconds = (performance.now() - started) / 1000;
console.log(describeRun(totals, { seed, from, count, threads, seconds, calm }));
if (totals.failed.length) {
  console.error(`\n${totals.failed.length} schedule(s) broke an invariant. Replay one: npm run simulate:release -- --seed ${seed} --replay ${totals.failed[0]!.index}${calm ? " --calm" : ""}`);
  process.exit(1);
}
