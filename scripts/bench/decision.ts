import { type Row, row } from "./report.ts";
import { summary } from "./stats.ts";
import { interleave, type Runtime } from "./timing.ts";

/**
 * Per-request work: the router Worker and its decision path against the bare passthrough Worker,
 * all three answered by the same origin stub inside one isolate (see isolate/paths.ts).
 */
export async function measurePerRequest(runtime: Runtime, rounds: number, seconds: number) {
  const results = await interleave(
    runtime,
    { passthrough: "handler=passthrough", router: "handler=router", decision: "handler=decision" },
    rounds,
    seconds,
  );
  const base = summary(results.passthrough!.samples);
  const section = sectionName("Per request", runtime);
  const rows: Row[] = [];
  for (const [name, label] of [
    ["router", "router Worker (index.ts, origin stubbed)"],
    ["decision", "decision path (cache, cookie, bucket, rules, headers, stamp)"],
  ] as const) {
    const s = summary(results[name]!.samples);
    rows.push(row(section, `${label}, median`, s.median, "µs", { figure: "passthrough", value: base.median }, `+${(s.median - base.median).toFixed(1)} µs`));
    rows.push(row(section, `${label}, p99`, s.p99, "µs", { figure: "passthrough", value: base.p99 }));
  }
  return { rows, raw: results };
}

/** The heading of a timing block, saying how its samples were taken. */
export function sectionName(what: string, runtime: Runtime): string {
  return runtime.name === "workerd"
    ? `${what}, inside workerd (each sample: a batch of ≥ ${runtime.sampleMs} ms, workerd's clock ticks in ms)`
    : `${what}, Node 24 fallback (every call timed on its own)`;
}
