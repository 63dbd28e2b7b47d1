import { logProblem } from "./log.ts";
import { type CompiledRules, compileRules } from "./matching.ts";
import { type Colour, COLOURS, parseRulesText, type Rules } from "./rules.ts";
import { readRulesRecord } from "./store.ts";

/** The rules this isolate routes with, and where they came from (shown by the admin API). */
export interface ActiveRules {
  compiled: CompiledRules;
  revision: number | null;
  source: "kv" | "fallback";
  loadedAt: number;
}

let active: ActiveRules | undefined;
/** The KV text `active` was compiled from: a refresh that reads the same text has nothing to redo. */
let activeText: string | undefined;
let loading: Promise<ActiveRules> | undefined;

/**
 * Rules from isolate memory, refreshed in the background once older than RULES_TTL_MS. A KV error,
 * a missing key or an invalid document keeps the last good rules; with none, the fallback origin.
 */
export async function activeRules(env: Env, waitUntil: (p: Promise<unknown>) => void): Promise<ActiveRules> {
  const ttl = Number(env.RULES_TTL_MS ?? 5000);
  if (active && Date.now() - active.loadedAt < ttl) return active;
  if (active && ttl > 0) {
    waitUntil(refresh(env));
    return active;
  }
  return refresh(env);
}

/** The rules this isolate last routed with, without touching KV (for status pages). */
export function cachedRules(): ActiveRules | undefined {
  return active;
}

function refresh(env: Env): Promise<ActiveRules> {
  loading ??= load(env).finally(() => (loading = undefined));
  return loading;
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
  if (active?.source === "kv" && record.text === activeText) {
    active = { ...active, revision: record.meta?.revision ?? null, loadedAt: Date.now() };
    return active;
  }
  const parsed = parseRulesText(record.text);
  if (!parsed.ok) return keep("rules_invalid", { revision: record.meta?.revision ?? null, issues: parsed.issues });
  const missing = missingBindings(parsed.rules, env);
  if (missing.length) return keep("rules_unknown_binding", { revision: record.meta?.revision ?? null, missing });
  active = { compiled: compileRules(parsed.rules), revision: record.meta?.revision ?? null, source: "kv", loadedAt: Date.now() };
  activeText = record.text;
  return active;
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
