import { sizeProblem, storedRulesText } from "../../core/rules-definitions.ts";
import { DurableObject } from "cloudflare:workers";
import { logProblem } from "../../core/log.ts";
import { AUTHORITY_NAME, type Beacon, type EdgeReport, type ReleaseDocument } from "../../core/release.ts";
import { COLOURS, parseRulesText, type Rules, type RulesIssue } from "../../core/rules.ts";
import * as actions from "../admin/actions.ts";
import type { Outcome } from "../admin/outcome.ts";
import { MAX_CHANGE_LINES } from "../../core/diff.ts";
import {
  type Change,
  HISTORY_KEY,
  type HistoryEntry,
  HISTORY_LIMIT,
  readHistory,
  readRulesRecord,
  revisionKey,
  RULES_KEY,
  type RulesMeta,
  type RulesStore,
  type RulesView,
} from "../store.ts";
import { Ledger } from "./ledger.ts";
import type { Propagation } from "./propagation.ts";
import { ReachBook } from "./reach.ts";

/** How often the authority looks at KV for a `rules` value written around it (besides before every write). */
const KV_CHECK_MS = 5_000;
/** The actions a revert counts as: the propagation report times the last one. */
const REVERTS = new Set(["revert", "rollback", "rollout-abort", "auto-rollback"]);

/** The one release authority of a deployment. */
export function releaseAuthority(env: { RELEASE_AUTHORITY: DurableObjectNamespace<ReleaseAuthority> }): DurableObjectStub<ReleaseAuthority> {
  return env.RELEASE_AUTHORITY.getByName(AUTHORITY_NAME);
}

/**
 * The one writer of the rules. Every change (admin API, dashboard, rollout plan steps, automatic
 * rollback) runs here one at a time with a true compare-and-swap; the document and its history
 * record are committed together in this object's storage, then mirrored to KV for raw `wrangler
 * kv` use and as the edge's fallback. Edge colos ask it for the beacon (its current revision)
 * about once a second, and for the document only when it is newer than what they route with.
 */
export class ReleaseAuthority extends DurableObject<ControlEnv> {
  #queue: Promise<unknown> = Promise.resolve();
  #mirroring: Promise<void> = Promise.resolve();
  #kvCheckedAt = 0;

  /** The live document, as the admin API shows it (a document written to KV around the authority adopted first). */
  async read(): Promise<RulesView> {
    const ledger = await this.#ready();
    await this.#queued(() => this.#adoptFromKv(ledger));
    return ledger.view();
  }

