import { logProblem } from "../core/log.ts";
import { type CompiledRules, compileRules } from "../core/matching.ts";
import { REVISION_HEADER, RULES_KEY } from "../core/release.ts";
import { type Colour, COLOURS } from "../core/colours.ts";
import { checkRulesText } from "../core/rules-check.ts";
import type { Rules } from "../core/rules.ts";
import { edgeConfig } from "./config.ts";
import { type ColoCache, readBeacon, readDocument, runtimeCache, shareBeacon } from "./beacon.ts";

/** The rules this isolate routes with, and where they came from (shown by the admin API). */
export interface ActiveRules {
  compiled: CompiledRules;
  revision: number | null;
  /** "kv": a rules document (from KV or the release authority, see `via`); "fallback": wrangler.toml's stable origin. */
  source: "kv" | "fallback";
  via: "kv" | "authority" | null;
  loadedAt: number;
}

/** A visitor never waits longer than this for KV or the authority: past it, the last good rules (or the fallback) route them. */
const READ_DEADLINE_MS = 2_000;
/** Rules older than this are not served while a refresh runs: the request waits for it (within the deadline). */
const MAX_STALE_MS = 60_000;
/** A read still unsettled after this is presumed lost (its request was cancelled) and is started again. */
const STUCK_MS = 10_000;
/** A busy isolate looks at its colo's beacon this often, in the background (no request waits for it). */
const BEACON_CHECK_MS = 500;
/** An isolate that has not looked for this long (idle) looks before routing: a revert it could have heard of is never missed. */
const BEACON_WAIT_MS = 1_500;
/** While the authority fails, an isolate asks it again this often, in the background only: routing goes on with KV. */
const BEACON_RETRY_MS = 5_000;

type KvMeta = { revision?: number; authority?: true } | null;
/** The colo serving the request, for the authority's propagation report: a function, so request.cf is read only when the beacon is. */
export type Colo = string | null | (() => string | null);
type Work = { promise: Promise<unknown>; since: number };

/**
 * One isolate's rules (a test builds several, one per simulated colo). Two sources: KV, refreshed
 * every RULES_TTL_MS (the fallback path, and the only one without the RELEASE_AUTHORITY binding),
 * and the release authority's beacon, looked at every half second through the colo's Cache API.
 * When the beacon names a newer revision, the document comes from the authority, not from a
 * possibly stale KV replica; a mirrored KV document older than what the isolate routes with is a
 * stale replica and is ignored. Any failure keeps the last good rules (else the fallback origin).
 */
export class RulesCache {
  #active: ActiveRules | undefined;
  /** The text `#active` was compiled from: reading the same text again has nothing to redo. */
  #activeText: string | undefined;
  /** Whether `#active.revision` is the authority's numbering (from it, or its KV mirror), so revisions compare. */
  #numbered = false;
  /** A document written to KV around the authority routes until the authority commits anything after this revision. */
  #outOfBandAt: number | "next" | undefined;
  /** The last text refused and why: a broken document is parsed once, not on every refresh (a 12 MB one costs seconds). */
  #refused: { text: string; event: string; detail: Record<string, unknown> } | undefined;
  #loading: (Work & { promise: Promise<ActiveRules> }) | undefined;
  #beacon: { revision: number; checkedAt: number } | undefined;
  /** A revision this isolate learnt first-hand (it handed the write over): the beacon cannot be older. */
  #heard = 0;
  #checking: Work | undefined;
  #authorityFailing = false;

  constructor(private readonly coloCache: ColoCache = runtimeCache()) {}

