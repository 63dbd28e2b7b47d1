import { type Figure, target } from "./report.ts";
import { median, quantile } from "./stats.ts";
import { PORTS, url } from "./workerd.ts";

/** What the bench worker times (isolate/paths.ts): the three peers' whole handlers and the edge's decision path. */
const HANDLERS = ["passthrough", "hand-rolled", "edge", "decision"] as const;
type Handler = (typeof HANDLERS)[number];

/** workerd's clock inside a Worker ticks in whole ms, so calls are timed in batches of at least this long. */
const SAMPLE_MS = 50;

/**
 * Per-request work inside workerd, every call answered by the same origin stub: each handler for
 * `seconds` per round, round after round, so noise from the rest of the machine lands on all alike.
 * Each sample is one batch's mean time per call (µs); samples are pooled over rounds.
 */
export async function measureInside(rounds: number, seconds: number): Promise<Record<Handler, number[]>> {
  const samples = Object.fromEntries(HANDLERS.map((h) => [h, [] as number[]])) as Record<Handler, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (const handler of HANDLERS) {
      const response = await fetch(`${url(PORTS.bench)}/measure?handler=${handler}&seconds=${seconds}&sampleMs=${SAMPLE_MS}`);
      if (!response.ok) throw new Error(`bench worker: ${handler}: ${response.status} ${await response.text()}`);
      samples[handler].push(...((await response.json()) as { samples: number[] }).samples);
    }
  }
  return samples;
}

/** The whole handlers side by side, and the decision path held to 20 µs. */
export function insideFigures(samples: Record<Handler, number[]>, rounds: number): Figure[] {
  const section = `Per request inside workerd, origin stubbed (${rounds} rounds in alternation; a sample is a batch of ≥ ${SAMPLE_MS} ms, workerd's clock ticks in ms)`;
  const at = (q: number) => (handler: Handler) => quantile(samples[handler], q);
  const peers = (pick: (h: Handler) => number) => ({ edge: pick("edge"), "hand-rolled": pick("hand-rolled"), passthrough: pick("passthrough") });
  const med = peers(at(0.5));
  const added = (h: "edge" | "hand-rolled") => `+${(med[h] - med.passthrough).toFixed(1)}`;
  const decision = median(samples.decision);
  return [
    { section, name: "whole Worker, median", unit: "µs", values: med, note: `over passthrough: edge ${added("edge")} µs, hand-rolled ${added("hand-rolled")} µs` },
    { section, name: "whole Worker, p99 of batch means", unit: "µs", values: peers(at(0.99)) },
    {
      section,
      name: "edge decision path, median",
      unit: "µs",
      values: { edge: decision },
      target: target("edge decision path µs", decision, 20, true, med["hand-rolled"]),
      note: "rules cache, readVisitor, decide, targetUrl, originHeaders, stamp; hand-rolled: its whole handler",
    },
  ];
}
