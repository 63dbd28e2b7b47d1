import { logProblem } from "../core/log.ts";
import { type CompiledRules, compileRules } from "../core/matching.ts";
import { type Colour, COLOURS } from "../core/colours.ts";
import { checkRulesText } from "../core/rules-check.ts";
import type { Rules } from "../core/rules.ts";
import { readRulesRecord } from "../core/rules-record.ts";

/** The rules this isolate routes with, and where they came from (shown by the admin API). */
export interface ActiveRules {
  compiled: CompiledRules;
  revision: number | null;
  source: "kv" | "fallback";
  loadedAt: number;
}

/** A visitor never waits longer than this for KV: past it, the last good rules (or the fallback) route them. */
const READ_DEADLINE_MS = 2_000;
/** Rules older than this are not served while a refresh runs: the request waits for it (within the deadline). */
const MAX_STALE_MS = 60_000;
/** A read still unsettled after this is presumed lost (its request was cancelled) and is started again. */
const STUCK_MS = 10_000;

let active: ActiveRules | undefined;
/** The KV text `active` was compiled from: a refresh that reads the same text has nothing to redo. */
let activeText: string | undefined;
/** The last text refused and why: a broken document is parsed once, not on every refresh (a 12 MB one costs seconds). */
let refused: { text: string; event: string; detail: Record<string, unknown> } | undefined;
let loading: { promise: Promise<ActiveRules>; since: number } | undefined;

/**
 * Rules from isolate memory, refreshed in the background once older than RULES_TTL_MS (at most
 * MAX_STALE_MS old). A KV error, a missing key or an invalid document keeps the last good rules;
 * with none, the fallback origin. KV never holds a visitor up for more than READ_DEADLINE_MS.
 */
export async function activeRules(env: Env, waitUntil: (p: Promise<unknown>) => void): Promise<ActiveRules> {
  const ttl = Math.min(Number(env.RULES_TTL_MS ?? 5000), MAX_STALE_MS);
  const age = active ? Date.now() - active.loadedAt : Infinity;
  if (active && age < ttl) return active;
  // A read that has already outlasted the deadline (KV is struggling): nobody else waits for it.
  if (active && loading && Date.now() - loading.since >= READ_DEADLINE_MS) return active;
  const refreshing = refresh(env);
  waitUntil(refreshing);
  if (active && ttl > 0 && age < MAX_STALE_MS) return active;
  return withDeadline(refreshing, env);
}

/** The rules this isolate last routed with, without touching KV (for status pages). */
export function cachedRules(): ActiveRules | undefined {
  return active;
}

/** The last good rules, else the fallback: what a request that could not be routed falls back on. */
export function lastResortRules(env: Env): CompiledRules {
  return (active ?? fallback(env)).compiled;
}

function refresh(env: Env): Promise<ActiveRules> {
  if (!loading || Date.now() - loading.since > STUCK_MS) {
    const current = { promise: load(env), since: Date.now() };
    current.promise.finally(() => loading === current && (loading = undefined));
    loading = current;
  }
  return loading.promise;
}

function withDeadline(refreshing: Promise<ActiveRules>, env: Env): Promise<ActiveRules> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<ActiveRules>((resolve) => {
    timer = setTimeout(() => {
      logProblem("rules_read_slow", { deadlineMs: READ_DEADLINE_MS, using: active?.source === "kv" ? `revision ${active.revision}` : "fallback" });
      active ??= fallback(env); // a cold isolate routes on the fallback until the read settles
      resolve(active);
    }, READ_DEADLINE_MS);
  });
  return Promise.race([refreshing, late]).finally(() => timer !== undefined && clearTimeout(timer));
}

async function load(env: Env): Promise<ActiveRules> {
  const keep = (event: string, detail: Record<string, unknown>) => {
    logProblem(event, { ...detail, keeping: active?.source === "kv" ? `revision ${active.revision}` : "fallback" });
    active = { ...(active ?? fallback(env)), loadedAt: Date.now() };
    return active;
  };
  let record;
  try {
    record = await readRulesRecord(env.CANARY_KV);
  } catch (error) {
    return keep("rules_kv_error", { error: String(error) });
  }
  if (record.text === null) return keep("rules_missing", {});
  const revision = record.meta?.revision ?? null;
  if (active?.source === "kv" && record.text === activeText) {
    active = { ...active, revision, loadedAt: Date.now() };
    return active;
  }
  if (record.text === refused?.text) return keep(refused.event, refused.detail);
  const refuse = (event: string, detail: Record<string, unknown>) => {
    refused = { text: record.text!, event, detail };
    return keep(event, detail);
  };
  const parsed = checkRulesText(record.text);
  if (!parsed.ok) return refuse("rules_invalid", { revision, issues: parsed.issues });
  const missing = missingBindings(parsed.rules, env);
  if (missing.length) return refuse("rules_unknown_binding", { revision, missing });
  warnIfFallbackIsNotStable(parsed.rules, env);
  active = { compiled: compileRules(parsed.rules), revision, source: "kv", loadedAt: Date.now() };
  activeText = record.text;
  return active;
}

/** After a promote the stable colour changes; a fallback still naming the old one would send a cold, KV-less isolate to the canary. */
function warnIfFallbackIsNotStable(rules: Rules, env: Env): void {
  const stable = rules.origins[rules.stable].url;
  const same = (a: string | undefined, b: string) => URL.parse(a ?? "")?.href === URL.parse(b)?.href;
  if (stable && !same(stable, env.FALLBACK_ORIGIN)) {
    logProblem("fallback_not_stable", { stable: rules.stable, stableOrigin: stable, fallbackOrigin: env.FALLBACK_ORIGIN });
  }
}

/** A service-binding origin that this deployment does not have would fail every request sent to it. */
function missingBindings(rules: Rules, env: Env): string[] {
  const bindings = env as unknown as Record<string, unknown>;
  return COLOURS.flatMap((colour) => {
    const name = rules.origins[colour].service;
    const binding = name ? bindings[name] : undefined;
    return name && typeof (binding as Fetcher | undefined)?.fetch !== "function" ? [name] : [];
  });
}

/** Everyone to the stable origin named in wrangler.toml, no splitting, no overrides. */
function fallback(env: Env): ActiveRules {
  if (!URL.parse(env.FALLBACK_ORIGIN ?? "")) logProblem("fallback_invalid", { fallbackOrigin: env.FALLBACK_ORIGIN ?? null });
  const stable: Colour = env.FALLBACK_COLOUR === "green" ? "green" : "blue";
  const origin = { url: env.FALLBACK_ORIGIN, timeoutMs: 30_000 };
  const rules: Rules = {
    stable,
    origins: { blue: origin, green: origin },
    rollout: { id: "fallback", percent: 0 },
    stickiness: {},
    overrides: "off",
    rules: [],
  };
  return { compiled: compileRules(rules), revision: null, source: "fallback", loadedAt: Date.now() };
}