  /** The audit trail, newest first (a document written to KV around the authority adopted first). */
  async history(input: unknown): Promise<Outcome<{ entries: HistoryEntry[] }>> {
    const ledger = await this.#ready();
    await this.#queued(() => this.#adoptFromKv(ledger));
    return actions.history(this.#store(ledger), input);
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

  /** A whole document decided elsewhere (the rollout engine's steps and rollback), committed only if the head is still `expected`. */
  commit(document: Rules, change: Change, expected: number): Promise<Outcome<actions.Written>> {
    return this.#write((store) => actions.commitDocument(store, { actor: change.by, ifMatch: expected }, change, document));
  }

  /** An edge colo asks for the current revision: it is recorded as having it (its caller routes on it next). */
  async beacon(report: EdgeReport): Promise<Beacon> {
    const ledger = await this.#ready();
    const now = Date.now();
    // Never held up by a write in progress (a 100,000-ID document takes seconds): KV is looked at and mirrored after answering.
    if (now - this.#kvCheckedAt >= KV_CHECK_MS) {
      this.#kvCheckedAt = now;
      this.ctx.waitUntil(this.#queued(() => this.#adoptFromKv(ledger)).catch(() => undefined));
    }
    const revision = ledger.head();
    this.#facts().set("edgeServices", JSON.stringify([...new Set(report.services)].sort()));
    if (report.colo) this.#reach().seen(report.colo, revision, now);
    if (Number(this.#facts().get("mirrored") ?? 0) < revision) this.ctx.waitUntil(this.#mirror(ledger));
    return { revision, at: now };
  }

  /** The current document, for an edge that learnt from the beacon that it is behind. */
  async document(): Promise<ReleaseDocument | null> {
    const ledger = await this.#ready();
    const revision = ledger.head();
    const text = revision ? ledger.text(revision) : null;
    return text === null ? null : { revision, text };
  }

  /** Which colos have the live revision and how long the last revert took to reach them all. */
  async propagation(): Promise<Propagation & { storageBytes: number; kvRefused: string | null }> {
    const ledger = await this.#ready();
    const now = Date.now();
    const reach = this.#reach();
    const head = ledger.head();
    const at = (meta: RulesMeta | null) => (meta?.updatedAt ? Date.parse(meta.updatedAt) : null);
    const revert = ledger.history().find((entry) => REVERTS.has(entry.action ?? ""));
    return {
      head: reach.reach(head, at(ledger.meta(head)), now),
      lastRevert: revert ? { ...reach.reach(revert.revision, at(revert), now), action: revert.action! } : null,
      colos: reach.colos(now),
      storageBytes: ledger.size(),
      kvRefused: this.#facts().get("kvRefused"),
    };
  }

  /** Writes run one at a time; a committed write is mirrored to KV before it answers. */
  async #write(run: (store: RulesStore) => Promise<Outcome<actions.Written>>): Promise<Outcome<actions.Written>> {
    const ledger = await this.#ready();
    const outcome = await this.#queued(async () => {
      await this.#adoptFromKv(ledger);
      return run(this.#store(ledger));
    });
    if (outcome.ok && !outcome.body.unchanged) {
      this.#reach().prune(outcome.body.revision - HISTORY_LIMIT);
      await this.#mirror(ledger);
    }
    return outcome;
  }

  #queued<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** The ledger as the admin actions see it, refusing what the edge would refuse. */
  #store(ledger: Ledger): RulesStore {
    return {
      read: async () => ledger.view(),
      history: async () => ledger.history(),
      revision: async (revision) => ledger.revision(revision),
      commit: async (rules, change, expected) => ledger.commit(rules, change, expected),
      refuse: (rules) => this.#edgeRefusals(rules),
    };
  }

  /** A service-binding origin the edge Worker does not have (as its colos last reported) would fail every request sent to it. */
  #edgeRefusals(rules: Rules): RulesIssue[] {
    const tooLarge = sizeProblem(storedRulesText(rules));
    if (tooLarge) return [{ path: "$", message: `${tooLarge}: the edge would refuse to read it` }];
    const reported = this.#facts().get("edgeServices");
    const services: string[] = reported ? JSON.parse(reported) : [];
    return COLOURS.flatMap((colour) => {
      const name = rules.origins[colour].service;
      if (!name || services.includes(name)) return [];
      const known = reported ? `it has ${services.join(", ") || "none"}` : "no edge Worker has reported its bindings yet";
      return [{ path: `$.origins.${colour}.service`, message: `the edge Worker has no service binding ${name} (${known}): it would refuse this document` }];
    });
  }

  /** Storage ready; on first use the document already in KV (an existing deployment's) becomes the first revision. */
  async #ready(): Promise<Ledger> {
    const ledger = new Ledger(this.ctx.storage.sql, (run) => this.ctx.storage.transactionSync(run));
    if (ledger.head() > 0 || this.#facts().get("imported")) return ledger;
    await this.#queued(async () => {
      if (ledger.head() > 0 || this.#facts().get("imported")) return;
      const record = await readRulesRecord(this.env.CANARY_KV).catch(() => null);
      if (!record) return; // KV unreachable: try again on the next call
      // Only a document no edge could read is refused here: which service bindings the edge has is
      // not known before its first beacon, and a deployment's live document must not be lost to that.
      const parsed = record.text === null ? null : parseRulesText(record.text);
      const tooLarge = record.text === null ? null : sizeProblem(record.text);
      const issues = !parsed ? [] : !parsed.ok ? parsed.issues : tooLarge ? [{ path: "$", message: tooLarge }] : [];
      if (record.text !== null && issues.length) {
        // Not taken over: the authority starts empty, status says why, and the first write replaces it in KV.
        const why = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
        this.#facts().set("kvRefused", `the document already in KV was not taken over: ${why}`);
        this.#facts().set("seenKv", await digest(record.text));
        logProblem("authority_kv_refused", { issues });
      } else if (record.text !== null) {
        const meta: Partial<RulesMeta> = record.meta ?? {};
        const { authority: _, ...kept } = { ...meta, revision: Math.max(1, meta.revision ?? 1) };
        const entry = { updatedBy: "wrangler kv", ...kept, action: meta.action ?? "import", changes: ["(document taken over from KV)"] };
        ledger.record(record.text, entry); // mirrored back with the authority's mark, so the CLI numbers its writes after it
        this.#facts().set("seenKv", await digest(record.text));
      }
      this.#facts().set("imported", "1");
    });
    if (ledger.head() > 0) await this.#mirror(ledger); // the mark lands in KV before anyone numbers a write after it
    return ledger;
  }

