import { atMost, type Clock, within } from "../../core/clock.ts";
import { briefChange, MAX_CHANGE_LINES } from "../../core/diff.ts";
import { logProblem } from "../../core/log.ts";
import { type BeaconAnswer, type EdgeReport, fingerprint, isMirror, type ReleaseDocument, type Sealer, sealHolds } from "../../core/release.ts";
import { RESERVED_BINDINGS, sizeProblem, storedRulesText } from "../../core/rules-definitions.ts";
import { COLOURS, parseRulesText, type Rules, type RulesIssue } from "../../core/rules.ts";
import * as actions from "./actions.ts";
import { Intent, INTENT_ID } from "./intent.ts";
import { deleteLegacyRevisions, INTENT_TTL_SECONDS, intentKey, type ListableKV, readHistory, readLive, writeMirror } from "./kv-layout.ts";
import { failure, type Outcome, success } from "./outcome.ts";
import { activeColos, type Propagation, reachOf } from "./propagation.ts";
import { type Change, type HistoryEntry, type RulesMeta, type RulesView, type ReleaseStore, trail } from "./store.ts";

/** How often the authority looks at KV for a `rules` value written around it (besides before every write and read). */
const KV_CHECK_MS = 5_000;
/** A KV call the authority makes (a read, a mirror): past this the work goes on without it. */
const KV_DEADLINE_MS = 2_000;
/** Before a write, KV is looked at for a document put there by hand for at most this long, and the mirror after it is waited for at most this long: a slow KV delays a revert's answer by well under a second. */
const KV_BEFORE_WRITE_MS = 300;
const MIRROR_WAIT_MS = 500;
/** How long the outcome of a carried-out intent is kept (a CLI that lost the answer asks again). */
const INTENT_KEEP_MS = 24 * 3600_000;
/** The actions a revert counts as: the propagation report times the last one. */
const REVERTS = new Set(["revert", "rollback", "rollout-abort", "auto-rollback"]);

/** `GET /rules`' `propagation`: the reach report, the last refusal of a value written to KV around the authority, and the revision it last wrote to KV (`head.revision` unless a mirror failed: it is retried on the next beacon). */
export type AuthorityReport = Propagation & { storageBytes: number; kvRefused: string | null; mirrored: number };

/** What the authority runs on: its storage, its view of KV, a clock, and a way to finish work after answering. */
export interface AuthorityWorld {
  store: ReleaseStore;
  kv: ListableKV;
  clock: Clock;
  waitUntil(work: Promise<unknown>): void;
  /** Seals the mirror (the edge takes from KV only what is sealed); undefined without CANARY_SECRET. */
  sealer: Sealer | undefined;
}

/**
 * The one writer of the rules, without its Durable Object shell (authority/release-authority.ts):
 * the simulator of the release path runs this same code. Every write (admin API, dashboard, CLI
 * intents, rollout steps, automatic rollbacks, a document written to KV around it) runs here one at a
 * time: KV looked at first (a raw put is adopted or refused), the action, a compare-and-swap commit
 * of the revision with its history record, then the mirror to KV. Edge colos ask it for the beacon.
 */
export class ReleaseCore {
  readonly #world: AuthorityWorld;
  #queue: Promise<unknown> = Promise.resolve();
  #kvCheckedAt = -Infinity;
  #mirrorTriedAt = -Infinity;
  /** Mirrors run one after another, apart from the write queue (a write waits for its own mirror only so long). */
  #mirroring: Promise<void> = Promise.resolve();
  #ready: Promise<void> | undefined;

  constructor(world: AuthorityWorld) {
    this.#world = world;
  }

  /** The live document, as the admin API shows it (a document written to KV around the authority judged first). */
  async read(): Promise<RulesView> {
    await this.#prepare();
    await this.#queued(() => this.#lookAtKv());
    return this.#view();
  }

