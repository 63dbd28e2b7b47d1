import { type Clock, atMost, within } from "../core/clock.ts";
import { type Colour, COLOURS } from "../core/colours.ts";
import { logProblem } from "../core/log.ts";
import { type CompiledRules, compileRules } from "../core/matching.ts";
import { type BeaconAnswer, type EdgeReport, isMirror, type ReleaseDocument, RULES_KEY, type Sealer, sealHolds } from "../core/release.ts";
import { checkRulesText } from "../core/rules-check.ts";
import type { Rules } from "../core/rules.ts";
import { advanceBeacon, askedLately, type ColoBeacon, type ColoCache, type ColoStore, holdsDocument, leaseAsk, readColoBeacon, readColoDocument, runtimeCache, shareDocument } from "./beacon.ts";

/** The rules this isolate routes with, and where they came from (shown by the admin API). */
export interface ActiveRules {
  compiled: CompiledRules;
  revision: number | null;
  /** "kv": a rules document (from KV or the release authority, see `via`); "fallback": wrangler.toml's stable origin. */
  source: "kv" | "fallback";
  via: "kv" | "authority" | null;
  loadedAt: number;
}

/** The release authority as the edge calls it. */
export interface AuthorityClient {
  beacon(report: EdgeReport): Promise<BeaconAnswer>;
  document(): Promise<ReleaseDocument | null>;
}

/** Everything an isolate reads its rules from (the simulator of the release path gives its own). */
export interface RulesSources {
  kv: { getWithMetadata(key: string, type: "text"): Promise<{ value: string | null; metadata: unknown }> };
  /** Undefined in a KV-only deployment (no RELEASE_AUTHORITY binding): KV is then taken as it is. */
  authority: AuthorityClient | undefined;
  clock: Clock;
  rulesTtlMs: number;
  fallbackOrigin: string;
  fallbackColour: Colour;
  /** Service bindings an origin may name (never the router's own). */
  services: readonly string[];
  /** CANARY_SECRET: it names the colo's cache of this deployment. */
  secret: string | undefined;
  /** Checks (and makes) the seal on the authority's documents in KV and in the colo's cache; undefined without CANARY_SECRET. */
  sealer: Sealer | undefined;
}

/** The colo serving the request, for the authority's propagation report: a function, so request.cf is read only when the beacon is. */
export type Colo = string | null | (() => string | null);

/** One piece of work at a time (a read, a question to the authority); one still unsettled after STUCK_MS is presumed lost. */
class Flight {
  #current: { promise: Promise<unknown>; since: number } | undefined;

  /** The work in progress, if any and not presumed lost. */
  pending(now: number): { promise: Promise<unknown>; since: number } | undefined {
    return this.#current && now - this.#current.since < STUCK_MS ? this.#current : undefined;
  }

  /** The work in progress, or `start`'s. */
  join(now: number, start: () => Promise<unknown>): Promise<unknown> {
    const pending = this.pending(now);
    if (pending) return pending.promise;
    const current = { promise: start(), since: now };
    void current.promise.finally(() => this.#current === current && (this.#current = undefined));
    this.#current = current;
    return current.promise;
  }
}

/** The first request of an isolate (no rules at all yet) waits at most this for KV and the authority; past it, the fallback routes. */
const READ_DEADLINE_MS = 2_000;
/** An authority call that has not answered by then is treated as failed for this try. */
const AUTHORITY_TIMEOUT_MS = 1_000;
/** A write handed over by this isolate: the operator waits this long for its document (no visitor does). */
const LEARN_TIMEOUT_MS = 5_000;
/** An isolate looks at its colo's cache this often (or every RULES_TTL_MS, when shorter); the request that finds a look due waits for it (colo-local, never the authority). */
const LOOK_EVERY_MS = 500;
const lookEvery = (src: RulesSources) => Math.min(LOOK_EVERY_MS, src.rulesTtlMs);
/** …for at most this long: a Cache API that does not answer does not hold a visitor. */
const LOOK_WAIT_MS = 50;
/** After putting the colo's beacon, it is read again this much later (a crossing put of a lower revision is undone well within LOOK_WAIT_MS). */
const SETTLE_MS = 20;
/** While the authority fails, it is asked again this often (in the background). */
const RETRY_MS = 5_000;
/** A read still unsettled after this is presumed lost and started again. */
const STUCK_MS = 10_000;
/** KV-only deployment: rules older than this are not served while a refresh runs. */
const MAX_STALE_MS = 60_000;

/**
 * One isolate's rules, derived from one fact: the highest revision of the authority's order it
 * holds the document of (`#position`). A document is taken only at a higher position, from the
 * colo's cache, the authority or the authority's KV mirror; anything else (a value written to KV
 * around the authority, an older replica, the same bytes under a lower number) is not a step up and
 * is ignored. No visitor waits for the authority or KV, but an isolate's very first; one request
 * every LOOK_EVERY_MS waits for the colo's cache (colo-local). Any failure keeps the last good rules (else
 * the fallback origin). docs/operating.md, "One writer, heard everywhere", states the invariants.
 */
export class RulesCache {
  #active: ActiveRules | undefined;
  #text: string | undefined;
  #position = 0;
  /** The last text refused and why: a broken document is parsed once, not on every read. */
  #refused: { text: string; event: string; detail: Record<string, unknown> } | undefined;
  #unmarked: string | undefined;
  #starting: Promise<ActiveRules> | undefined;
  #lookedAt = -Infinity;
  /** A colo-local look in progress: a request that comes meanwhile waits for it too (it is never the authority). */
  readonly #looking = new Flight();
  /** When a look was planned for LOOK_EVERY_MS after the last one, in the background (0: none planned): a colo hears of a revision even when its next visitor is slow to come. */
  #followUp = 0;
  readonly #asking = new Flight();
  #askedAt = -Infinity;
  #failing = false;
  readonly #reading = new Flight();
  #readAt = -Infinity;
  readonly #coloCache: ColoCache;

