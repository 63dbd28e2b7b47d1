/** Lists longer than this are summarised in one line (counts added and removed), not entry by entry. */
const LONG_LIST = 20;
/** A change record never lists more lines than this: a history entry stays small whatever the document. */
export const MAX_CHANGE_LINES = 100;

/** What changed between two JSON documents, one line per changed leaf: "rollout.percent: 5 → 25"; long lists as counts. */
export function describeChange(before: unknown, after: unknown, path = ""): string[] {
  if (isLongList(before) || isLongList(after)) {
    if (JSON.stringify(before) === JSON.stringify(after)) return [];
    if (Array.isArray(before) && Array.isArray(after)) return [summarizeList(path, before, after)];
  }
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => describeChange(before[key], after[key], join(path, key, Array.isArray(after))));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [`${path || "(document)"}: ${show(before)} → ${show(after)}`];
}

/** A change record for a history entry: at most MAX_CHANGE_LINES lines, the rest counted. */
export function briefChange(before: unknown, after: unknown): string[] {
  const lines = describeChange(before, after);
  if (lines.length <= MAX_CHANGE_LINES) return lines;
  return [...lines.slice(0, MAX_CHANGE_LINES - 1), `… and ${lines.length - MAX_CHANGE_LINES + 1} more changes`];
}

function isLongList(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length > LONG_LIST;
}

/** "rules[0].when.userIds: 100000 entries → 100000 entries (+1000, -1000)": compared as JSON values, as a set. */
function summarizeList(path: string, before: unknown[], after: unknown[]): string {
  const old = new Set(before.map((v) => JSON.stringify(v)));
  const now = new Set(after.map((v) => JSON.stringify(v)));
  const added = [...now].filter((v) => !old.has(v)).length;
  const removed = [...old].filter((v) => !now.has(v)).length;
  const order = added === 0 && removed === 0 ? ", reordered" : "";
  return `${path || "(document)"}: ${before.length} entries → ${after.length} entries (+${added}, -${removed}${order})`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function join(path: string, key: string, index: boolean): string {
  if (index) return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function show(value: unknown): string {
  if (value === undefined) return "(none)";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