  /** The audit trail, newest first. */
  async history(input: unknown): Promise<Outcome<{ entries: HistoryEntry[] }>> {
    await this.#prepare();
    await this.#queued(() => this.#lookAtKv());
    return actions.history(async () => trail(this.#world.store.history(), this.#world.store.notes()), input);
  }

  /** Records in the history something that changed no rules (a gate's call and its answer), in order with the writes, at the live revision. */
  async note(change: Change): Promise<void> {
    await this.#prepare();
    await this.#queued(async () => {
      const { store } = this.#world;
      const entry: HistoryEntry = { revision: store.head(), updatedAt: new Date(this.#now()).toISOString(), updatedBy: change.by, action: change.action, changes: [], event: true };
      if (change.reason) entry.reason = change.reason;
      store.note(entry);
    });
  }

  replace(caller: actions.Caller, input: unknown, reason?: string): Promise<Outcome<actions.Written>> {
    return this.#write((store) => actions.replaceRules(store, caller, input, reason));
  }

  ramp(caller: actions.Caller, input: unknown): Promise<Outcome<actions.Written>> {
    return this.#write((store) => actions.ramp(store, caller, input));
  }

  promote(caller: actions.Caller, input: unknown): Promise<Outcome<actions.Written>> {
    return this.#write((store) => actions.promote(store, caller, input));
  }

  revert(caller: actions.Caller, input: unknown): Promise<Outcome<actions.Written>> {
    return this.#write((store) => actions.revert(store, caller, input));
  }

  rollback(caller: actions.Caller, input: unknown): Promise<Outcome<actions.Written>> {
    return this.#write((store) => actions.rollback(store, caller, input));
  }

  /** Dry run: what a PUT of this document would answer (the schema, and the edge's own checks), nothing written. */
  async validate(input: unknown): Promise<Outcome<{ valid: true; rules: Rules }>> {
    await this.#prepare();
    const checked = actions.validate(input);
    if (!checked.ok) return checked;
    const refused = this.#edgeRefusals(checked.body.rules);
    return refused.length ? actions.invalidRules(refused) : checked;
  }

  /** A whole document decided elsewhere (the rollout engine's steps and rollback), committed only if the head is still `expected`. */
  commit(document: Rules, change: Change, expected: number): Promise<Outcome<actions.Written>> {
    return this.#write((store) => actions.commitDocument(store, { actor: change.by, ifMatch: expected }, change, document));
  }

  /**
   * Carries out a CLI intent (kv-layout.ts): read from KV, checked, run as its action in the one order,
   * exactly once (asked again, it answers what it answered the first time: from storage, or from the
   * intent's key, which holds the answer until it expires). An id KV does not know is answered without
   * queueing anything.
   */
  async applyIntent(id: string): Promise<Outcome<actions.Written>> {
    if (!INTENT_ID.test(id)) return failure(400, "invalid_intent", "an intent id is a random UUID (crypto.randomUUID)");
    const done = this.#world.store.intent(id);
    if (done !== null) return this.#replay(done);
    const text = await within(this.#world.kv.get(intentKey(id), "text"), KV_DEADLINE_MS, this.#world.clock, "KV").catch(() => undefined);
    if (text === undefined) return failure(503, "kv_unavailable", "KV did not answer: the intent was not carried out; try again");
    if (text === null) return failure(404, "unknown_intent", `no intent ${id} in KV: it expired (after two minutes) or was never written`);
    const earlier = carriedOut(text);
    if (earlier) return this.#replay(earlier); // carried out before this authority's storage was lost (a migration)
    if (!(await this.#prepare())) return notReady();
    return this.#queued(async () => {
      const again = this.#world.store.intent(id); // carried out while this one waited its turn
      if (again !== null) return this.#replay(again);
      const outcome = await this.#carryOut(id, text);
      const answer = JSON.stringify(stripRules(outcome));
      if (!outcome.ok || outcome.body.unchanged) {
        this.#world.store.recordIntent(id, answer, this.#now(), this.#now() - INTENT_KEEP_MS);
        this.#world.waitUntil(this.#markIntent(id, answer).catch(() => undefined));
      } // a committed one is marked in KV before its revision's mirror (#mirrorNow)
      return outcome;
    });
  }

  /** An edge colo asks for the head; an edge behind it gets the document with the answer. Never held up by a write in progress. */
  async beacon(report: EdgeReport): Promise<BeaconAnswer> {
    await this.#prepare();
    const { store } = this.#world;
    const now = this.#now();
    if (now - this.#kvCheckedAt >= KV_CHECK_MS) {
      this.#kvCheckedAt = now;
      this.#world.waitUntil(this.#queued(() => this.#lookAtKv()).catch(() => undefined));
    }
    const head = store.head();
    const services = JSON.stringify([...new Set(report.services)].filter((name) => !RESERVED_BINDINGS.has(name)).sort());
    if (store.fact("edgeServices") !== services) store.setFact("edgeServices", services);
    const have = report.have ?? 0;
    const text = have < head ? store.text(head) : null;
    if (have > head) logProblem("authority_edge_ahead", { colo: report.colo, have, head }); // an edge routes a revision this authority never made
    if (report.colo) store.seen(report.colo, Math.min(have, head), now); // what the colo routes on: it reports the head on its next question
    if (Number(store.fact("mirrored") ?? 0) < head && now - this.#mirrorTriedAt >= KV_CHECK_MS / 5) {
      this.#mirrorTriedAt = now; // a failed mirror is retried about once a second, not once per colo
      this.#world.waitUntil(this.#queued(() => this.#mirror()).catch(() => undefined));
    }
    return text !== null ? { revision: head, at: now, text } : { revision: head, at: now };
  }

  /** The head's document, for an edge isolate that handed a write over (or learnt of a newer revision without it). */
  async document(): Promise<ReleaseDocument | null> {
    await this.#prepare();
    const head = this.#world.store.head();
    const text = head ? this.#world.store.text(head) : null;
    return text === null ? null : { revision: head, text };
  }

  /** Which colos route the live revision, how long the last revert took to reach them all, what was refused in KV, and which revision KV's mirror holds. */
  async propagation(): Promise<AuthorityReport> {
    await this.#prepare();
    const { store } = this.#world;
    const now = this.#now();
    const head = store.head();
    const at = (meta: RulesMeta | null) => (meta?.updatedAt ? Date.parse(meta.updatedAt) : null);
    const revert = store.history().find((entry) => REVERTS.has(entry.action ?? ""));
    return {
      head: reachOf(store, head, at(store.entry(head)), now),
      lastRevert: revert ? { ...reachOf(store, revert.revision, at(revert), now), action: revert.action! } : null,
      colos: activeColos(store, now),
      storageBytes: store.size(),
      kvRefused: store.fact("kvRefused"),
      mirrored: Number(store.fact("mirrored") ?? 0),
    };
  }

  /** Writes run one at a time: KV judged, the action, the commit, the mirror. None before a deployment's existing document is taken over. */
  async #write(run: (store: actions.RulesStore) => Promise<Outcome<actions.Written>>, intent?: string): Promise<Outcome<actions.Written>> {
    if (!(await this.#prepare())) return notReady();
    return this.#queued(() => this.#writeNow(run, intent));
  }

  async #writeNow(run: (store: actions.RulesStore) => Promise<Outcome<actions.Written>>, intent?: string): Promise<Outcome<actions.Written>> {
    await atMost(this.#lookAtKv(), KV_BEFORE_WRITE_MS, this.#world.clock, () => undefined);
    const outcome = await run(this.#rulesStore(intent));
    if (outcome.ok && !outcome.body.unchanged) await atMost(this.#mirror(), MIRROR_WAIT_MS, this.#world.clock, () => undefined);
    return outcome;
  }

  #queued<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #now(): number {
    return this.#world.clock.now();
  }

  /** The store as the actions see it: reads, the compare-and-swap commit (with the intent it carries out), and the edge's own refusals. */
  #rulesStore(intent?: string): actions.RulesStore {
    const { store } = this.#world;
    return {
      read: async () => this.#view(),
      revision: async (revision) => parsed(store.text(revision)),
      commit: async (rules, change, expected) => {
        const head = store.head();
        if (expected !== head) return { ok: false, currentRevision: head };
        const next = Math.max(head, Number(store.fact("numberedFrom") ?? 0)) + 1;
        const meta: RulesMeta = { revision: next, updatedAt: new Date(this.#now()).toISOString(), updatedBy: change.by, action: change.action };
        if (change.reason) meta.reason = change.reason;
        const changes = briefChange(head ? parsed(store.text(head)) : null, rules);
        const answer = intent && { id: intent, at: this.#now(), outcome: JSON.stringify(success({ revision: meta.revision, meta, changes, unchanged: false })) };
        const ok = store.append(head, storedRulesText(rules), { ...meta, changes, ...(intent && { intent }) }, answer || undefined);
        return ok ? { ok: true, meta, changes } : { ok: false, currentRevision: store.head() };
      },
      refuse: (rules) => this.#edgeRefusals(rules),
    };
  }

  #view(): RulesView {
    const { store } = this.#world;
    const revision = store.head();
    const text = revision ? store.text(revision) : null;
    const entry = revision ? store.entry(revision) : null;
    const meta = entry && (({ changes: _, ...rest }) => rest)(entry);
    if (text === null) return { revision, meta, rules: null, issues: [{ path: "$", message: "no rules document has been written yet" }] };
    const result = parseRulesText(text);
    return result.ok ? { revision, meta, rules: result.rules } : { revision, meta, rules: null, issues: result.issues };
  }

  /** What the edge would refuse beyond the schema: a stored form over its size limit, a service binding no edge has reported. */
  #edgeRefusals(rules: Rules): RulesIssue[] {
    const tooLarge = sizeProblem(storedRulesText(rules));
    if (tooLarge) return [{ path: "$", message: `${tooLarge}: the edge would refuse to read it` }];
    const reported = this.#world.store.fact("edgeServices");
    const services: string[] = reported ? JSON.parse(reported) : [];
    return COLOURS.flatMap((colour) => {
      const name = rules.origins[colour].service;
      if (!name || services.includes(name)) return [];
      const known = reported ? `it has ${services.join(", ") || "none"}` : "no edge Worker has reported its bindings yet";
      return [{ path: `$.origins.${colour}.service`, message: `the edge Worker has no service binding ${name} (${known}): it would refuse this document` }];
    });
  }

  /** An intent's text checked and run as its action, the commit recording that it was carried out. */
  async #carryOut(id: string, text: string): Promise<Outcome<actions.Written>> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return failure(400, "invalid_intent", "the intent in KV is not JSON");
    }
    const intent = Intent.safeParse(json);
    if (!intent.success) return failure(400, "invalid_intent", `the intent in KV is not valid: ${intent.error.issues.map((i) => `${i.path.join(".") || "$"}: ${i.message}`).join("; ")}`);
    const { action, input, by, ifMatch, reason, expiresAt } = intent.data;
    if (Date.parse(expiresAt) < this.#now()) return failure(409, "intent_expired", `the intent expired at ${expiresAt}: nothing was written; run the command again`);
    const caller: actions.Caller = { actor: `${by} (wrangler)`, ...(ifMatch !== undefined && { ifMatch }) }; // never recorded as anything but a wrangler write
    const run = (store: actions.RulesStore) =>
      action === "replace" ? actions.replaceRules(store, caller, input, reason) : actions[action](store, caller, input);
    return this.#writeNow(run, id);
  }

  /** The answer an intent got the first time, with its document when it is still kept. */
  #replay(done: string): Outcome<actions.Written> {
    const outcome = JSON.parse(done) as Outcome<actions.Written>;
    if (!outcome.ok) return outcome;
    const rules = parsed(this.#world.store.text(outcome.body.revision)) ?? this.#view().rules;
    return success({ ...outcome.body, rules: rules! });
  }

  /**
   * Judges KV's `rules` (inside the queue). The authority's own mirror at its head: nothing to do; an
   * older mirror, a missing key or a value it refuses: its head is mirrored back over it (KV repaired);
   * a value written around it (no mark): the next revision when the edge could use it, else refused
   * visibly (`kvRefused`), never routed either way.
   */
  async #lookAtKv(): Promise<void> {
    const { store, kv, clock } = this.#world;
    this.#kvCheckedAt = this.#now();
    const record = await within(readLive(kv), KV_DEADLINE_MS, clock, "KV").catch((error) => void logProblem("authority_kv_read_failed", { error: String(error) }));
    if (!record) return;
    const head = store.head();
    if (!head) return record.text === null ? undefined : this.#import(); // a fresh authority takes over what KV holds, keeping its number
    if (record.text === null) return this.#mirror(true);
    if (isMirror(record.meta)) {
      const { revision, seal } = record.meta;
      const sealed = await sealHolds(this.#world.sealer, seal, revision, record.text);
      if (sealed && revision === head && record.text === store.text(head)) return;
      if (!sealed || revision > head || (revision === head && record.text !== store.text(head))) {
        this.#refuse(`${describeValue(record.text)} marked as revision ${revision} is in KV but is not the authority's (it is at revision ${head}); revision ${head} was put back`);
      }
      return this.#mirror(true);
    }
    if (head && record.text === store.text(head)) return this.#mirror(true);
    const why = this.#judge(record.text, record.meta, head);
    if (why) {
      this.#refuse(`${describeValue(record.text)} written to KV around the authority was not adopted: ${why}; revision ${head} was put back in KV`);
      return this.#mirror(true);
    }
    const meta: Partial<RulesMeta> = record.meta ?? {};
    const change = { action: "kv-put", reason: meta.reason ?? "written to KV around the authority; adopted" }; // never what the writer says it was
    const actor = meta.updatedBy ? `${meta.updatedBy} (kv put)` : "wrangler kv";
    const outcome = await actions.commitDocument(this.#rulesStore(), { actor }, change, parsed(record.text));
    if (outcome.ok) store.setFact("kvRefused", null);
    await this.#mirror(true);
  }

  /** Why a value written around the authority cannot be adopted, or undefined when it can. */
  #judge(text: string, meta: Partial<RulesMeta> | null, head: number): string | undefined {
    if (meta?.revision !== undefined && meta.revision <= head) {
      // Numbered by a writer that had not seen the authority's newer revisions: adopting it could undo a revert.
      return `it was numbered ${meta.revision}, but the authority was already at revision ${head}; write it again`;
    }
    const result = parseRulesText(text);
    const issues = result.ok ? this.#edgeRefusals(result.rules) : result.issues;
    return issues.length ? issues.map((i) => `${i.path}: ${i.message}`).join("; ") : undefined;
  }

  #refuse(why: string): void {
    this.#world.store.setFact("kvRefused", `${new Date(this.#now()).toISOString()}: ${why}`);
    logProblem("authority_kv_refused", { why });
  }

  /**
   * Mirrors the head to KV (inside the queue); `repair`: even if this revision was mirrored before (KV
   * shows something else). A failed mirror (KV down, or its one write per second per key exceeded) is
   * logged and retried on the next beacon: the edge gets its documents from the authority, not KV.
   */
  #mirror(repair = false): Promise<void> {
    this.#mirroring = this.#mirroring.then(() => this.#mirrorNow(repair));
    return this.#mirroring;
  }

  async #mirrorNow(repair: boolean): Promise<void> {
    const { store, kv, clock, sealer } = this.#world;
    const head = store.head();
    if (!head || (!repair && Number(store.fact("mirrored") ?? 0) >= head)) return;
    try {
      await this.#markIntents(head);
      const text = store.text(head)!;
      const seal = sealer && (await sealer.seal(head, text));
      await within(writeMirror(kv, text, store.entry(head)!, store.history(), seal), KV_DEADLINE_MS, clock, "KV");
      store.setFact("mirrored", String(head));
      if (!store.fact("legacyKeysDeleted") && (await within(deleteLegacyRevisions(kv), KV_DEADLINE_MS, clock, "KV")) === 0) store.setFact("legacyKeysDeleted", "1");
    } catch (error) {
      logProblem("authority_mirror_failed", { revision: head, error: String(error) }); // the next beacon retries
    }
  }

  /**
   * The intents carried out by revisions not yet mirrored get their answers in their own keys first:
   * a revision in KV means its intent is marked carried out there too, so an authority that loses its
   * storage after that answers a CLI asking again instead of carrying the intent out a second time.
   */
  async #markIntents(head: number): Promise<void> {
    const { store } = this.#world;
    const mirrored = Number(store.fact("mirrored") ?? 0);
    for (const entry of store.history()) {
      const answer = entry.intent && entry.revision > mirrored && entry.revision <= head ? store.intent(entry.intent) : null;
      if (answer) await this.#markIntent(entry.intent!, answer);
    }
  }

