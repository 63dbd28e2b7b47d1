// npm run bench [-- --quick]: the edge Worker against a hand-rolled router, a bare passthrough and its own identical copy, measured in the same run.
// See docs/benchmarks.md for how to read the table.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../wrangler.ts";
import { buildAll, PEERS } from "./build.ts";
import { bundleFigures } from "./bundle.ts";
import { insideFigures, measureInside } from "./inside.ts";
import { largestFigures } from "./largest.ts";
import type { Visitor } from "./visitor.ts";
import { interleavedFigures, runInterleaved } from "./interleaved.ts";
import { headlineFigures, loadFigures, runLoad, singleFigures } from "./load.ts";
import { describeMachine } from "./machine.ts";
import { startOrigins } from "./origins.ts";
import { formatTable, formatVerdicts } from "./report.ts";
import { PORTS, startWorkerd, url } from "./workerd.ts";

const quick = process.argv.includes("--quick");
/**
 * How long each part runs. The full run holds its headline targets over 32 paired rounds (at
 * least 30, and a multiple of the four peers' balanced design) of 2 s per peer in both load
 * parts: 2 s is some 3,000 requests under load (workerd's CPU read to 1 % from /proc's 10 ms
 * ticks) and 1,500 or more on one connection, and short rounds keep a round's peers in the same
 * moment of the machine; the two parts take about 9 minutes. The interleaved part reads the
 * one-connection target again with every peer in every moment: 32 blocks of 4 s (about 1,200
 * requests per peer and block), some 2 minutes; the whole run about 12. --quick is a smoke of
 * every part in about a minute.
 */
const PLAN = quick
  ? { insideRounds: 2, insideSeconds: 0.15, loadRounds: 4, loadSeconds: 1, singleRounds: 4, singleSeconds: 0.5, interleavedRounds: 4, interleavedSeconds: 1, warmupSeconds: 0.5 }
  : { insideRounds: 6, insideSeconds: 0.3, loadRounds: 32, loadSeconds: 2, singleRounds: 32, singleSeconds: 2, interleavedRounds: 32, interleavedSeconds: 4, warmupSeconds: 1 };
const CONNECTIONS = 16;
/** Seeds the peers' order in each round (order.ts): fixed, so two runs of a tree run their peers in the same orders. */
const ORDER_SEED = 20261201;

const startedAt = new Date();
const progress = (message: string) => console.error(`[${((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(3)} s] ${message}`);

progress(`edge-canary benchmark (${quick ? "quick" : "full"}): building both Workers, the hand-rolled and passthrough peers and the bench workers`);
const builds = await buildAll();
const machine = describeMachine(builds.wranglerVersion);
const secret = randomBytes(24).toString("base64url");
const origins = await startOrigins();
const workerd = await startWorkerd(builds, { blue: origins.blue, green: origins.green, secret }).catch(async (error) => {
  await origins.stop();
  throw error;
});
try {
  progress(`per request inside workerd: ${PLAN.insideRounds} rounds`);
  const inside = await measureInside(PLAN.insideRounds, PLAN.insideSeconds);

  const fixture = (await (
    await fetch(`${url(PORTS.bench)}/fixture?${new URLSearchParams({ secret, blue: origins.blue, green: origins.green })}`)
  ).json()) as { url: string; visitors: Visitor[]; text: string; metadata: unknown };
  await fetch(`${url(PORTS.kv)}/rules`, { method: "PUT", body: fixture.text, headers: { "CF-KV-Metadata": JSON.stringify(fixture.metadata) } });
  const { pathname, search } = new URL(fixture.url);
  const plan = {
    connections: CONNECTIONS,
    seconds: PLAN.loadSeconds,
    rounds: PLAN.loadRounds,
    seed: ORDER_SEED,
    warmupSeconds: PLAN.warmupSeconds,
    path: pathname + search,
    visitors: fixture.visitors,
    workerdPid: workerd.pid,
    originsPid: origins.pid,
  };
  const minutes = (p: typeof plan) => `about ${Math.ceil((p.rounds * p.seconds * PEERS.length) / 60)} min`;
  progress(`under load: ${CONNECTIONS} connections, ${plan.rounds} rounds × ${plan.seconds} s × ${PEERS.length} peers (${minutes(plan)})`);
  const load = await runLoad(plan);
  const singlePlan = { ...plan, connections: 1, rounds: PLAN.singleRounds, seconds: PLAN.singleSeconds, seed: ORDER_SEED + 1 };
  progress(`one connection: ${singlePlan.rounds} rounds × ${singlePlan.seconds} s × ${PEERS.length} peers (${minutes(singlePlan)})`);
  const single = await runLoad(singlePlan);
  const interleavedPlan = { ...singlePlan, rounds: PLAN.interleavedRounds, seconds: PLAN.interleavedSeconds, seed: ORDER_SEED + 2 };
  progress(`one connection, interleaved: ${interleavedPlan.rounds} blocks × ${interleavedPlan.seconds} s (about ${Math.ceil((interleavedPlan.rounds * interleavedPlan.seconds) / 60)} min)`);
  const interleaved = await runInterleaved(interleavedPlan);

  const figures = [
    ...headlineFigures(load, plan, single, singlePlan),
    ...bundleFigures(builds),
    ...insideFigures(inside.samples, PLAN.insideRounds),
    ...largestFigures(inside.samples, inside.largest),
    ...loadFigures(load, plan),
    ...singleFigures(single, singlePlan),
    ...interleavedFigures(interleaved, interleavedPlan),
  ];
  const durationSeconds = (Date.now() - startedAt.getTime()) / 1000;
  const problems = workerd.problems();
  const result = { startedAt: startedAt.toISOString(), quick, durationSeconds, machine, loadAverageAtEnd: loadavg(), plan: { ...PLAN, connections: CONNECTIONS, orderSeed: ORDER_SEED }, problems, figures, raw: { inside: inside.samples, load, single, interleaved } };
  const resultsDir = join(PROJECT_ROOT, "bench/results");
  mkdirSync(resultsDir, { recursive: true });
  const json = JSON.stringify(result, null, 2);
  writeFileSync(join(resultsDir, "latest.json"), json);
  writeFileSync(join(resultsDir, `run-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`), json);

  console.log(`edge-canary benchmark, ${quick ? "quick smoke" : "full run"}, ${startedAt.toISOString()}`);
  console.log(
    `machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.memoryGiB} GiB, Linux ${machine.kernel}; node ${machine.node}, ` +
      `workerd ${machine.workerd}, wrangler ${machine.wrangler}; load average ${machine.loadAverage.join(" ")} at start, ` +
      `${loadavg().map((n) => n.toFixed(2)).join(" ")} at end`,
  );
  console.log(`problems the edge logged during the run: ${problems.length ? `\n  ${problems.slice(0, 5).join("\n  ")}` : "none"}`);
  console.log(formatTable(figures));
  console.log(`\n${formatVerdicts(figures)}`);
  console.log(`\n${figures.length} figures in ${durationSeconds.toFixed(0)} s; results in bench/results/latest.json`);
} finally {
  await workerd.stop();
  await origins.stop();
}
