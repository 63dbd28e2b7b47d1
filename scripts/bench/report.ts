import { PEERS, type Peer } from "./build.ts";
import { quantile } from "./stats.ts";

/** A target of issue 9, checked against a figure measured in the same run. */
export interface Target {
  /** How the figure is read, e.g. "edge ÷ passthrough ≤ 1.25". */
  rule: string;
  measured: number;
  /** The same reading for the hand-rolled router, when it has one: what careful hand-written code achieves. */
  handRolled?: number;
  /** The 25th to 75th percentile (nearest rank) of the samples `measured` is the median of: how far this machine's noise moves it. */
  spread?: readonly [number, number];
  pass: boolean;
}

/** One line of the table: a figure for each peer that has it, and the target it is held to. */
export interface Figure {
  section: string;
  name: string;
  unit: string;
  values: Partial<Record<Peer, number>>;
  target?: Target;
  note?: string;
}

/** A target whose reading must stay at or below (`atMost`) or at or above `limit`; `samples` are what the reading is the median of. */
export function target(rule: string, measured: number, limit: number, atMost: boolean, extra: { handRolled?: number; samples?: readonly number[] } = {}): Target {
  const pass = atMost ? measured <= limit : measured >= limit;
  const spread = extra.samples && extra.samples.length > 1 ? ([quantile(extra.samples, 0.25), quantile(extra.samples, 0.75)] as const) : undefined;
  return { rule: `${rule} ${atMost ? "≤" : "≥"} ${limit}`, measured, ...(extra.handRolled !== undefined && { handRolled: extra.handRolled }), ...(spread && { spread }), pass };
}

/** Rounds for reading: three significant digits, whole numbers from 100 up. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (Math.abs(value) >= 100 || Number.isInteger(value)) return Math.round(value).toLocaleString("en-GB");
  return value.toPrecision(3);
}

function formatTarget(t: Target): string {
  const spread = t.spread ? `, quartiles ${formatNumber(t.spread[0])}–${formatNumber(t.spread[1])}` : "";
  const handRolled = t.handRolled === undefined ? "" : ` (hand-rolled ${formatNumber(t.handRolled)})`;
  return `${t.pass ? "PASS" : "FAIL"}  ${t.rule}: ${formatNumber(t.measured)}${spread}${handRolled}`;
}

/** The table `npm run bench` prints: one block per section, the peers side by side, then the target. */
export function formatTable(figures: Figure[]): string {
  const header = ["", ...PEERS, ""];
  const cells = figures.map((f) => [
    f.name,
    ...PEERS.map((peer) => (f.values[peer] === undefined ? "" : `${formatNumber(f.values[peer])} ${f.unit}`.trim())),
    [f.target && formatTarget(f.target), f.note].filter(Boolean).join("; "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `  ${c.map((text, i) => (i === 0 ? text.padEnd(widths[i]!) : i <= PEERS.length ? text.padStart(widths[i]!) : text)).join("  ")}`.trimEnd();
  const lines: string[] = [];
  let section = "";
  figures.forEach((f, i) => {
    if (f.section !== section) {
      section = f.section;
      lines.push("", section, line(header));
    }
    lines.push(line(cells[i]!));
  });
  return lines.join("\n");
}

/** The targets alone, one line each: what the closing note of a run lists. */
export function formatVerdicts(figures: Figure[]): string {
  const targets = figures.filter((f) => f.target);
  const failed = targets.filter((f) => !f.target!.pass).length;
  return [`targets: ${targets.length - failed} of ${targets.length} pass`, ...targets.map((f) => `  ${formatTarget(f.target!)}  [${f.name}]`)].join("\n");
}
