import autocannon from "autocannon";
import { ownCpuMs, processCpuMs } from "./cpu.ts";
import { type Row, row } from "./report.ts";
import { quantile } from "./stats.ts";
import { PORTS, url } from "./workerd.ts";

/** What the load test hits: (a) the origin itself, (b) the passthrough Worker, (c) the router. */
export const TARGETS = [
  { key: "origin", label: "(a) origin directly", port: PORTS.blue, routed: false },
  { key: "passthrough", label: "(b) passthrough Worker", port: PORTS.passthrough, routed: false },
  { key: "router", label: "(c) router Worker", port: PORTS.router, routed: true },
] as const;

export type TargetKey = (typeof TARGETS)[number]["key"];

export interface LoadPlan {
  connections: number;
  /** Each target is hit this long per round; rounds alternate targets so noise lands on all alike. */
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  path: string;
  headers: Record<string, string>;
  workerdPid: number;
  originsPid: number;
}

/** One target's runs pooled: throughput, latency, failures and who used the CPU. */
export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Latency in ms, from every response's own timing (autocannon's histogram rounds to whole ms). */
  p50: number;
  p99: number;
  errors: number;
  /** CPU use in % of one core during the runs (200% = both cores of this machine). */
  cpu: { generator: number; workerd: number; origins: number };
  workerdCpuMsPer1k: number;
}

/**
 * autocannon at fixed concurrency for a fixed time against each target, round after round, after
 * a warm-up that fills the isolates' caches. autocannon runs in this process, so this process's CPU
 * time is the load generator's; workerd's and the origins' come from /proc.
 */
export async function runLoad(plan: LoadPlan): Promise<Record<TargetKey, LoadResult>> {
  const totals = new Map<TargetKey, { requests: number; errors: number; wallMs: number; latencies: number[]; cpu: Record<keyof LoadResult["cpu"], number> }>();
  for (const target of TARGETS) {
    const address = `${url(target.port)}${plan.path}`;
    await checkServes(address, plan.headers, target.routed);
    await hammer(address, plan, plan.warmupSeconds);
    totals.set(target.key, { requests: 0, errors: 0, wallMs: 0, latencies: [], cpu: { generator: 0, workerd: 0, origins: 0 } });
  }
  for (let round = 0; round < plan.rounds; round++) {
    for (const target of TARGETS) {
      const total = totals.get(target.key)!;
      const before = { generator: ownCpuMs(), workerd: processCpuMs(plan.workerdPid), origins: processCpuMs(plan.originsPid), at: performance.now() };
      const result = await hammer(`${url(target.port)}${plan.path}`, plan, plan.seconds, total.latencies);
      total.wallMs += performance.now() - before.at;
      total.cpu.generator += ownCpuMs() - before.generator;
      total.cpu.workerd += processCpuMs(plan.workerdPid) - before.workerd;
      total.cpu.origins += processCpuMs(plan.originsPid) - before.origins;
      total.requests += result.requests.total;
      total.errors += result.errors + result.non2xx;
    }
  }
  const results = {} as Record<TargetKey, LoadResult>;
  for (const [key, t] of totals) {
    const percent = (cpuMs: number) => (cpuMs / t.wallMs) * 100;
    results[key] = {
      requests: t.requests,
      seconds: t.wallMs / 1000,
      rps: t.requests / (t.wallMs / 1000),
      p50: quantile(t.latencies, 0.5),
      p99: quantile(t.latencies, 0.99),
      errors: t.errors,
      cpu: { generator: percent(t.cpu.generator), workerd: percent(t.cpu.workerd), origins: percent(t.cpu.origins) },
      workerdCpuMsPer1k: t.requests ? (t.cpu.workerd * 1000) / t.requests : Number.NaN,
    };
  }
  return results;
}

/** The load table: the passthrough (b) against the origin (a), the router (c) against the passthrough (b). */
export function loadRows(results: Record<TargetKey, LoadResult>, plan: LoadPlan): Row[] {
  const section = `Under load: autocannon, ${plan.connections} connections, ${plan.rounds} × ${plan.seconds} s per target in alternation, local workerd`;
  const baselineOf: Record<TargetKey, TargetKey | undefined> = { origin: undefined, passthrough: "origin", router: "passthrough" };
  const short = (key: TargetKey) => TARGETS.find((t) => t.key === key)!.label.slice(0, 3);
  const cpuNote = (r: LoadResult) =>
    `CPU % of one core: autocannon ${r.cpu.generator.toFixed(0)}, workerd ${r.cpu.workerd.toFixed(0)}, origins ${r.cpu.origins.toFixed(0)}`;
  const everyTarget: readonly TargetKey[] = ["origin", "passthrough", "router"];
  const figures: { name: string; unit: string; pick: (r: LoadResult) => number; targets: readonly TargetKey[] }[] = [
    { name: "requests/s", unit: "req/s", pick: (r) => r.rps, targets: everyTarget },
    { name: "latency p50", unit: "ms", pick: (r) => r.p50, targets: everyTarget },
    { name: "latency p99", unit: "ms", pick: (r) => r.p99, targets: everyTarget },
    { name: "errors (incl. non-2xx)", unit: "", pick: (r) => r.errors, targets: everyTarget },
    { name: "workerd CPU per 1,000 requests", unit: "ms", pick: (r) => r.workerdCpuMsPer1k, targets: ["passthrough", "router"] },
  ];
  const rows: Row[] = [];
  for (const { name, unit, pick, targets } of figures) {
    for (const target of TARGETS.filter((t) => targets.includes(t.key))) {
      const base = baselineOf[target.key];
      const baseline = base && targets.includes(base) ? { figure: short(base), value: pick(results[base]) } : undefined;
      const note = name === "requests/s" ? cpuNote(results[target.key]) : undefined;
      rows.push(row(section, `${name}: ${target.label}`, pick(results[target.key]), unit, baseline, note));
    }
  }
  return rows;
}

/** Fails the run early when a target does not answer like the site would (the router must route and stamp). */
export async function checkServes(address: string, headers: Record<string, string>, routed: boolean): Promise<void> {
  const response = await fetch(address, { headers });
  const body = await response.text();
  if (response.status !== 200 || !/\b(blue|green)\b/.test(body)) throw new Error(`${address} answered ${response.status}: ${body}`);
  if (routed && !response.headers.get("x-canary-version")) throw new Error(`${address} did not stamp x-canary-version`);
  if (response.headers.getSetCookie().length > 0) {
    throw new Error(`${address} set cookies (${response.headers.getSetCookie().join(" | ")}): the visitor is not in steady state`);
  }
}

/** One autocannon run; with `latencies`, every response's time (ms, fractional) is added to it. */
export function hammer(
  address: string,
  plan: Pick<LoadPlan, "connections" | "headers">,
  seconds: number,
  latencies?: number[],
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const options = { url: address, connections: plan.connections, duration: seconds, headers: plan.headers, timeout: 10 };
    const instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
    if (latencies) instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
}