  /** The answer goes in the intent's own key: it says "carried out" even to an authority that lost its storage. */
  #markIntent(id: string, answer: string): Promise<void> {
    return within(this.#world.kv.put(intentKey(id), JSON.stringify({ carriedOut: answer }), { expirationTtl: INTENT_TTL_SECONDS }), KV_DEADLINE_MS, this.#world.clock, "KV");
  }

  /**
   * Storage ready; on first use the document already in KV (an existing deployment's) becomes the
   * first revision, keeping its number. False while that cannot be done (KV unreachable): no write
   * may run before it, or it could reuse the earlier deployment's numbers.
   */
  async #prepare(): Promise<boolean> {
    const { store } = this.#world;
    if (store.head() > 0 || store.fact("imported")) return true;
    await (this.#ready ??= this.#queued(() => this.#import()).finally(() => (this.#ready = undefined)));
    return store.head() > 0 || store.fact("imported") !== null;
  }

  async #import(): Promise<void> {
    const { store, kv, clock, sealer } = this.#world;
    if (store.head() > 0) return;
    const read = await within(Promise.all([readLive(kv), readHistory(kv)]), KV_DEADLINE_MS, clock, "KV").catch(() => null);
    if (!read) return; // KV unreachable: try again on the next call
    const [record, history] = read;
    if (record.text !== null) {
      // Only a document no edge could read is refused here: which service bindings the edge has is
      // not known before its first beacon, and a deployment's live document must not be lost to that.
      const result = parseRulesText(record.text);
      const issues = !result.ok ? result.issues : sizeProblem(record.text) ? [{ path: "$", message: sizeProblem(record.text)! }] : [];
      if (issues.length) {
        this.#refuse(`${describeValue(record.text)} already in KV was not taken over: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
      } else {
        const meta: Partial<RulesMeta> & { authority?: true; seal?: string } = record.meta ?? {};
        const { authority: _, seal, ...kept } = meta;
        // The numbering goes on: a predecessor's sealed mirror keeps its revision; anything else comes after every number KV's history has seen.
        const ours = isMirror(meta) && (await sealHolds(sealer, seal, meta.revision, record.text));
        const revision = ours ? meta.revision! : Math.max(1, meta.revision ?? 1, (history[0]?.revision ?? 0) + 1);
        const entry: HistoryEntry = { updatedBy: "wrangler kv", ...kept, revision, action: ours ? (meta.action ?? "import") : "import", changes: ["(document taken over from KV)"] };
        store.append(0, record.text, { ...entry, changes: entry.changes.slice(0, MAX_CHANGE_LINES) });
      }
    }
    // Whatever was taken over, the next revision is numbered after every number KV's history has seen (edges ignore lower ones).
    store.setFact("numberedFrom", String(history[0]?.revision ?? 0));
    store.setFact("imported", "1");
    if (store.head() > 0) await this.#mirror(true); // the mark lands in KV
  }
}

/** The answer an intent's key holds once the authority carried it out, or undefined. */
function carriedOut(text: string): string | undefined {
  try {
    const value = JSON.parse(text) as { carriedOut?: unknown };
    return typeof value?.carriedOut === "string" ? value.carriedOut : undefined;
  } catch {
    return undefined;
  }
}

/** A write refused before anything else because the takeover of an existing deployment's document has not happened yet. */
function notReady(): Outcome<never> {
  return failure(503, "authority_not_ready", "the release authority could not read KV to take over the document already there; nothing was written: try again");
}

/** "the document 9f3a2b1c/1234" (its fingerprint and length): enough to tell which put it was. */
function describeValue(text: string): string {
  return `the document ${fingerprint(text)}`;
}

function parsed(text: string | null): Rules | null {
  const result = text === null ? null : parseRulesText(text);
  return result?.ok ? result.rules : null;
}

/** An outcome as kept for a replay: the document is read back from the store, not kept twice. */
function stripRules(outcome: Outcome<actions.Written>): Outcome<unknown> {
  if (!outcome.ok) return outcome;
  const { rules: _, ...body } = outcome.body;
  return { ok: true, body };
}
