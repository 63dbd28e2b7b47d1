import { storedRulesText } from "../../core/rules-definitions.ts";
import { briefChange } from "../../core/diff.ts";
import { parseRulesText, type Rules } from "../../core/rules.ts";
import type { Change, CommitResult, HistoryEntry, RulesMeta, RulesView } from "../store.ts";
import { HISTORY_LIMIT } from "../store.ts";

/**
 * The release authority's own storage (the Durable Object's SQLite): every kept revision's
 * document, in parts small enough for a row, and its history record. A commit writes both in one
 * transaction, so a revision exists with its audit record or not at all.
 */

/** Characters per stored part: well under SQLite's 2 MB row limit even in 4-byte UTF-8. */
const PART_CHARS = 400_000;

export class Ledger {
  constructor(private readonly sql: SqlStorage, private readonly transaction: <T>(run: () => T) => T) {
    sql.exec(`CREATE TABLE IF NOT EXISTS docs (revision INTEGER, part INTEGER, text TEXT, PRIMARY KEY (revision, part))`);
    sql.exec(`CREATE TABLE IF NOT EXISTS history (revision INTEGER PRIMARY KEY, entry TEXT)`);
  }

  /** The newest revision, 0 when nothing was ever committed. */
  head(): number {
    return Number(this.sql.exec(`SELECT MAX(revision) AS r FROM history`).one().r ?? 0);
  }

  /** A kept revision's document text, or null. */
  text(revision: number): string | null {
    const parts = this.sql.exec<{ text: string }>(`SELECT text FROM docs WHERE revision = ? ORDER BY part`, revision).toArray();
    return parts.length ? parts.map((p) => p.text).join("") : null;
  }

  meta(revision: number): RulesMeta | null {
    const row = this.sql.exec<{ entry: string }>(`SELECT entry FROM history WHERE revision = ?`, revision).toArray()[0];
    if (!row) return null;
    const { changes: _, ...meta } = JSON.parse(row.entry) as HistoryEntry;
    return meta;
  }

  /** The live document as the admin API shows it. */
  view(): RulesView {
    const revision = this.head();
    const text = revision ? this.text(revision) : null;
    const meta = revision ? this.meta(revision) : null;
    if (text === null) return { revision, meta, rules: null, issues: [{ path: "$", message: "no rules document has been written yet" }] };
    const parsed = parseRulesText(text);
    return parsed.ok ? { revision, meta, rules: parsed.rules } : { revision, meta, rules: null, issues: parsed.issues };
  }

  history(limit = HISTORY_LIMIT): HistoryEntry[] {
    return this.sql
      .exec<{ entry: string }>(`SELECT entry FROM history ORDER BY revision DESC LIMIT ?`, limit)
      .toArray()
      .map((row) => JSON.parse(row.entry) as HistoryEntry);
  }

  revision(revision: number): Rules | null {
    const text = this.text(revision);
    const parsed = text === null ? null : parseRulesText(text);
    return parsed?.ok ? parsed.rules : null;
  }

  /** Compare-and-swap: commits `rules` as the next revision only if the head is still `expected`. */
  commit(rules: Rules, change: Change, expected: number): CommitResult {
    const current = this.head();
    if (expected !== current) return { ok: false, currentRevision: current };
    const before = current ? this.revision(current) : null;
    const meta: RulesMeta = { revision: current + 1, updatedAt: new Date(Date.now()).toISOString(), updatedBy: change.by, action: change.action };
    if (change.reason) meta.reason = change.reason;
    const changes = briefChange(before, rules);
    this.record(storedRulesText(rules), { ...meta, changes });
    return { ok: true, meta, changes };
  }

  /** Stores a revision with its history record in one transaction, and forgets the oldest beyond HISTORY_LIMIT. */
  record(text: string, entry: HistoryEntry): void {
    this.transaction(() => {
      let part = 0;
      for (let at = 0; at < text.length || part === 0; part++) {
        let end = Math.min(at + PART_CHARS, text.length);
        if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end -= 1; // never split a character's surrogate pair between parts
        this.sql.exec(`INSERT INTO docs VALUES (?, ?, ?)`, entry.revision, part, text.slice(at, end));
        at = end;
      }
      this.sql.exec(`INSERT INTO history VALUES (?, ?)`, entry.revision, JSON.stringify(entry));
      this.sql.exec(`DELETE FROM docs WHERE revision <= ?`, entry.revision - HISTORY_LIMIT);
      this.sql.exec(`DELETE FROM history WHERE revision <= ?`, entry.revision - HISTORY_LIMIT);
    });
  }

  /** Bytes of SQLite storage in use (for the status and the size tests). */
  size(): number {
    return this.sql.databaseSize;
  }
}
