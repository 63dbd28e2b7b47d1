import { type Arrival, type ColoSeen, HISTORY_LIMIT, type HistoryEntry, type ReleaseStore } from "./store.ts";

/** The release store in the authority's Durable Object SQLite: a revision, its history record and an intent it carries out commit in one transaction. */

/** Characters per stored part: well under SQLite's 2 MB row limit even in 4-byte UTF-8. */
const PART_CHARS = 400_000;

export class SqlReleaseStore implements ReleaseStore {
  readonly #sql: SqlStorage;
  readonly #transaction: <T>(run: () => T) => T;

  constructor(storage: DurableObjectStorage) {
    this.#sql = storage.sql;
    this.#transaction = (run) => storage.transactionSync(run);
    for (const table of [
      "docs (revision INTEGER, part INTEGER, text TEXT, PRIMARY KEY (revision, part))",
      "history (revision INTEGER PRIMARY KEY, entry TEXT)",
      "notes (seq INTEGER PRIMARY KEY AUTOINCREMENT, revision INTEGER, entry TEXT)",
      "facts (key TEXT PRIMARY KEY, value TEXT)",
      "intents (id TEXT PRIMARY KEY, at INTEGER, outcome TEXT)",
      "colos (colo TEXT PRIMARY KEY, revision INTEGER, seen_at INTEGER)",
      "arrivals (revision INTEGER, colo TEXT, at INTEGER, PRIMARY KEY (revision, colo))",
    ]) {
      this.#sql.exec(`CREATE TABLE IF NOT EXISTS ${table}`);
    }
  }

  head(): number {
    return Number(this.#sql.exec(`SELECT MAX(revision) AS r FROM history`).one().r ?? 0);
  }

  text(revision: number): string | null {
    const parts = this.#sql.exec<{ text: string }>(`SELECT text FROM docs WHERE revision = ? ORDER BY part`, revision).toArray();
    return parts.length ? parts.map((p) => p.text).join("") : null;
  }

  entry(revision: number): HistoryEntry | null {
    const row = this.#sql.exec<{ entry: string }>(`SELECT entry FROM history WHERE revision = ?`, revision).toArray()[0];
    return row ? (JSON.parse(row.entry) as HistoryEntry) : null;
  }

  history(limit = HISTORY_LIMIT): HistoryEntry[] {
    return this.#sql
      .exec<{ entry: string }>(`SELECT entry FROM history ORDER BY revision DESC LIMIT ?`, limit)
      .toArray()
      .map((row) => JSON.parse(row.entry) as HistoryEntry);
  }

  note(entry: HistoryEntry): void {
    this.#sql.exec(`INSERT INTO notes (revision, entry) VALUES (?, ?)`, entry.revision, JSON.stringify(entry));
    this.#sql.exec(`DELETE FROM notes WHERE seq <= (SELECT MAX(seq) FROM notes) - ?`, HISTORY_LIMIT);
  }

  notes(limit = HISTORY_LIMIT): HistoryEntry[] {
    return this.#sql
      .exec<{ entry: string }>(`SELECT entry FROM notes ORDER BY seq DESC LIMIT ?`, limit)
      .toArray()
      .map((row) => JSON.parse(row.entry) as HistoryEntry);
  }

  append(expected: number, text: string, entry: HistoryEntry, intent?: { id: string; outcome: string; at: number }): boolean {
    return this.#transaction(() => {
      if (this.head() !== expected || entry.revision <= expected) return false;
      let part = 0;
      for (let at = 0; at < text.length || part === 0; part++) {
        let end = Math.min(at + PART_CHARS, text.length);
        if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end -= 1; // never split a character's surrogate pair between parts
        this.#sql.exec(`INSERT INTO docs VALUES (?, ?, ?)`, entry.revision, part, text.slice(at, end));
        at = end;
      }
      this.#sql.exec(`INSERT INTO history VALUES (?, ?)`, entry.revision, JSON.stringify(entry));
      if (intent) this.#sql.exec(`INSERT OR REPLACE INTO intents VALUES (?, ?, ?)`, intent.id, intent.at, intent.outcome);
      const forgotten = entry.revision - HISTORY_LIMIT;
      this.#sql.exec(`DELETE FROM docs WHERE revision <= ?`, forgotten);
      this.#sql.exec(`DELETE FROM history WHERE revision <= ?`, forgotten);
      this.#sql.exec(`DELETE FROM notes WHERE revision <= ?`, forgotten);
      this.#sql.exec(`DELETE FROM arrivals WHERE revision <= ?`, forgotten);
      return true;
    });
  }

  fact(key: string): string | null {
    return this.#sql.exec<{ value: string }>(`SELECT value FROM facts WHERE key = ?`, key).toArray()[0]?.value ?? null;
  }

  setFact(key: string, value: string | null): void {
    if (value === null) this.#sql.exec(`DELETE FROM facts WHERE key = ?`, key);
    else this.#sql.exec(`INSERT OR REPLACE INTO facts VALUES (?, ?)`, key, value);
  }

  intent(id: string): string | null {
    return this.#sql.exec<{ outcome: string }>(`SELECT outcome FROM intents WHERE id = ?`, id).toArray()[0]?.outcome ?? null;
  }

  recordIntent(id: string, outcome: string, at: number, before: number): void {
    this.#sql.exec(`INSERT OR REPLACE INTO intents VALUES (?, ?, ?)`, id, at, outcome);
    this.#sql.exec(`DELETE FROM intents WHERE at < ?`, before);
  }

  seen(colo: string, revision: number, now: number): void {
    this.#sql.exec(`INSERT OR REPLACE INTO colos VALUES (?, ?, ?)`, colo, revision, now);
    this.#sql.exec(`INSERT OR IGNORE INTO arrivals VALUES (?, ?, ?)`, revision, colo, now);
  }

  colos(since: number): ColoSeen[] {
    return this.#sql
      .exec<{ colo: string; revision: number; seen_at: number }>(`SELECT * FROM colos WHERE seen_at >= ? ORDER BY colo`, since)
      .toArray()
      .map((row) => ({ colo: row.colo, revision: row.revision, seenAt: new Date(row.seen_at).toISOString() }));
  }

  arrivals(revision: number): Arrival[] {
    return this.#sql.exec<{ colo: string; at: number }>(`SELECT colo, MIN(at) AS at FROM arrivals WHERE revision >= ? GROUP BY colo`, revision).toArray();
  }

  size(): number {
    return this.#sql.databaseSize;
  }
}
