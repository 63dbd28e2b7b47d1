import { largestHandlers } from "./largest.ts";
import { type Figure, target } from "./report.ts";
import { median, quantile, type Samples } from "./stats.ts";

export type { Samples };
import { PORTS, url } from "./workerd.ts";

/** What the bench worker times (isolate/paths.ts): the three peers' whole handlers, the edge's decision path (alone and carried through fetch and stamp), and its steps. */
const HANDLERS = ["passthrough", "hand-rolled", "edge", "decision", "decision+stamp"] as const;

/** workerd's clock inside a Worker ticks in whole ms, so calls are timed in batches of at least this long. */
const SAMPLE_MS = 50;

/**
 * Per-request work inside workerd, every call answered by the same origin stub: each handler for
 * `seconds` per round, round after round, so noise from the rest of the machine lands on all alike.
 */
export async function measureInside(rounds: number, seconds: number): Promise<{ samples: Samples; largest: string[] }> {
  const steps = (await (await fetch(`${url(PORTS.bench)}/steps`)).json()) as string[];
  const largest = (await (await fetch(`${url(PORTS.bench)}/largest`)).json()) as string[];
  const handlers = [...HANDLERS, ...steps.map((step) => `step:${step}`), ...largestHandlers(largest)];
  const samples: Samples = Object.fromEntries(handlers.map((h) => [h, { batches: [], rounds: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (const handler of handlers) {
      const response = await fetch(`${url(PORTS.bench)}/measure?handler=${encodeURIComponent(handler)}&seconds=${seconds}&sampleMs=${SAMPLE_MS}`);
      if (!response.ok) throw new Error(`bench worker: ${handler}: ${response.status} ${await response.text()}`);
      const batches = ((await response.json()) as { samples: number[] }).samples;
      samples[handler]!.batches.push(...batches);
      samples[handler]!.rounds.push(batches.reduce((sum, b) => sum + b, 0) / batches.length);
    }
  }
  return { samples, largest };
}

/** The whole handlers side by side, the decision path held to 20 µs, and its steps. */
export function insideFigures(samples: Samples, rounds: number): Figure[] {
  const section = `Per request inside workerd, origin stubbed (${rounds} rounds in alternation; a sample is a batch of ≥ ${SAMPLE_MS} ms, workerd's clock ticks in ms)`;
  const at = (q: number) => (handler: string) => quantile(samples[handler]!.batches, q);
  const fastestRound = (handler: string) => Math.min(...samples[handler]!.rounds);
  const peers = (pick: (h: string) => number) => ({ edge: pick("edge"), "hand-rolled": pick("hand-rolled"), passthrough: pick("passthrough") });
  const med = peers(at(0.5));
  const added = (h: "edge" | "hand-rolled") => `+${(med[h] - med.passthrough).toFixed(1)}`;
  const decision = median(samples.decision!.batches);
  const stepSection = "The edge's decision path step by step, inside workerd (each step alone, with the inputs the step before produced)";
  const steps = Object.keys(samples).filter((h) => h.startsWith("step:"));
  return [
    { section, name: "whole Worker, median", unit: "µs", values: med, note: `over passthrough: edge ${added("edge")} µs, hand-rolled ${added("hand-rolled")} µs` },
    { section, name: "whole Worker, fastest round's mean", unit: "µs", values: peers(fastestRound), note: "the least disturbed round: nearest the true cost on a busy machine" },
    { section, name: "whole Worker, p99 of batch means", unit: "µs", values: peers(at(0.99)) },
    {
      section,
      name: "edge decision path, median",
      unit: "µs",
      values: { edge: decision },
      target: target("edge decision path µs", decision, 20, true, { samples: samples.decision!.batches }),
      note: "rules, cookies, bucket, targeting, the origin's request built (issue 6's definition)",
    },
    { section, name: "edge decision path, fastest round's mean", unit: "µs", values: { edge: fastestRound("decision") } },
    {
      section,
      name: "decision path + stub fetch + stamp, median",
      unit: "µs",
      values: { edge: median(samples["decision+stamp"]!.batches) },
      note: "the path carried through to the visitor's response (no target; the fetch and the response copy are the platform's)",
    },
    ...steps.map((step) => ({
      section: stepSection,
      name: `${step.slice(5)}, median`,
      unit: "µs",
      values: { edge: median(samples[step]!.batches) },
      note: `fastest round ${fastestRound(step).toPrecision(2)} µs; ${((median(samples[step]!.batches) / decision) * 100).toFixed(0)} % of the decision path's median`,
    })),
  ];
}
