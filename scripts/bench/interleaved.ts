// One connection per peer, one request in flight, the peers taking turns request by request: whatever the machine does meanwhile reaches every peer alike.
import { Agent, request } from "node:http";
import { PEERS, type Peer } from "./build.ts";
import { heldToTarget, type LoadPlan, medians } from "./load.ts";
import { seededRandom, shuffled } from "./order.ts";
import type { Figure } from "./report.ts";
import { quantile } from "./stats.ts";
import type { Visitor } from "./visitor.ts";
import { PORTS } from "./workerd.ts";

/** One peer's requests in one block of time. */
export interface Block {
  requests: number;
  errors: number;
  /** Latency in ms, from sending the request to the response's last byte, as this process sees it. */
  p50: number;
  p99: number;
}

/**
 * `plan.rounds` blocks of `plan.seconds`: each visitor's request goes to every peer in turn, in an
 * order drawn anew per visitor (seeded), on one kept-alive connection per peer. A block is a
 * pairing unit like a round of runLoad, but its peers share every moment of it instead of taking
 * consecutive seconds, so the machine's drift cancels out of the paired readings.
 */
export async function runInterleaved(plan: LoadPlan): Promise<Record<Peer, Block[]>> {
  const agents = Object.fromEntries(PEERS.map((peer) => [peer, new Agent({ keepAlive: true, maxSockets: 1 })])) as Record<Peer, Agent>;
  const random = seededRandom(plan.seed);
  let next = 0;
  /** Every peer serves the next visitor once; each latency goes to `into` (when measuring). */
  const turn = async (into?: Record<Peer, { latencies: number[]; errors: number }>) => {
    const visitor = plan.visitors[next++ % plan.visitors.length]!;
    for (const peer of shuffled(PEERS, random)) {
      const { ms, status } = await send(agents[peer], PORTS[peer], plan.path, visitor);
      if (!into) continue;
      if (status === 200) into[peer].latencies.push(ms);
      else into[peer].errors += 1; // counted apart: an error's latency is not the router's
    }
  };
  try {
    for (const warm = performance.now() + plan.warmupSeconds * 1000; performance.now() < warm; ) await turn();
    const blocks = Object.fromEntries(PEERS.map((peer) => [peer, [] as Block[]])) as Record<Peer, Block[]>;
    for (let round = 0; round < plan.rounds; round++) {
      const seen = Object.fromEntries(PEERS.map((peer) => [peer, { latencies: [] as number[], errors: 0 }])) as Record<Peer, { latencies: number[]; errors: number }>;
      for (const end = performance.now() + plan.seconds * 1000; performance.now() < end; ) await turn(seen);
      for (const peer of PEERS) {
        const { latencies, errors } = seen[peer];
        blocks[peer].push({ requests: latencies.length, errors, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) });
      }
    }
    return blocks;
  } finally {
    for (const agent of Object.values(agents)) agent.destroy();
  }
}

function send(agent: Agent, port: number, path: string, visitor: Visitor): Promise<{ ms: number; status: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const sent = request({ host: "127.0.0.1", port, path, headers: visitor.headers, agent }, (response) => {
      response.on("error", reject);
      response.on("end", () => resolve({ ms: performance.now() - started, status: response.statusCode ?? 0 }));
      response.resume();
    });
    sent.on("error", reject);
    sent.end();
  });
}

/** The one-connection p50 target read on the interleaved blocks, with its A/A pair. */
export function interleavedFigures(blocks: Record<Peer, Block[]>, plan: LoadPlan): Figure[] {
  const perBlock = Math.round(blocks.edge.reduce((sum, b) => sum + b.requests, 0) / blocks.edge.length);
  const section =
    `One connection, interleaved: each visitor's request sent to every peer in turn (order seeded per visitor), one request in flight, ` +
    `${plan.rounds} blocks × ${plan.seconds} s, about ${perBlock} requests per peer and block (medians of per-block readings)`;
  const errors = Object.fromEntries(PEERS.map((peer) => [peer, blocks[peer].reduce((sum, b) => sum + b.errors, 0)]));
  return [
    heldToTarget(blocks, { section, name: "latency p50", unit: "ms" }, (b) => b.p50, { compare: "−", against: "hand-rolled", limit: 0.03, atMost: true }),
    { section, name: "latency p99", unit: "ms", values: medians(blocks, (b) => b.p99) },
    { section, name: "errors (non-200), all blocks", unit: "", values: errors },
  ];
}
