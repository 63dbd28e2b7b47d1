import type { Colour } from "../../core/rules.ts";
import type { ChartWindow } from "../rollout/status.ts";
import type { HistoryEntry } from "../release/store.ts";

/**
 * The analysis's evidence as a server-rendered SVG, no script: each colour's error rate and p95 over
 * the last judged windows, each window's verdict and the canary's share, and the rollbacks, ramps
 * and promotions of the history on the same time line. A pure function of the status and history.
 */

const WIDTH = 720;
const LEFT = 56;
const RIGHT = 12;
const PANEL = 110;
const GAP = 26;
const STRIP = 18;
const COLOURS: Record<Colour, string> = { blue: "#1d4ed8", green: "#15803d" };
const VERDICT_FILL = { healthy: "#bbf7d0", failing: "#fca5a5", "not-enough-data": "#e5e7eb" } as const;
/** History actions drawn as markers, and how. */
const MARKERS: Record<string, { label: string; colour: string; kind: "rollback" | "step" | "promote" }> = {
  "auto-rollback": { label: "auto-rollback", colour: "#b91c1c", kind: "rollback" },
  revert: { label: "revert", colour: "#b91c1c", kind: "rollback" },
  "rollout-abort": { label: "abort", colour: "#b91c1c", kind: "rollback" },
  "rollout-promote": { label: "promote", colour: "#7c3aed", kind: "promote" },
  promote: { label: "promote", colour: "#7c3aed", kind: "promote" },
};

export function EvidenceChart(props: { windows: ChartWindow[]; history: HistoryEntry[]; latch: { at: string; revision: number } | null }) {
  const windows = props.windows;
  if (windows.length === 0) return <p class="note">No window judged yet: the chart starts with the first one.</p>;
  const from = windows[0]!.start;
  const lastEnd = windows.at(-1)!.end;
  const top = { errors: 20, latency: 20 + PANEL + GAP, strip: 20 + 2 * (PANEL + GAP) };
  const height = top.strip + STRIP + 40;
  const maxRate = niceMax(Math.max(1, ...windows.flatMap((w) => Object.values(w.colours).map((c) => c.errorRate))));
  const maxP95 = niceMax(Math.max(10, ...windows.flatMap((w) => Object.values(w.colours).map((c) => c.p95 ?? 0))));
  const inRange = (marker: { time: number }) => marker.time >= from && marker.time <= lastEnd + 60_000;
  const fromHistory = props.history
    .filter((entry) => entry.updatedAt && MARKERS[entry.action ?? ""])
    .map((entry) => ({ ...MARKERS[entry.action!]!, time: Date.parse(entry.updatedAt!), revision: entry.revision }))
    .filter(inRange);
  // The latch is the analysis's own clock for its rollback: drawn when the history has no marker for it.
  const latch = props.latch && { ...MARKERS["auto-rollback"]!, time: Date.parse(props.latch.at), revision: props.latch.revision };
  const markers = latch && inRange(latch) && !fromHistory.some((m) => m.revision === latch.revision) ? [...fromHistory, latch] : fromHistory;
  // A rollback comes just after the window that caused it: the time line runs on to show it.
  const to = Math.max(lastEnd, ...markers.map((m) => m.time + 5_000));
  const x = (time: number) => LEFT + ((time - from) / (to - from)) * (WIDTH - LEFT - RIGHT);
  const steps = windows.filter((w, i) => i > 0 && w.percent !== null && w.percent !== windows[i - 1]!.percent);
  const clock = (time: number) => new Date(time).toISOString().slice(11, 19);
  return (
    <svg
      viewBox={`0 0 ${WIDTH} ${height}`}
      width="100%"
      role="img"
      aria-labelledby="evidence-title"
      data-testid="evidence-chart"
      style="max-width: 100%; font: 11px system-ui, sans-serif"
    >
      <title id="evidence-title">
        Error rate and p95 per colour over the last {windows.length} windows, {clock(from)}–{clock(to)} UTC, with each window's verdict and the canary's share
      </title>
      <Panel top={top.errors} label="error rate" unit="%" max={maxRate} />
      <Panel top={top.latency} label="p95" unit=" ms" max={maxP95} />
      {(["blue", "green"] as const).map((colour) => (
        <>
          <Line colour={colour} points={windows.map((w) => [x((w.start + w.end) / 2), top.errors + PANEL - (w.colours[colour].errorRate / maxRate) * PANEL, w.colours[colour].requests])} />
          <Line colour={colour} points={windows.map((w) => [x((w.start + w.end) / 2), w.colours[colour].p95 === null ? null : top.latency + PANEL - (w.colours[colour].p95! / maxP95) * PANEL, w.colours[colour].requests])} />
        </>
      ))}
      {windows.map((w) => (
        <rect x={x(w.start) + 0.5} y={top.strip} width={Math.max(1, x(w.end) - x(w.start) - 1)} height={STRIP} fill={VERDICT_FILL[w.verdict]} data-verdict={w.verdict}>
          <title>
            {clock(w.start)}–{clock(w.end)}: {w.verdict}
            {w.percent !== null ? `, canary at ${w.percent}%` : ""}
          </title>
        </rect>
      ))}
      <text x={4} y={top.strip + 13}>
        verdict
      </text>
      {steps.map((w) => (
        <g data-marker="step">
          <line x1={x(w.start)} x2={x(w.start)} y1={14} y2={top.strip + STRIP} stroke="#6b7280" stroke-dasharray="4 3" />
          <text x={x(w.start) + 3} y={top.strip + STRIP + 14} fill="#374151">
            → {w.percent}%
          </text>
        </g>
      ))}
      {markers.map((m) => (
        <g data-marker={m.kind}>
          <line x1={x(m.time)} x2={x(m.time)} y1={14} y2={top.strip + STRIP} stroke={m.colour} stroke-width={2} />
          <text x={x(m.time) > WIDTH / 2 ? x(m.time) - 3 : x(m.time) + 3} y={12} fill={m.colour} text-anchor={x(m.time) > WIDTH / 2 ? "end" : "start"}>
            {m.label} (rev {m.revision})
          </text>
        </g>
      ))}
      <text x={LEFT} y={height - 6} fill="#374151">
        {clock(from)} UTC
      </text>
      <text x={WIDTH - RIGHT} y={height - 6} text-anchor="end" fill="#374151">
        {clock(to)}
      </text>
      <Legend x={LEFT + 150} y={height - 6} />
    </svg>
  );
}

