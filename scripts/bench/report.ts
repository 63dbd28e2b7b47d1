/** One figure of the benchmark and the baseline it is read against, measured in the same run. */
export interface Row {
  section: string;
  figure: string;
  value: number;
  unit: string;
  baseline?: { figure: string; value: number };
  /** value / baseline: the number that survives a noisy machine. */
  ratio?: number;
  note?: string;
}

/** A row; the ratio is computed here so every table computes it the same way. */
export function row(section: string, figure: string, value: number, unit: string, baseline?: Row["baseline"], note?: string): Row {
  const ratio = baseline && baseline.value > 0 ? value / baseline.value : undefined;
  return { section, figure, value, unit, ...(baseline && { baseline }), ...(ratio !== undefined && { ratio }), ...(note && { note }) };
}

/** Rounds for reading: three significant digits, whole numbers from 100 up. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (Math.abs(value) >= 100 || Number.isInteger(value)) return Math.round(value).toLocaleString("en-GB");
  return value.toPrecision(3);
}

function formatRatio(ratio: number): string {
  if (ratio >= 10) return ratio.toFixed(1);
  return ratio >= 1 ? ratio.toFixed(2) : ratio.toPrecision(2);
}

/** The table `npm run bench` prints: one block per section, every figure next to its baseline and ratio. */
export function formatTable(rows: Row[]): string {
  const cells = rows.map((r) => [
    r.figure,
    `${formatNumber(r.value)} ${r.unit}`,
    r.baseline ? `${r.baseline.figure}: ${formatNumber(r.baseline.value)} ${r.unit}` : "",
    r.ratio !== undefined ? `${formatRatio(r.ratio)}×` : "",
    r.note ?? "",
  ]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.map((c) => c[i]!.length)));
  const lines: string[] = [];
  let section = "";
  rows.forEach((r, i) => {
    if (r.section !== section) {
      section = r.section;
      lines.push("", section);
    }
    const [figure, value, baseline, ratio, note] = cells[i]!;
    lines.push(
      `  ${figure!.padEnd(widths[0]!)}  ${value!.padStart(widths[1]!)}  ${baseline!.padEnd(widths[2]!)}  ${ratio!.padStart(widths[3]!)}  ${note}`.trimEnd(),
    );
  });
  return lines.join("\n");
}