  /**
   * Rules from isolate memory. KV is re-read in the background once older than RULES_TTL_MS (at most
   * MAX_STALE_MS old); the beacon every BEACON_CHECK_MS, and before routing when the isolate has been
   * idle. Nothing holds a visitor up for more than READ_DEADLINE_MS.
   */
  async activeRules(env: Env, waitUntil: (p: Promise<unknown>) => void, colo: Colo = null): Promise<ActiveRules> {
    const now = Date.now();
    const waits: Promise<unknown>[] = [];
    if (env.RELEASE_AUTHORITY) {
      const age = now - (this.#beacon?.checkedAt ?? -Infinity);
      if (age >= (this.#authorityFailing ? BEACON_RETRY_MS : BEACON_CHECK_MS)) {
        const checking = this.#checkBeacon(env, colo);
        waitUntil(checking);
        if (age >= BEACON_WAIT_MS && !this.#authorityFailing) waits.push(checking);
      }
    }
    const ttl = Math.min(edgeConfig(env).rulesTtlMs, MAX_STALE_MS);
    const active = this.#active;
    const kvAge = active ? now - active.loadedAt : Infinity;
    // A read out past the deadline: nobody waits for it, until STUCK_MS says it is lost and #refresh starts another.
    const kvStuck = active && this.#loading && now - this.#loading.since >= READ_DEADLINE_MS && now - this.#loading.since < STUCK_MS;
    if (!(active && kvAge < ttl) && !kvStuck) {
      const refreshing = this.#refresh(env);
      waitUntil(refreshing);
      if (!active || ttl <= 0 || kvAge >= MAX_STALE_MS) waits.push(refreshing);
    }
    if (active && waits.length === 0) return active;
    return this.#withDeadline(Promise.all(waits), env);
  }

  /** The rules this isolate last routed with, without reading anything (for status pages). */
  cachedRules(): ActiveRules | undefined {
    return this.#active;
  }

  /** The last good rules, else the fallback: what a request that could not be routed falls back on. */
  lastResortRules(env: Env): CompiledRules {
    return (this.#active ?? fallback(env)).compiled;
  }

  /** The control Worker answered a write this isolate handed over: route on it from the next request, and tell the colo. */
  heard(revision: number, waitUntil: (p: Promise<unknown>) => void): void {
    if (!(revision > this.#heard)) return;
    this.#heard = revision;
    this.#beacon = undefined; // the next request looks (and waits) before routing
    waitUntil(this.coloCache().then((cache) => cache && shareBeacon(cache, { revision, at: Date.now() })));
  }

  #checkBeacon(env: Env, colo: Colo): Promise<unknown> {
    if (this.#checking && Date.now() - this.#checking.since < STUCK_MS) return this.#checking.promise;
    const current: Work = { promise: this.#lookAtBeacon(env, typeof colo === "function" ? colo() : colo), since: Date.now() };
    current.promise.finally(() => this.#checking === current && (this.#checking = undefined));
    this.#checking = current;
    return current.promise;
  }

  async #lookAtBeacon(env: Env, colo: string | null): Promise<void> {
    const checkedAt = Date.now();
    try {
      const cache = await this.coloCache();
      const beacon = await readBeacon(env, cache, colo);
      const revision = Math.max(beacon.revision, this.#heard);
      this.#beacon = { revision, checkedAt };
      if (this.#outOfBandAt === "next") this.#outOfBandAt = revision;
      if (this.#behind(revision)) {
        const doc = await readDocument(env, cache, revision);
        if (doc && doc.revision >= revision) this.#accept(doc.text, doc.revision, "authority", true, env);
      }
      if (this.#authorityFailing) logProblem("authority_back", { revision });
      this.#authorityFailing = false;
    } catch (error) {
      this.#beacon = { revision: this.#beacon?.revision ?? 0, checkedAt }; // routing goes on with KV and the last good rules
      if (!this.#authorityFailing) logProblem("authority_unreachable", { error: String(error), keeping: this.#describe() });
      this.#authorityFailing = true;
    }
  }

  /** Whether the authority holds a revision newer than what this isolate routes with. */
  #behind(revision: number): boolean {
    const active = this.#active;
    if (revision <= 0) return false;
    if (!active || active.source === "fallback") return true;
    if (this.#numbered) return revision > (active.revision ?? 0);
    return typeof this.#outOfBandAt === "number" && revision > this.#outOfBandAt;
  }

  #refresh(env: Env): Promise<ActiveRules> {
    if (!this.#loading || Date.now() - this.#loading.since > STUCK_MS) {
      const current = { promise: this.#loadFromKv(env), since: Date.now() };
      current.promise.finally(() => this.#loading === current && (this.#loading = undefined));
      this.#loading = current;
    }
    return this.#loading.promise;
  }

  #withDeadline(work: Promise<unknown>, env: Env): Promise<ActiveRules> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<ActiveRules>((resolve) => {
      timer = setTimeout(() => {
        logProblem("rules_read_slow", { deadlineMs: READ_DEADLINE_MS, using: this.#describe() });
        resolve((this.#active ??= fallback(env))); // a cold isolate routes on the fallback until the read settles
      }, READ_DEADLINE_MS);
    });
    const done = work.then(() => (this.#active ??= fallback(env)));
    return Promise.race([done, late]).finally(() => timer !== undefined && clearTimeout(timer));
  }

  async #loadFromKv(env: Env): Promise<ActiveRules> {
    let record;
    try {
      record = await env.CANARY_KV.getWithMetadata<KvMeta>(RULES_KEY, "text");
    } catch (error) {
      return this.#keep("rules_kv_error", { error: String(error) }, env);
    }
    const text = record.value;
    if (text === null) return this.#keep("rules_missing", {}, env);
    const revision = record.metadata?.revision ?? null;
    const mirrored = record.metadata?.authority === true;
    const active = this.#active;
    if (active?.source === "kv" && text === this.#activeText) {
      this.#active = mirrored || !this.#numbered ? { ...active, revision, loadedAt: Date.now() } : { ...active, loadedAt: Date.now() };
      return this.#active;
    }
    if (this.#numbered && active && env.RELEASE_AUTHORITY && this.#staleInKv(revision, mirrored)) {
      return (this.#active = { ...active, loadedAt: Date.now() }); // a stale replica: what this isolate has is newer
    }
    return this.#accept(text, revision, "kv", mirrored, env);
  }

  /** Routes on a document's text when the edge can use it; otherwise keeps the last good rules. */
  #accept(text: string, revision: number | null, via: "kv" | "authority", numbered: boolean, env: Env): ActiveRules {
    const adopt = (active: ActiveRules) => {
      this.#active = active;
      this.#activeText = text;
      this.#numbered = numbered;
      this.#outOfBandAt = this.#numbered ? undefined : (this.#beacon?.revision ?? "next");
      return active;
    };
    if (this.#active?.source === "kv" && text === this.#activeText) return adopt({ ...this.#active, revision, via, loadedAt: Date.now() });
    if (text === this.#refused?.text) return this.#keep(this.#refused.event, this.#refused.detail, env);
    const refuse = (event: string, detail: Record<string, unknown>) => {
      this.#refused = { text, event, detail };
      return this.#keep(event, detail, env);
    };
    const parsed = checkRulesText(text);
    if (!parsed.ok) return refuse("rules_invalid", { revision, issues: parsed.issues });
    const missing = missingBindings(parsed.rules, env);
    if (missing.includes(parsed.rules.stable)) return refuse("rules_unknown_binding", { revision, missing: missing.map((c) => parsed.rules.origins[c].service) });
    let rules = parsed.rules;
    if (missing.length) {
      logProblem("rules_canary_unusable", { revision, missing: missing.map((c) => rules.origins[c].service), routing: "everyone to stable" });
      rules = everyoneToStable(rules);
    }
    warnIfFallbackIsNotStable(rules, env);
    return adopt({ compiled: compileRules(rules), revision, source: "kv", via, loadedAt: Date.now() });
  }

  /**
   * Whether a KV document is older than what this isolate routes with (numbered by the authority). A
   * mirrored one compares by revision; one written around the authority counts only when numbered
   * after it (the CLI's writes are): an unnumbered or older one waits for the authority to adopt it,
   * unless the authority is failing, so a revert is never undone by a lagging KV replica.
   */
  #staleInKv(revision: number | null, mirrored: boolean): boolean {
    const have = Math.max(this.#active?.revision ?? 0, this.#beacon?.revision ?? 0);
    if (mirrored) return revision !== null && revision < (this.#active?.revision ?? 0);
    if (this.#authorityFailing) return false;
    return revision === null || revision <= have;
  }

  #keep(event: string, detail: Record<string, unknown>, env: Env): ActiveRules {
    logProblem(event, { ...detail, keeping: this.#describe() });
    this.#active = { ...(this.#active ?? fallback(env)), loadedAt: Date.now() };
    return this.#active;
  }

  #describe(): string {
    return this.#active?.source === "kv" ? `revision ${this.#active.revision}` : "fallback";
  }
}

/** This isolate's rules: one per isolate in production. */
let isolate = new RulesCache();

export function activeRules(env: Env, waitUntil: (p: Promise<unknown>) => void, colo?: Colo): Promise<ActiveRules> {
  return isolate.activeRules(env, waitUntil, colo ?? null);
}

export function cachedRules(): ActiveRules | undefined {
  return isolate.cachedRules();
}

export function lastResortRules(env: Env): CompiledRules {
  return isolate.lastResortRules(env);
}

/** A control Worker answer to a write this isolate handed over: its revision is routed on from the next request. */
export function heardRevision(headers: Headers, waitUntil: (p: Promise<unknown>) => void): void {
  const revision = Number(headers.get(REVISION_HEADER));
  if (Number.isInteger(revision) && revision > 0) isolate.heard(revision, waitUntil);
}

/** Starts this isolate's rules afresh with a colo cache of that name (tests reset the release authority between cases). */
export function resetRulesCache(cacheName?: string): void {
  isolate = new RulesCache(runtimeCache(cacheName));
}

/** A document whose canary origin cannot be used: everyone on stable, as a revert would put them. */
function everyoneToStable(rules: Rules): Rules {
  return { ...rules, rollout: { ...rules.rollout, percent: 0 }, rules: [], overrides: "off" };
}

/** After a promote the stable colour changes; a fallback still naming the old one would send a cold, KV-less isolate to the canary. */
function warnIfFallbackIsNotStable(rules: Rules, env: Env): void {
  const stable = rules.origins[rules.stable].url;
  const { fallbackOrigin } = edgeConfig(env);
  const same = (a: string | undefined, b: string) => URL.parse(a ?? "")?.href === URL.parse(b)?.href;
  if (stable && !same(stable, fallbackOrigin)) {
    logProblem("fallback_not_stable", { stable: rules.stable, stableOrigin: stable, fallbackOrigin });
  }
}

/** Colours whose origin names a service binding this deployment does not have: every request sent there would fail. */
function missingBindings(rules: Rules, env: Env): Colour[] {
  const bindings = env as unknown as Record<string, unknown>;
  return COLOURS.filter((colour) => {
    const name = rules.origins[colour].service;
    const binding = name ? bindings[name] : undefined;
    return name && typeof (binding as Fetcher | undefined)?.fetch !== "function";
  });
}

/** Everyone to the stable origin named in wrangler.toml, no splitting, no overrides. */
function fallback(env: Env): ActiveRules {
  const { fallbackOrigin, fallbackColour: stable } = edgeConfig(env);
  if (!URL.parse(fallbackOrigin)) logProblem("fallback_invalid", { fallbackOrigin: fallbackOrigin || null });
  const origin = { url: fallbackOrigin };
  const rules: Rules = {
    stable,
    origins: { blue: origin, green: origin },
    rollout: { id: "fallback", percent: 0 },
    stickiness: {},
    overrides: "off",
    rules: [],
  };
  return { compiled: compileRules(rules), revision: null, source: "fallback", via: null, loadedAt: Date.now() };
}
