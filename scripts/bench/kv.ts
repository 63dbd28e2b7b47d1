import { checkServes, hammer } from "./load.ts";
import { type Row, row } from "./report.ts";
import { PORTS, url } from "./workerd.ts";

interface Count {
  reads: number;
  requests: number;
  seconds: number;
}

/**
 * KV reads in steady state, counted by the KV service the router's KV binding talks to: the router
 * as configured, hammered without a break for longer than two RULES_TTL_MS periods, against the same
 * router reading KV on every request (RULES_TTL_MS=0). Local workerd runs one isolate; in production
 * each isolate reads on its own, so reads grow with isolates × time / RULES_TTL_MS, not with traffic.
 */
export async function measureKv(plan: { connections: number; path: string; headers: Record<string, string> }, seconds: number, baselineSeconds: number) {
  const cached = await count(PORTS.router, plan, seconds);
  const uncached = await count(PORTS.routerNoCache, plan, baselineSeconds);
  return { cached, uncached };
}

/** The KV table: reads per 10,000 requests and per minute, each against RULES_TTL_MS=0. */
export function kvRows({ cached, uncached }: { cached: Count; uncached: Count }, ttlMs: string): Row[] {
  const section = `KV reads in steady state (counted by the test KV service; ${cached.seconds.toFixed(0)} s of uninterrupted load)`;
  const per10k = (c: Count) => (c.requests ? (c.reads * 10_000) / c.requests : Number.NaN);
  const perMinute = (c: Count) => (c.reads * 60) / c.seconds;
  const note = `${cached.reads} reads in ${cached.requests.toLocaleString("en-GB")} requests`;
  return [
    row(section, `per 10,000 requests, router (RULES_TTL_MS=${ttlMs})`, per10k(cached), "reads", { figure: "RULES_TTL_MS=0", value: per10k(uncached) }, note),
    row(section, "per minute, one isolate", perMinute(cached), "reads", { figure: "RULES_TTL_MS=0", value: perMinute(uncached) }),
  ];
}

async function count(port: number, plan: { connections: number; path: string; headers: Record<string, string> }, seconds: number): Promise<Count> {
  const address = `${url(port)}${plan.path}`;
  await checkServes(address, plan.headers, true);
  await hammer(address, plan, 0.5);
  await fetch(`${url(PORTS.kv)}/__bench/reset`);
  const started = performance.now();
  const result = await hammer(address, plan, seconds);
  const elapsed = (performance.now() - started) / 1000;
  const { reads } = (await (await fetch(`${url(PORTS.kv)}/__bench/reads`)).json()) as { reads: number };
  return { reads, requests: result.requests.total, seconds: elapsed };
}
