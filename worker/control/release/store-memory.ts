import { type Arrival, type ColoSeen, HISTORY_LIMIT, type HistoryEntry, type ReleaseStore } from "./store.ts";

/** The release store in memory: what the release simulator runs the real authority on (same contract as store-sql.ts). */
export class MemoryReleaseStore implements ReleaseStore {
  readonly #docs = new Map<number, string>();
  readonly #history = new Map<number, HistoryEntry>();
  #notes: HistoryEntry[] = [];
  readonly #facts = new Map<string, string>();
  readonly #intents = new Map<string, { outcome: string; at: number }>();
  readonly #colos = new Map<string, { revision: number; at: number }>();
  readonly #arrivals = new Map<number, Map<string, number>>();
  #head = 0;

  head(): number {
    return this.#head;
  }

  text(revision: number): string | null {
    return this.#docs.get(revision) ?? null;
  }

  entry(revision: number): HistoryEntry | null {
    const entry = this.#history.get(revision);
    return entry ? structuredClone(entry) : null;
  }

  history(limit = HISTORY_LIMIT): HistoryEntry[] {
    return [...this.#history.keys()].sort((a, b) => b - a).slice(0, limit).map((revision) => this.entry(revision)!);
  }

  note(entry: HistoryEntry): void {
    this.#notes = [...this.#notes, structuredClone(entry)].slice(-HISTORY_LIMIT);
  }

  notes(limit = HISTORY_LIMIT): HistoryEntry[] {
    return this.#notes.slice(-limit).reverse().map((entry) => structuredClone(entry));
  }

  append(expected: number, text: string, entry: HistoryEntry, intent?: { id: string; outcome: string; at: number }): boolean {
    if (this.#head !== expected || entry.revision <= expected) return false;
    this.#docs.set(entry.revision, text);
    this.#history.set(entry.revision, structuredClone(entry));
    if (intent) this.#intents.set(intent.id, { outcome: intent.outcome, at: intent.at });
    this.#head = entry.revision;
    for (const map of [this.#docs, this.#history, this.#arrivals] as Map<number, unknown>[]) {
      for (const revision of map.keys()) if (revision <= entry.revision - HISTORY_LIMIT) map.delete(revision);
    }
    this.#notes = this.#notes.filter((note) => note.revision > entry.revision - HISTORY_LIMIT);
    return true;
  }

  fact(key: string): string | null {
    return this.#facts.get(key) ?? null;
  }

  setFact(key: string, value: string | null): void {
    if (value === null) this.#facts.delete(key);
    else this.#facts.set(key, value);
  }

  intent(id: string): string | null {
    return this.#intents.get(id)?.outcome ?? null;
  }

  recordIntent(id: string, outcome: string, at: number, before: number): void {
    this.#intents.set(id, { outcome, at });
    for (const [key, kept] of this.#intents) if (kept.at < before) this.#intents.delete(key);
  }

  seen(colo: string, revision: number, now: number): void {
    this.#colos.set(colo, { revision, at: now });
    const colos = this.#arrivals.get(revision) ?? new Map<string, number>();
    if (!colos.has(colo)) colos.set(colo, now);
    this.#arrivals.set(revision, colos);
  }

  colos(since: number): ColoSeen[] {
    return [...this.#colos]
      .filter(([, seen]) => seen.at >= since)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([colo, seen]) => ({ colo, revision: seen.revision, seenAt: new Date(seen.at).toISOString() }));
  }

  arrivals(revision: number): Arrival[] {
    const first = new Map<string, number>();
    for (const [kept, colos] of this.#arrivals) {
      if (kept < revision) continue;
      for (const [colo, at] of colos) first.set(colo, Math.min(at, first.get(colo) ?? Infinity));
    }
    return [...first].map(([colo, at]) => ({ colo, at }));
  }

  size(): number {
    let bytes = 0;
    for (const text of this.#docs.values()) bytes += text.length;
    return bytes;
  }
}
