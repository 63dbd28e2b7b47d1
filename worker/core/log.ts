const lastLogged = new Map<string, number>();
const QUIET_MS = 60_000;

/** One structured JSON line per distinct problem per minute and isolate: visible, never a log flood. */
export function logProblem(event: string, detail: Record<string, unknown> = {}): void {
  const key = `${event} ${JSON.stringify(detail)}`;
  const now = Date.now();
  if (now - (lastLogged.get(key) ?? -Infinity) < QUIET_MS) return;
  if (lastLogged.size >= 1000) lastLogged.clear();
  lastLogged.set(key, now);
  console.warn(JSON.stringify({ level: "warn", component: "edge-canary", event, ...detail }));
}