  constructor(coloCache: ColoCache = runtimeCache()) {
    this.#coloCache = coloCache;
  }

  /** The rules for this request: from isolate memory, after a colo-local look every LOOK_EVERY_MS; the first request waits (within READ_DEADLINE_MS). */
  activeRules(src: RulesSources, waitUntil: (p: Promise<unknown>) => void, colo: Colo = null): Promise<ActiveRules> | ActiveRules {
    if (!src.authority) return this.#kvOnly(src, waitUntil);
    if (this.#starting) return this.#starting; // every request until the first has its rules waits with it
    const active = this.#active;
    if (!active) return (this.#starting = this.#first(src, waitUntil, colo));
    const now = src.clock.now();
    if (now - this.#readAt >= src.rulesTtlMs) waitUntil(this.#readKv(src));
    const looking = this.#looking.pending(now)?.promise ?? (now - this.#lookedAt >= lookEvery(src) ? this.#startLook(src, waitUntil, colo) : undefined);
    if (!this.#followUp || now - this.#followUp > STUCK_MS) {
      this.#followUp = now;
      waitUntil(this.#follow(src, waitUntil, colo));
    }
    return looking ? atMost(looking.then(() => this.#active!), LOOK_WAIT_MS, src.clock, () => this.#active!) : active;
  }

  /** A colo-local look that requests arriving meanwhile wait for too. */
  #startLook(src: RulesSources, waitUntil: (p: Promise<unknown>) => void, colo: Colo): Promise<unknown> {
    const look = this.#looking.join(src.clock.now(), () => this.#look(src, waitUntil, colo, false));
    waitUntil(look);
    return look;
  }

  /** Whether this isolate has routed a request yet (until then, requests wait for its first rules). */
  started(): boolean {
    return this.#active !== undefined && this.#starting === undefined;
  }

  /** The rules this isolate last routed with, without reading anything (for status pages). */
  cachedRules(): ActiveRules | undefined {
    return this.#active;
  }

  /** The last good rules, else the fallback: what a request that could not be routed falls back on. */
  lastResortRules(src: RulesSources): CompiledRules {
    return (this.#active ?? fallback(src)).compiled;
  }

  /** The revision this isolate routes on (0: none yet). */
  position(): number {
    return this.#position;
  }

  /**
   * A write this isolate handed over was committed as `revision`: the operator waits while its
   * document is fetched (asked again while LEARN_TIMEOUT_MS allows), so the next request routes on
   * it. False when the authority could not be reached: the beacon brings it later.
   */
  async learn(revision: number, src: RulesSources, colo: Colo = null): Promise<boolean> {
    if (!src.authority) return false;
    const until = src.clock.now() + LEARN_TIMEOUT_MS;
    while (revision > this.#position) {
      const left = until - src.clock.now();
      if (left <= 0) return false;
      try {
        const doc = await within(src.authority.document(), left, src.clock, "the release authority");
        if (doc && doc.revision >= revision) this.#accept(doc.text, doc.revision, "authority", src);
        if (revision > this.#position) return false;
      } catch (error) {
        logProblem("authority_unreachable", { error: String(error), keeping: this.#describe(), colo: typeof colo === "function" ? colo() : colo });
        await new Promise<void>((done) => src.clock.after(Math.min(100, Math.max(0, until - src.clock.now())), done));
      }
    }
    await this.#share(src);
    return true;
  }

  /** An isolate's first request: the colo's cache, the authority (when the colo's beacon is stale) and KV, within READ_DEADLINE_MS. */
  async #first(src: RulesSources, waitUntil: (p: Promise<unknown>) => void, colo: Colo): Promise<ActiveRules> {
    const look = this.#look(src, waitUntil, colo, true);
    const kv = this.#readKv(src);
    waitUntil(Promise.all([look, kv]));
    // KV is waited for only when the colo and the authority gave nothing (it is the source of last resort).
    const work = look.then(() => (this.#position > 0 && !this.#failing ? undefined : kv));
    const slow = () => void logProblem("rules_read_slow", { deadlineMs: READ_DEADLINE_MS, using: this.#describe() });
    await atMost(work, READ_DEADLINE_MS, src.clock, slow);
    // What the colo learnt while this request waited (another isolate's answer) counts too: one more colo-local look.
    const cache = await this.#coloCache(src.secret);
    if (cache) await atMost(this.#takeColoDocument(src, cache, waitUntil), LOOK_WAIT_MS, src.clock, () => undefined);
    this.#starting = undefined;
    return (this.#active ??= fallback(src));
  }

  /**
   * Takes the colo's newest document if it is a step up, then asks the authority when the colo's
   * beacon is stale or names a document the colo does not hold (in the background, unless `ask` says
   * to wait: only an isolate's first request does).
   */
  async #look(src: RulesSources, waitUntil: (p: Promise<unknown>) => void, colo: Colo, ask: boolean): Promise<void> {
    const now = src.clock.now();
    this.#lookedAt = now;
    const cache = await this.#coloCache(src.secret);
    if (cache) await this.#takeColoDocument(src, cache, waitUntil);
    // An isolate of this colo asked within the second: its answer comes through the colo's cache (a first request with nothing from the colo asks anyway).
    if (cache && (!ask || this.#position > 0) && (await askedLately(cache, now))) return;
    const asking = this.#ask(src, cache, typeof colo === "function" ? colo() : colo, waitUntil);
    if (ask) await asking;
    else waitUntil(asking);
  }

  /** The colo's beacon, after taking the document it names when that is a step up. */
  async #takeColoDocument(src: RulesSources, cache: ColoStore, waitUntil: (p: Promise<unknown>) => void): Promise<ColoBeacon | undefined> {
    const beacon = await readColoBeacon(cache);
    if (beacon && beacon.revision > this.#position) {
      const doc = await readColoDocument(cache, beacon.revision);
      if (doc && (await sealHolds(src.sealer, doc.seal, beacon.revision, doc.text))) this.#accept(doc.text, beacon.revision, "authority", src);
    }
    // The colo forgot a revision this isolate holds (evicted, or two isolates' puts crossed): put it back.
    if (this.#position > (beacon?.revision ?? 0)) waitUntil(this.#share(src, cache));
    return beacon;
  }

  /** The background look after a request: due LOOK_EVERY_MS after the last look, skipped if a request looked since. */
  async #follow(src: RulesSources, waitUntil: (p: Promise<unknown>) => void, colo: Colo): Promise<void> {
    const wait = this.#lookedAt + lookEvery(src) - src.clock.now();
    if (wait > 0) await new Promise<void>((done) => src.clock.after(wait, done));
    this.#followUp = 0;
    const now = src.clock.now();
    if (!this.#looking.pending(now) && now - this.#lookedAt >= lookEvery(src)) await this.#startLook(src, waitUntil, colo);
  }

  /** One question to the authority at a time, at most every RETRY_MS while it fails; its answer is shared with the colo. */
  #ask(src: RulesSources, cache: ColoStore | undefined, colo: string | null, waitUntil: (p: Promise<unknown>) => void): Promise<unknown> {
    const now = src.clock.now();
    const pending = this.#asking.pending(now);
    if (pending) return pending.promise;
    if (this.#failing && now - this.#askedAt < RETRY_MS) return Promise.resolve();
    this.#askedAt = now;
    if (cache) void leaseAsk(cache, now); // one question per colo, not one per isolate
    return this.#asking.join(now, () => this.#askNow(src, cache, colo, waitUntil));
  }

  async #askNow(src: RulesSources, cache: ColoStore | undefined, colo: string | null, waitUntil: (p: Promise<unknown>) => void): Promise<void> {
    try {
      const report: EdgeReport = { colo, services: [...src.services], have: this.#position };
      const answer = await within(src.authority!.beacon(report), AUTHORITY_TIMEOUT_MS, src.clock, "the release authority");
      if (answer.revision > this.#position && answer.text !== undefined) this.#accept(answer.text, answer.revision, "authority", src);
      else if (answer.revision > this.#position) {
        const doc = await within(src.authority!.document(), AUTHORITY_TIMEOUT_MS, src.clock, "the release authority");
        if (doc && doc.revision >= answer.revision) this.#accept(doc.text, doc.revision, "authority", src);
      }
      if (this.#failing) logProblem("authority_back", { revision: answer.revision });
      this.#failing = false;
      if (!cache || this.#position < answer.revision) return; // the colo hears of a revision only with its document
      waitUntil(this.#share(src, cache)); // nobody waits for the colo to hear of it
    } catch (error) {
      if (!this.#failing) logProblem("authority_unreachable", { error: String(error), keeping: this.#describe() });
      this.#failing = true;
    }
  }

  /** Puts the document this isolate routes on (unless the colo holds it), then the beacon naming it, in the colo's cache. */
  async #share(src: RulesSources, cache?: ColoStore): Promise<void> {
    const store = cache ?? (await this.#coloCache(src.secret));
    const revision = this.#position;
    if (!store || !revision) return;
    const text = this.#text!;
    if (!(await holdsDocument(store, revision))) await shareDocument(store, revision, text, src.sealer && (await src.sealer.seal(revision, text))); // a beacon never names a document the colo does not hold
    if (await advanceBeacon(store, revision)) {
      // Another isolate putting a lower revision back at the same moment (the colo lost its entries) can land just after this put: look once more when puts have settled.
      await new Promise<void>((done) => src.clock.after(SETTLE_MS, done));
      await advanceBeacon(store, revision);
    }
  }

  /** KV's `rules`, in the background: only the authority's mirror counts, and only at a higher revision. */
  #readKv(src: RulesSources): Promise<unknown> {
    const now = src.clock.now();
    if (!this.#reading.pending(now)) this.#readAt = now;
    return this.#reading.join(now, () => this.#readKvNow(src));
  }

  async #readKvNow(src: RulesSources): Promise<void> {
    let record;
    try {
      record = await src.kv.getWithMetadata(RULES_KEY, "text");
    } catch (error) {
      return void logProblem("rules_kv_error", { error: String(error), keeping: this.#describe() });
    }
    if (record.value === null) return void (this.#active || logProblem("rules_missing", { keeping: this.#describe() }));
    const sealed = isMirror(record.metadata) && (await sealHolds(src.sealer, record.metadata.seal, record.metadata.revision, record.value));
    if (sealed) return void this.#accept(record.value, (record.metadata as { revision: number }).revision, "kv", src);
    if (record.value !== this.#unmarked) {
      this.#unmarked = record.value;
      logProblem("rules_kv_unadopted", { routing: "not until the release authority adopts it", keeping: this.#describe() });
    }
  }

  /** Routes on a document of the authority's order if it is a step up and the edge can use it. */
  #accept(text: string, revision: number, via: "kv" | "authority", src: RulesSources): void {
    if (revision <= this.#position) return;
    const active = this.#compile(text, revision, via, src);
    if (!active) return;
    this.#active = active;
    this.#text = text;
    this.#position = revision;
  }

  /** A KV-only deployment: KV's `rules` as it is, re-read every RULES_TTL_MS (waited for when older than MAX_STALE_MS). */
  #kvOnly(src: RulesSources, waitUntil: (p: Promise<unknown>) => void): Promise<ActiveRules> | ActiveRules {
    const now = src.clock.now();
    const active = this.#active;
    const ttl = Math.min(src.rulesTtlMs, MAX_STALE_MS);
    const age = active ? now - active.loadedAt : Infinity;
    if (active && age < ttl) return active;
    const reading = this.#reading.pending(now);
    // A read out past the deadline: nobody waits for it, until STUCK_MS says it is lost and another starts.
    if (active && reading && now - reading.since >= READ_DEADLINE_MS) return active;
    const refreshing = this.#reading.join(now, () => this.#readKvOnly(src));
    waitUntil(refreshing);
    if (active && ttl > 0 && age < MAX_STALE_MS) return active;
    const slow = () => {
      logProblem("rules_read_slow", { deadlineMs: READ_DEADLINE_MS, using: this.#describe() });
      return (this.#active ??= fallback(src));
    };
    return atMost(refreshing.then(() => (this.#active ??= fallback(src))), READ_DEADLINE_MS, src.clock, slow);
  }

  async #readKvOnly(src: RulesSources): Promise<void> {
    let record;
    try {
      record = await src.kv.getWithMetadata(RULES_KEY, "text");
    } catch (error) {
      return this.#keep("rules_kv_error", { error: String(error) }, src);
    }
    if (record.value === null) return this.#keep("rules_missing", {}, src);
    const revision = (record.metadata as { revision?: number } | null)?.revision ?? null;
    if (this.#active?.source === "kv" && record.value === this.#text) {
      this.#active = { ...this.#active, revision, loadedAt: src.clock.now() };
      return;
    }
    const active = this.#compile(record.value, revision, "kv", src);
    if (!active) return void (this.#active = { ...(this.#active ?? fallback(src)), loadedAt: src.clock.now() });
    this.#active = active;
    this.#text = record.value;
  }

  /** A document's text checked and compiled, or null (logged once per text) when the edge cannot use it. */
  #compile(text: string, revision: number | null, via: "kv" | "authority", src: RulesSources): ActiveRules | null {
    if (text === this.#refused?.text) {
      logProblem(this.#refused.event, { ...this.#refused.detail, keeping: this.#describe() });
      return null;
    }
    const refuse = (event: string, detail: Record<string, unknown>) => {
      this.#refused = { text, event, detail };
      logProblem(event, { ...detail, keeping: this.#describe() });
      return null;
    };
    const parsed = checkRulesText(text);
    if (!parsed.ok) return refuse("rules_invalid", { revision, issues: parsed.issues });
    const missing = missingBindings(parsed.rules, src);
    if (missing.includes(parsed.rules.stable)) return refuse("rules_unknown_binding", { revision, missing: missing.map((c) => parsed.rules.origins[c].service) });
    let rules = parsed.rules;
    if (missing.length) {
      logProblem("rules_canary_unusable", { revision, missing: missing.map((c) => rules.origins[c].service), routing: "everyone to stable" });
      rules = everyoneToStable(rules);
    }
    warnIfFallbackIsNotStable(rules, src);
    return { compiled: compileRules(rules), revision, source: "kv", via, loadedAt: src.clock.now() };
  }

  #keep(event: string, detail: Record<string, unknown>, src: RulesSources): void {
    logProblem(event, { ...detail, keeping: this.#describe() });
    this.#active = { ...(this.#active ?? fallback(src)), loadedAt: src.clock.now() };
  }

  #describe(): string {
    return this.#active?.source === "kv" ? `revision ${this.#active.revision}` : "fallback";
  }
}

/** A document whose canary origin cannot be used: everyone on stable, as a revert would put them. */
function everyoneToStable(rules: Rules): Rules {
  return { ...rules, rollout: { ...rules.rollout, percent: 0 }, rules: [], overrides: "off" };
}

/** After a promote the stable colour changes; a fallback still naming the old one would send a cold, KV-less isolate to the canary. */
function warnIfFallbackIsNotStable(rules: Rules, src: RulesSources): void {
  const stable = rules.origins[rules.stable].url;
  const same = (a: string | undefined, b: string) => URL.parse(a ?? "")?.href === URL.parse(b)?.href;
  if (stable && !same(stable, src.fallbackOrigin)) {
    logProblem("fallback_not_stable", { stable: rules.stable, stableOrigin: stable, fallbackOrigin: src.fallbackOrigin });
  }
}

/** Colours whose origin names a service binding this deployment does not have (or one of the router's own): every request sent there would fail. */
function missingBindings(rules: Rules, src: RulesSources): Colour[] {
  return COLOURS.filter((colour) => {
    const name = rules.origins[colour].service;
    return name !== undefined && !src.services.includes(name);
  });
}

/** Everyone to the stable origin named in wrangler.toml, no splitting, no overrides. */
function fallback(src: RulesSources): ActiveRules {
  const { fallbackOrigin, fallbackColour: stable } = src;
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
  return { compiled: compileRules(rules), revision: null, source: "fallback", via: null, loadedAt: src.clock.now() };
}