function Panel(props: { top: number; label: string; unit: string; max: number }) {
  return (
    <g>
      <rect x={LEFT} y={props.top} width={WIDTH - LEFT - RIGHT} height={PANEL} fill="#fafafa" stroke="#d0d5dd" />
      <line x1={LEFT} x2={WIDTH - RIGHT} y1={props.top + PANEL / 2} y2={props.top + PANEL / 2} stroke="#eef0f3" />
      <text x={LEFT - 4} y={props.top + 10} text-anchor="end">
        {props.max}
        {props.unit}
      </text>
      <text x={LEFT - 4} y={props.top + PANEL} text-anchor="end">
        0
      </text>
      <text x={LEFT + 4} y={props.top - 4} font-weight="600">
        {props.label}
      </text>
    </g>
  );
}

/** One colour's series; a window without requests of that colour breaks the line. */
function Line(props: { colour: Colour; points: [number, number | null, number][] }) {
  const segments: string[] = [];
  let current = "";
  for (const [px, py, requests] of props.points) {
    if (py === null || requests === 0) {
      if (current) segments.push(current);
      current = "";
      continue;
    }
    current += `${current ? " L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`;
  }
  if (current) segments.push(current);
  return (
    <g data-series={props.colour}>
      {segments.map((d) => (
        <path d={d} fill="none" stroke={COLOURS[props.colour]} stroke-width={props.colour === "blue" ? 4 : 2} />
      ))}
      {props.points
        .filter(([, py, requests]) => py !== null && requests > 0)
        .map(([px, py]) => (
          <circle cx={px.toFixed(1)} cy={py!.toFixed(1)} r={2.5} fill={COLOURS[props.colour]} />
        ))}
    </g>
  );
}

function Legend(props: { x: number; y: number }) {
  const items: [string, string][] = [
    ["blue", COLOURS.blue],
    ["green", COLOURS.green],
    ["healthy", VERDICT_FILL.healthy],
    ["failing", VERDICT_FILL.failing],
    ["not enough data", VERDICT_FILL["not-enough-data"]],
  ];
  let x = props.x;
  return (
    <g>
      {items.map(([label, fill]) => {
        const at = x;
        x += 14 + label.length * 6.5 + 12;
        return (
          <g>
            <rect x={at} y={props.y - 9} width={10} height={10} fill={fill} />
            <text x={at + 14} y={props.y}>
              {label}
            </text>
          </g>
        );
      })}
    </g>
  );
}

/** A round axis maximum at or above `value`: 1, 2 or 5 times a power of ten. */
export function niceMax(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value)!;
}
