import autocannon from "autocannon";
import { PEERS, type Peer } from "./build.ts";
import { ownCpuMs, processCpuMs } from "./cpu.ts";
import type { Visitor } from "./visitor.ts";
import { roundOrders } from "./order.ts";
import { type Figure, target } from "./report.ts";
import { type Comparison, median, paired, quantile, spreadOf } from "./stats.ts";
import { PORTS, url } from "./workerd.ts";

/** How a load test runs: every peer for `seconds` per round, the peers' order in each round balanced and seeded (order.ts). */
export interface LoadPlan {
  connections: number;
  seconds: number;
  rounds: number;
  /** Seeds the rounds' orders: the same seed, the same orders on every run. */
  seed: number;
  warmupSeconds: number;
  path: string;
  /** Every connection sends these visitors' requests in turn, the split's mix (isolate/fixtures.ts). */
  visitors: Visitor[];
  workerdPid: number;
  originsPid: number;
}

/** One peer's run in one round. */
export interface LoadRound {
  /** Where the peer ran in its round's order (0: first). */
  position: number;
  /** The run's wall time, from which rps and CPU shares are read. */
  seconds: number;
  requests: number;
  rps: number;
  /** Latency in ms, from every response's own timing (autocannon's histogram rounds to whole ms). */
  p50: number;
  p99: number;
  errors: number;
  workerdCpuMsPer1k: number;
  /** CPU use in % of one core during the run (200 % = both cores of this machine). */
  cpu: { generator: number; workerd: number; origins: number };
}

/**
 * autocannon at fixed concurrency against each peer, round after round, after a warm-up that
 * fills the isolates' caches; each round runs every peer once, in that round's order, so every
 * peer goes first, and after each other peer, equally often. autocannon runs in this process, so
 * this process's CPU time is the load generator's; workerd's and the origins' come from /proc.
 * All peers run in the one workerd and only one is loaded at a time, so workerd's CPU in a run is
 * that peer's.
 */
export async function runLoad(plan: LoadPlan): Promise<Record<Peer, LoadRound[]>> {
  const rounds = Object.fromEntries(PEERS.map((peer) => [peer, [] as LoadRound[]])) as Record<Peer, LoadRound[]>;
  for (const peer of PEERS) {
    const address = `${url(PORTS[peer])}${plan.path}`;
    for (const visitor of plan.visitors) await checkServes(address, visitor, peer !== "passthrough");
    await hammer(address, plan, plan.warmupSeconds);
  }
  for (const order of roundOrders(PEERS, plan.rounds, plan.seed)) {
    for (const [position, peer] of order.entries()) {
      const latencies: number[] = [];
      const before = { generator: ownCpuMs(), workerd: processCpuMs(plan.workerdPid), origins: processCpuMs(plan.originsPid), at: performance.now() };
      const result = await hammer(`${url(PORTS[peer])}${plan.path}`, plan, plan.seconds, latencies);
      const wallMs = performance.now() - before.at;
      const workerd = processCpuMs(plan.workerdPid) - before.workerd;
      const percent = (cpuMs: number) => (cpuMs / wallMs) * 100;
      const requests = result.requests.total;
      rounds[peer].push({
        position,
        seconds: wallMs / 1000,
        requests,
        rps: requests / (wallMs / 1000),
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        errors: result.errors + result.non2xx,
        workerdCpuMsPer1k: requests ? (workerd * 1000) / requests : Number.NaN,
        cpu: { generator: percent(ownCpuMs() - before.generator), workerd: percent(workerd), origins: percent(processCpuMs(plan.originsPid) - before.origins) },
      });
    }
  }
  return rounds;
}

/** Each peer's median over rounds of one figure. */
export function medians<R>(rounds: Record<Peer, R[]>, pick: (r: R) => number): Record<Peer, number> {
  return Object.fromEntries(PEERS.map((peer) => [peer, median(rounds[peer].map(pick))])) as Record<Peer, number>;
}

/**
 * A figure held to a target against `base` (the passthrough or the hand-rolled router): the
 * reading is the median of the edge's per-round readings, its value compared (÷ or −) with the
 * base's of the same round; the other peers are read against the same base, and the A/A pair
 * (edge-copy against the edge) the same way, to show how far noise alone moves such a reading.
 */
export function heldToTarget<R>(
  rounds: Record<Peer, R[]>,
  base: Omit<Figure, "values" | "target">,
  pick: (r: R) => number,
  rule: { compare: Comparison; against: Peer; limit: number; atMost: boolean },
): Figure {
  const values = (peer: Peer) => rounds[peer].map(pick);
  const readings = (peer: Peer, against = rule.against) => paired(values(peer), values(against), rule.compare);
  const unit = rule.compare === "−" && base.unit ? `, ${base.unit}` : "";
  const others = PEERS.filter((peer) => peer !== "edge" && peer !== rule.against && peer !== "passthrough");
  const alongside = Object.fromEntries(others.map((peer) => [peer, median(readings(peer))]));
  const aa = spreadOf(readings("edge-copy", "edge"));
  const edge = readings("edge");
  const held = target(`edge ${rule.compare} ${rule.against}${unit}`, median(edge), rule.limit, rule.atMost, {
    alongside,
    samples: edge,
    aa: { rule: `edge-copy ${rule.compare} edge${unit}`, measured: aa.median, spread: [aa.q25, aa.q75] },
  });
  return { ...base, values: medians(rounds, pick), target: held };
}

const roundsOf = (plan: LoadPlan) => `${plan.rounds} rounds × ${plan.seconds} s per peer, the peers' order balanced and seeded per round`;

