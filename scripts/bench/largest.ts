import { type Figure, target } from "./report.ts";
import { median, type Samples } from "./stats.ts";

/** What is timed of each largest document (isolate/largest-paths.ts), as bench worker handlers. */
const PARTS = ["decide", "compile", "check+compile"] as const;

export const largestHandlers = (names: readonly string[]) => names.flatMap((_, i) => PARTS.map((part) => `largest:${part}:${i}`));

/**
 * The largest documents the validators accept (every limit at its cap), each with its costliest
 * visitor: `decide` held to 50 µs and what a new isolate pays for such a revision (the edge's check
 * of the text and compileRules) to 50 ms, the worst case of each, as issue 19 asks.
 */
export function largestFigures(samples: Samples, names: readonly string[]): Figure[] {
  const section = "The largest documents the validators accept, inside workerd (every limit at its cap; the visitor meets every condition but each rule's last)";
  const of = (part: (typeof PARTS)[number], i: number) => samples[`largest:${part}:${i}`]!.batches;
  const ms = (values: number[]) => values.map((us) => us / 1000);
  const rows = names.flatMap((name, i): Figure[] => [
    { section, name: `${name}: decide`, unit: "µs", values: { edge: median(of("decide", i)) } },
    { section, name: `${name}: compileRules`, unit: "ms", values: { edge: median(ms(of("compile", i))) } },
    { section, name: `${name}: check + compile`, unit: "ms", values: { edge: median(ms(of("check+compile", i))) }, note: "the edge's check of the text, then compileRules: a new revision in an isolate" },
  ]);
  const worst = (part: (typeof PARTS)[number], scale: (v: number[]) => number[]) => {
    const i = names.map((_, k) => median(scale(of(part, k)))).reduce((best, value, k, all) => (value > all[best]! ? k : best), 0);
    return { i, samples: scale(of(part, i)), value: median(scale(of(part, i))) };
  };
  const decide = worst("decide", (v) => v);
  const load = worst("check+compile", ms);
  const compile = worst("compile", ms);
  return [
    ...rows,
    {
      section,
      name: "largest document: decide",
      unit: "µs",
      values: { edge: decide.value },
      target: target("largest document: decide µs", decide.value, 50, true, { samples: decide.samples }),
      note: `worst of the documents above: ${names[decide.i]}`,
    },
    {
      section,
      name: "largest document: compile",
      unit: "ms",
      values: { edge: load.value },
      target: target("largest document: compile (check + compileRules) ms", load.value, 50, true, { samples: load.samples }),
      note: `worst: ${names[load.i]}; compileRules alone at most ${compile.value.toFixed(1)} ms (${names[compile.i]})`,
    },
  ];
}
