import { PEERS, type Peer } from "./build.ts";
import { quantile } from "./stats.ts";

/** A target, checked against a figure measured in the same run. */
export interface Target {
  /** How the figure is read, e.g. "edge ÷ passthrough ≤ 1.25". */
  rule: string;
  measured: number;
  limit: number;
  /** The same reading for the other peers against the same base (e.g. the hand-rolled router's): what careful hand-written code, or the edge measured again, achieves. */
  alongside?: Partial<Record<Peer, number>>;
  /** The 25th to 75th percentile (nearest rank) of the samples `measured` is the median of: how far this machine's noise moves it. */
  spread?: readonly [number, number];
  /** The A/A reading: the edge's identical copy read against the edge the same way, round by round. Anything but 1 (÷) or 0 (−) is this machine's noise. */
  aa?: { rule: string; measured: number; spread: readonly [number, number] };
  /** The samples `measured` is the median of (per-round readings under load), kept for the JSON. */
  samples?: readonly number[];
  pass: boolean;
}

/** One line of the table: a figure for each peer that has it, and the target it is held to. */
export interface Figure {
  section: string;
  name: string;
  unit: string;
  values: Partial<Record<Peer, number>>;
  target?: Target;
  /** One of the run's headline targets: listed first, apart from the others. */
  headline?: boolean;
  note?: string;
}

/** A target whose reading must stay at or below (`atMost`) or at or above `limit`; `samples` are what the reading is the median of. */
export function target(
  rule: string,
  measured: number,
  limit: number,
  atMost: boolean,
  extra: { alongside?: Target["alongside"]; samples?: readonly number[]; aa?: Target["aa"] } = {},
): Target {
  const pass = atMost ? measured <= limit : measured >= limit;
  const spread = extra.samples && extra.samples.length > 1 ? ([quantile(extra.samples, 0.25), quantile(extra.samples, 0.75)] as const) : undefined;
  return { rule: `${rule} ${atMost ? "≤" : "≥"} ${limit}`, measured, limit, ...(spread && { spread }), ...extra, pass };
}

/** Rounds for reading: three significant digits, whole numbers from 100 up. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (Math.abs(value) >= 100 || Number.isInteger(value)) return Math.round(value).toLocaleString("en-GB");
  return value.toPrecision(3);
}

const quartiles = (spread: readonly [number, number]) => `, quartiles ${formatNumber(spread[0])}–${formatNumber(spread[1])}`;

function formatTarget(t: Target): string {
  const others = Object.entries(t.alongside ?? {}).map(([peer, value]) => `${peer} ${formatNumber(value)}`);
  const alongside = others.length ? ` (${others.join(", ")})` : "";
  const aa = t.aa ? `; A/A ${t.aa.rule}: ${formatNumber(t.aa.measured)}${quartiles(t.aa.spread)}` : "";
  // A reading that rounds to its limit gets a fourth digit, so a FAIL never reads as the limit itself.
  const measured = formatNumber(t.measured) === formatNumber(t.limit) && t.measured !== t.limit ? t.measured.toPrecision(4) : formatNumber(t.measured);
  return `${t.pass ? "PASS" : "FAIL"}  ${t.rule}: ${measured}${t.spread ? quartiles(t.spread) : ""}${alongside}${aa}`;
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

/** The targets alone, one line each, the headline ones first: what the closing note of a run lists. */
export function formatVerdicts(figures: Figure[]): string {
  const block = (title: string, targets: Figure[]) => {
    const failed = targets.filter((f) => !f.target!.pass).length;
    return [`${title}: ${targets.length - failed} of ${targets.length} pass`, ...targets.map((f) => `  ${formatTarget(f.target!)}  [${f.name}]`)];
  };
  const targets = figures.filter((f) => f.target);
  const headline = targets.filter((f) => f.headline);
  const others = targets.filter((f) => !f.headline);
  return [...(headline.length ? block("headline targets (the edge against the hand-rolled router, paired per round)", headline) : []), ...block(headline.length ? "other targets" : "targets", others)].join("\n");
}
