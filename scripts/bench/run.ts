// npm run bench [-- --quick]: what the router costs, against a bare passthrough Worker measured in the same run.
// See docs/benchmarks.md for how to read the table.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../wrangler.ts";
import { buildAll } from "./build.ts";
import { bundleRows } from "./bundle.ts";
import { measurePerRequest } from "./decision.ts";
import { kvRows, measureKv } from "./kv.ts";
import { loadRows, runLoad } from "./load.ts";
import { describeMachine } from "./machine.ts";
import { startOrigins } from "./origins.ts";
import { formatTable, type Row } from "./report.ts";
import { measureScale } from "./scale.ts";
import { nodeRuntime, type Runtime, workerdRuntime } from "./timing.ts";
import { PORTS, startWorkerd, url } from "./workerd.ts";

const quick = process.argv.includes("--quick");
/** How long each part runs: the full run stays well under five minutes, --quick is a CI smoke. */
const PLAN = quick
  ? { rounds: 1, seconds: 0.25, connections: 16, loadRounds: 1, loadSeconds: 2, warmupSeconds: 0.5, kvSeconds: 3, kvBaselineSeconds: 1 }
  : { rounds: 4, seconds: 0.5, connections: 16, loadRounds: 3, loadSeconds: 4, warmupSeconds: 1, kvSeconds: 11, kvBaselineSeconds: 3 };

const startedAt = new Date();
const progress = (message: string) => console.error(`[${((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(3)} s] ${message}`);

progress(`edge-canary benchmark (${quick ? "quick" : "full"}): building the router, the passthrough Worker and the bench workers`);
const builds = await buildAll();
const machine = describeMachine(builds.wranglerVersion);
const secret = randomBytes(24).toString("base64url");
const origins = await startOrigins();
const workerd = await startWorkerd(builds, secret);
let node: Runtime | undefined;
try {
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  for (const runtime of [workerdRuntime(), (node = nodeRuntime(builds.benchWorkerNodeFile))]) {
    progress(`per-request work in ${runtime.name}`);
    const perRequest = await measurePerRequest(runtime, PLAN.rounds, PLAN.seconds);
    progress(`rules scale in ${runtime.name}`);
    const scale = await measureScale(runtime, PLAN.rounds, PLAN.seconds);
    rows.push(...perRequest.rows, ...scale.rows);
    raw[runtime.name] = { perRequest: perRequest.raw, scale: scale.raw };
    await runtime.close();
  }

  progress(`load: ${PLAN.connections} connections, ${PLAN.loadRounds} × ${PLAN.loadSeconds} s each against origin, passthrough, router`);
  const fixture = (await (
    await fetch(`${url(PORTS.bench)}/fixture?${new URLSearchParams({ secret, blue: origins.blue, green: origins.green })}`)
  ).json()) as { url: string; headers: Record<string, string>; rules: unknown };
  await fetch(`${url(PORTS.kv)}/rules`, { method: "PUT", body: JSON.stringify(fixture.rules), headers: { "CF-KV-Metadata": '{"revision":1}' } });
  const { pathname, search } = new URL(fixture.url);
  const loadPlan = {
    connections: PLAN.connections,
    seconds: PLAN.loadSeconds,
    rounds: PLAN.loadRounds,
    warmupSeconds: PLAN.warmupSeconds,
    path: pathname + search,
    headers: fixture.headers,
    workerdPid: workerd.pid,
    originsPid: origins.pid,
  };
  const load = await runLoad(loadPlan);
  progress(`KV reads: ${PLAN.kvSeconds} s of load on the router, ${PLAN.kvBaselineSeconds} s on the router without cache`);
  const kv = await measureKv(loadPlan, PLAN.kvSeconds, PLAN.kvBaselineSeconds);
  raw.load = load;
  raw.kv = kv;
  rows.push(...loadRows(load, loadPlan), ...kvRows(kv, builds.vars.RULES_TTL_MS ?? "5000"), ...bundleRows(builds));

  const durationSeconds = (Date.now() - startedAt.getTime()) / 1000;
  const problems = workerd.problems();
  const result = { startedAt: startedAt.toISOString(), quick, durationSeconds, machine, loadAverageAtEnd: loadavg(), plan: PLAN, problems, rows, raw };
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
  console.log(`problems the router logged during the run: ${problems.length ? `\n  ${problems.slice(0, 5).join("\n  ")}` : "none"}`);
  console.log(formatTable(rows));
  console.log(`\n${rows.length} figures in ${durationSeconds.toFixed(0)} s; results in bench/results/latest.json`);
} finally {
  await node?.close().catch(() => {});
  await workerd.stop();
  await origins.stop();
}
