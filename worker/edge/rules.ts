import { realClock } from "../core/clock.ts";
import type { CompiledRules } from "../core/matching.ts";
import { AUTHORITY_NAME, webCryptoSealer } from "../core/release.ts";
import { RESERVED_BINDINGS } from "../core/rules-definitions.ts";
import { runtimeCache } from "./beacon.ts";
import { edgeConfig } from "./config.ts";
import { type ActiveRules, type Colo, RulesCache, type RulesSources } from "./rules-cache.ts";

/** The edge Worker's rules: this isolate's RulesCache (rules-cache.ts), read from this deployment's bindings. */

/** This isolate's rules: one per isolate in production. */
let isolate = new RulesCache();
const sources = new WeakMap<object, RulesSources>();

/** What the edge reads its rules from in this environment, built once per environment object. */
export function sourcesOf(env: Env): RulesSources {
  let built = sources.get(env);
  if (!built) {
    const config = edgeConfig(env);
    const namespace = env.RELEASE_AUTHORITY;
    const stub = () => namespace.getByName(AUTHORITY_NAME);
    built = {
      kv: env.CANARY_KV,
      authority: namespace ? { beacon: (report) => stub().beacon(report), document: () => stub().document() } : undefined,
      clock: realClock,
      rulesTtlMs: config.rulesTtlMs,
      fallbackOrigin: config.fallbackOrigin,
      fallbackColour: config.fallbackColour,
      services: serviceBindings(env),
      secret: config.secret,
      sealer: config.secret ? webCryptoSealer(config.secret) : undefined,
    };
    sources.set(env, built);
  }
  return built;
}

export function activeRules(env: Env, waitUntil: (p: Promise<unknown>) => void, colo?: Colo): Promise<ActiveRules> | ActiveRules {
  return isolate.activeRules(sourcesOf(env), waitUntil, colo ?? null);
}

export function cachedRules(): ActiveRules | undefined {
  return isolate.cachedRules();
}

export function lastResortRules(env: Env): CompiledRules {
  return isolate.lastResortRules(sourcesOf(env));
}

/** A write this isolate handed over was committed as `revision`: it is routed on from the next request (the operator waits for it). */
export function learnRevision(revision: number, env: Env, colo?: Colo): Promise<boolean> {
  return isolate.learn(revision, sourcesOf(env), colo ?? null);
}

/** Starts this isolate's rules afresh with a colo cache of that name (tests reset the release authority between cases). */
export function resetRulesCache(cacheName?: string): void {
  isolate = new RulesCache(runtimeCache(cacheName));
}

/** The service bindings an origin may name: every binding with a fetch, but the router's own (CONTROL). */
function serviceBindings(env: Env): string[] {
  const bindings = env as unknown as Record<string, { fetch?: unknown } | undefined>;
  return Object.keys(bindings).filter((name) => !RESERVED_BINDINGS.has(name) && typeof bindings[name]?.fetch === "function");
}