  /**
   * A `rules` value in KV without the authority's mark was written around it (`wrangler kv key put`,
   * the CLI's wrangler transport): it becomes the next revision when the edge would accept it, so
   * there is one history and nothing is lost; otherwise it is refused, logged and shown in status.
   */
  async #adoptFromKv(ledger: Ledger): Promise<void> {
    this.#kvCheckedAt = Date.now();
    const record = await readRulesRecord(this.env.CANARY_KV).catch((error) => {
      logProblem("authority_kv_read_failed", { error: String(error) });
      return null;
    });
    if (!record || record.text === null || record.meta?.authority) return;
    const head = ledger.head();
    const facts = this.#facts();
    const hash = await digest(record.text);
    if ((head && ledger.text(head) === record.text) || facts.get("seenKv") === hash) return;
    facts.set("seenKv", hash);
    // The CLI's wrangler transport numbers its writes after the mirrored revision and keeps each in
    // `rules@<n>` with a history entry: take them all, in order, as it printed them.
    if (record.meta?.revision !== undefined && record.meta.revision <= head) {
      // Numbered by a writer that had not seen the authority's newer revisions (a lagging KV read): adopting it on top could undo a revert.
      const why = `a document written to KV around the authority as revision ${record.meta.revision} was not adopted: the authority was already at revision ${head}; write it again`;
      facts.set("kvRefused", why);
      logProblem("authority_kv_conflict", { written: record.meta.revision, head });
      return;
    }
    const written = (record.meta?.revision ?? 0) > head ? await this.#cliWrites(head, record.meta!.revision, record.text) : [];
    const meta: Partial<RulesMeta> = record.meta ?? {};
    const steps = written.length ? written : [{ text: record.text, entry: null }];
    for (const { text, entry } of steps) {
      const parsed = parseRulesText(text);
      const issues = parsed.ok ? this.#edgeRefusals(parsed.rules) : parsed.issues;
      if (!parsed.ok || issues.length) {
        const why = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
        facts.set("kvRefused", `a document written to KV around the authority was not adopted: ${why}`);
        logProblem("authority_kv_refused", { issues });
        return;
      }
      if (entry && entry.revision === ledger.head() + 1) {
        ledger.record(storedRulesText(parsed.rules), { ...entry, changes: entry.changes.slice(0, MAX_CHANGE_LINES) });
        continue;
      }
      const reason = meta.reason ?? "written to KV around the authority; adopted";
      const change: Change = { action: meta.action ?? "kv-put", by: meta.updatedBy ?? "wrangler kv", reason };
      await actions.commitDocument(this.#store(ledger), { actor: change.by }, change, parsed.rules);
    }
    facts.delete("kvRefused");
  }

  /** The CLI's writes after `head`, oldest first, from its history entries and `rules@<n>` keys (the newest, `revision`, is `latest`). */
  async #cliWrites(head: number, revision: number, latest: string): Promise<{ text: string; entry: HistoryEntry }[]> {
    const history = await readHistory(this.env.CANARY_KV).catch(() => []);
    const entries = history.filter((entry) => entry.revision > head).sort((a, b) => a.revision - b.revision);
    if (entries.at(-1)?.revision !== revision) return []; // KV's history is behind its `rules`: take the document alone
    const texts = await Promise.all(entries.map((entry, i) => (i === entries.length - 1 ? latest : this.env.CANARY_KV.get(revisionKey(entry.revision), "text"))));
    return entries.flatMap((entry, i) => (texts[i] ? [{ text: texts[i]!, entry }] : []));
  }

  /** Writes the head and the history to KV, one write at a time (KV takes one write per second per key). */
  #mirror(ledger: Ledger): Promise<void> {
    this.#mirroring = this.#mirroring.then(async () => {
      const revision = ledger.head();
      const text = ledger.text(revision);
      if (text === null || Number(this.#facts().get("mirrored") ?? 0) >= revision) return;
      try {
        // KV has no compare-and-swap: a write made around the authority since it last looked (the CLI's
        // wrangler transport, `wrangler kv key put`) is never overwritten; it is adopted first, then mirrored.
        const current = await readRulesRecord(this.env.CANARY_KV);
        if (current.text !== null && !current.meta?.authority && current.text !== text && (await digest(current.text)) !== this.#facts().get("seenKv")) {
          this.#kvCheckedAt = 0; // the next beacon adopts it
          return;
        }
        const { reason, ...meta } = ledger.meta(revision) ?? { revision };
        const short = reason && reason.length > 100 ? `${reason.slice(0, 97)}...` : reason; // KV metadata is at most 1024 bytes; the history keeps it whole
        await this.env.CANARY_KV.put(RULES_KEY, text, { metadata: { ...meta, ...(short ? { reason: short } : {}), authority: true } });
        await this.env.CANARY_KV.put(HISTORY_KEY, JSON.stringify(ledger.history()));
        await this.env.CANARY_KV.put(revisionKey(revision), text); // the CLI's wrangler transport rolls back from these keys
        this.#facts().set("mirrored", String(revision));
      } catch (error) {
        logProblem("authority_mirror_failed", { revision, error: String(error) }); // the next beacon retries
      }
    });
    return this.#mirroring;
  }

  #reach(): ReachBook {
    return new ReachBook(this.ctx.storage.sql);
  }

  #facts() {
    const sql = this.ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY, value TEXT)`);
    return {
      get: (key: string): string | null => sql.exec<{ value: string }>(`SELECT value FROM facts WHERE key = ?`, key).toArray()[0]?.value ?? null,
      set: (key: string, value: string) => void sql.exec(`INSERT OR REPLACE INTO facts VALUES (?, ?)`, key, value),
      delete: (key: string) => void sql.exec(`DELETE FROM facts WHERE key = ?`, key),
    };
  }
}

async function digest(text: string): Promise<string> {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}
