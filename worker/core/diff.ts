/** What changed between two JSON documents, one line per changed leaf: "rollout.percent: 5 → 25". */
export function describeChange(before: unknown, after: unknown, path = ""): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => describeChange(before[key], after[key], join(path, key, Array.isArray(after))));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [`${path || "(document)"}: ${show(before)} → ${show(after)}`];
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