/**
 * The headline: the edge against the hand-rolled router, paired per round, in the same run: CPU
 * per request under load within 3 % of it, and one-connection p50 within 0.03 ms of it. Each with
 * the A/A pair beside it: the same reading of the edge's identical copy against the edge.
 */
export function headlineFigures(load: Record<Peer, LoadRound[]>, loadPlan: LoadPlan, single: Record<Peer, LoadRound[]>, singlePlan: LoadPlan): Figure[] {
  const section =
    `Headline: the edge against the hand-rolled router, paired per round (under load ${roundsOf(loadPlan)}; one connection ${singlePlan.rounds} × ${singlePlan.seconds} s; ` +
    "each reading the median of per-round readings, quartiles of them; A/A: the edge's identical copy read against the edge)";
  return [
    {
      ...heldToTarget(load, { section, name: `under load (${loadPlan.connections} conn.), workerd CPU per 1,000 requests`, unit: "ms" }, (r) => r.workerdCpuMsPer1k, {
        compare: "÷",
        against: "hand-rolled",
        limit: 1.03,
        atMost: true,
      }),
      headline: true,
    },
    {
      ...heldToTarget(single, { section, name: "one connection, latency p50", unit: "ms" }, (r) => r.p50, { compare: "−", against: "hand-rolled", limit: 0.03, atMost: true }),
      headline: true,
    },
  ];
}

/** Many connections: req/s and workerd CPU per request against the passthrough's, each held to its target. */
export function loadFigures(rounds: Record<Peer, LoadRound[]>, plan: LoadPlan): Figure[] {
  const section = `Under load: autocannon, ${plan.connections} connections, ${roundsOf(plan)}, local workerd (medians over rounds)`;
  const errors = Object.fromEntries(PEERS.map((peer) => [peer, rounds[peer].reduce((sum, r) => sum + r.errors, 0)]));
  const share = medians(rounds, (r) => r.cpu.workerd);
  const passthrough = (limit: number, atMost: boolean) => ({ compare: "÷" as const, against: "passthrough" as const, limit, atMost });
  return [
    heldToTarget(rounds, { section, name: "requests/s", unit: "" }, (r) => r.rps, passthrough(0.8, false)),
    heldToTarget(rounds, { section, name: "workerd CPU per 1,000 requests", unit: "ms" }, (r) => r.workerdCpuMsPer1k, passthrough(1.25, true)),
    { section, name: "latency p50", unit: "ms", values: medians(rounds, (r) => r.p50) },
    { section, name: "latency p99", unit: "ms", values: medians(rounds, (r) => r.p99) },
    { section, name: "errors (incl. non-2xx), all rounds", unit: "", values: errors },
    {
      section,
      name: "workerd CPU, % of one core",
      unit: "%",
      values: share,
      note: `autocannon ${median(rounds.edge.map((r) => r.cpu.generator)).toFixed(0)} %, origins ${median(rounds.edge.map((r) => r.cpu.origins)).toFixed(0)} % during the edge's runs (2 cores = 200 %)`,
    },
  ];
}

/** One connection, one request at a time: what the router adds to a visitor's wait when nothing queues. */
export function singleFigures(rounds: Record<Peer, LoadRound[]>, plan: LoadPlan): Figure[] {
  const section = `One connection: autocannon, 1 connection, ${roundsOf(plan)} (medians over rounds)`;
  return [
    heldToTarget(rounds, { section, name: "latency p50", unit: "ms" }, (r) => r.p50, { compare: "−", against: "passthrough", limit: 0.2, atMost: true }),
    { section, name: "latency p99", unit: "ms", values: medians(rounds, (r) => r.p99) },
    { section, name: "requests/s", unit: "", values: medians(rounds, (r) => r.rps) },
  ];
}

/** Fails the run early when a peer does not answer like the site would (routers must route the visitor to its version and stamp, in steady state). */
export async function checkServes(address: string, visitor: Visitor, routed: boolean): Promise<void> {
  const response = await fetch(address, { headers: visitor.headers });
  const body = await response.text();
  if (response.status !== 200 || !/\b(blue|green)\b/.test(body)) throw new Error(`${address} answered ${response.status}: ${body}`);
  if (routed && (response.headers.get("x-canary-version") !== visitor.colour || !new RegExp(`\\b${visitor.colour}\\b`).test(body))) {
    throw new Error(`${address} served ${response.headers.get("x-canary-version")} (${body.trim()}) to a ${visitor.colour} visitor`);
  }
  if (response.headers.getSetCookie().length > 0) {
    throw new Error(`${address} set cookies (${response.headers.getSetCookie().join(" | ")}): the visitor is not in steady state`);
  }
}

/**
 * autocannon stops at the first sample tick after `duration` and keeps sending until then: with its
 * default tick (1 s) a run of a fraction of a second lasts to the next whole second (the quick
 * run's 0.75 s ran 1 s). A 100 ms tick ends each run within 0.1 s of its duration (rates and CPU
 * use the run's own wall time either way).
 */
const SAMPLE_TICK_MS = 100;

/** One autocannon run; with `latencies`, every response's time (ms, fractional) is added to it. */
function hammer(address: string, plan: Pick<LoadPlan, "connections" | "visitors">, seconds: number, latencies?: number[]): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const requests = plan.visitors.map((visitor) => ({ method: "GET" as const, headers: visitor.headers }));
    const options = { url: address, connections: plan.connections, duration: seconds, requests, timeout: 10, sampleInt: SAMPLE_TICK_MS };
    const instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
    if (latencies) instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
}
