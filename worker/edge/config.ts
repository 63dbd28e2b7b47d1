import type { Colour } from "../core/colours.ts";

/** The edge Worker's settings, parsed once per environment (wrangler.toml vars and secrets) with their defaults. */
export interface EdgeConfig {
  /** Where everyone goes when no valid rules document has ever been read. */
  fallbackOrigin: string;
  fallbackColour: Colour;
  /** How long an isolate routes with its cached rules before refreshing them (at most 60 s). */
  rulesTtlMs: number;
  canaryPath: string;
  /** How long a request under CANARY_PATH waits for the control Worker before a 504. */
  controlTimeoutMs: number;
  healthFlushRequests: number;
  healthFlushMs: number;
  /** Signs the sticky and override cookies; without it, visitors stay sticky by user ID or IP only. */
  secret: string | undefined;
}

const parsed = new WeakMap<object, EdgeConfig>();

/** The same environment object comes with every request of an isolate: parsed once, then a look-up. */
export function edgeConfig(env: Env): EdgeConfig {
  let config = parsed.get(env);
  if (!config) parsed.set(env, (config = parse(env)));
  return config;
}

function parse(env: Env): EdgeConfig {
  return {
    fallbackOrigin: env.FALLBACK_ORIGIN ?? "",
    fallbackColour: env.FALLBACK_COLOUR === "green" ? "green" : "blue",
    rulesTtlMs: Math.min(count(env.RULES_TTL_MS, 5000), 60_000),
    canaryPath: env.CANARY_PATH || "/__canary",
    controlTimeoutMs: Math.max(1, count(env.CONTROL_TIMEOUT_MS, 30_000)),
    healthFlushRequests: Math.max(1, count(env.HEALTH_FLUSH_REQUESTS, 1000)),
    healthFlushMs: count(env.HEALTH_FLUSH_MS, 5000),
    secret: env.CANARY_SECRET || undefined,
  };
}

/** A whole number of at least 0 from a var; empty, missing or junk means the default. */
function count(text: string | undefined, fallback: number): number {
  const value = text === undefined || text.trim() === "" ? NaN : Number(text);
  return Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
}
