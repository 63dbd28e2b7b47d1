import type { RulesIssue, Rules } from "../../core/rules.ts";

/**
 * The release authority's storage, as the authority needs it: the revisions and their history in
 * one order, facts it keeps about KV and the edge, which CLI intents it has carried out, and which
 * revision each colo routes on. Two backends keep it (store-sql.ts in the Durable Object, and
 * store-memory.ts for the release simulator); test/storage/release-store.ts is what both must do.
 */

/** Revisions and history records kept (and the revisions `rollback` can go back to). */
export const HISTORY_LIMIT = 100;

/** Who changed the rules, when, how and why. */
export interface RulesMeta {
  revision: number;
  updatedAt?: string;
  updatedBy?: string;
  action?: string;
  reason?: string;
}

/** One audit record: the change record plus what changed, line by line. */
export interface HistoryEntry extends RulesMeta {
  changes: string[];
  /** The CLI intent this revision carried out (intent/<id> in KV). */
  intent?: string;
  /** Set on a record that made no revision (a gate's call and its answer): `revision` is the one that was live then. */
  event?: true;
}

/** A change an operator (or the automatic analysis) asks for. */
export interface Change {
  action: string;
  by: string;
  reason?: string;
}

/** The live document: `rules` is null when there is none (or it is not valid), and `issues` says why. */
export interface RulesView {
  revision: number;
  meta: RulesMeta | null;
  rules: Rules | null;
  issues?: RulesIssue[];
}

/** A colo's last report: the revision its edge routes on, and when it said so. */
export interface ColoSeen {
  colo: string;
  revision: number;
  seenAt: string;
}

/** When a revision (or a newer one) first reached a colo. */
export interface Arrival {
  colo: string;
  at: number;
}

export interface ReleaseStore {
  /** The newest revision, 0 when nothing was ever committed. */
  head(): number;
  /** A kept revision's document text, or null. */
  text(revision: number): string | null;
  /** A kept revision's history record, or null. */
  entry(revision: number): HistoryEntry | null;
  /** History records, newest first. */
  history(limit?: number): HistoryEntry[];
  /**
   * Keeps a record of something that changed no rules (a gate's call and answer) at the head it
   * happened at; forgotten with that revision's record, or once HISTORY_LIMIT newer ones are kept.
   */
  note(entry: HistoryEntry): void;
  /** Those records, newest first. */
  notes(limit?: number): HistoryEntry[];
  /**
   * Compare-and-swap: stores `text` with `entry` as revision `expected + 1` only if the head is still
   * `expected`, together with `intent` (a CLI intent it carries out) in one transaction, and forgets
   * revisions older than HISTORY_LIMIT. False, and nothing stored, when the head moved.
   */
  append(expected: number, text: string, entry: HistoryEntry, intent?: { id: string; outcome: string; at: number }): boolean;
  /** A fact the authority keeps (what it refused in KV, what it mirrored, the edge's bindings…), or null. */
  fact(key: string): string | null;
  setFact(key: string, value: string | null): void;
  /** What a CLI intent already carried out answered (JSON), or null. */
  intent(id: string): string | null;
  /** Records an intent that wrote nothing (refused, or already so); intents older than `before` are forgotten. */
  recordIntent(id: string, outcome: string, at: number, before: number): void;
  /** A colo's edge reported the revision it routes on. */
  seen(colo: string, revision: number, now: number): void;
  /** Colos heard from since `since`, by name. */
  colos(since: number): ColoSeen[];
  /** Per colo, when `revision` or a newer one first reached it. */
  arrivals(revision: number): Arrival[];
  /** Bytes of storage in use (for the status and the size tests). */
  size(): number;
}

/**
 * The audit trail as operators read it, newest first: the revisions' records and, after the revision
 * that was live when it happened, each record that made none (newest first among them).
 */
export function trail(history: HistoryEntry[], notes: HistoryEntry[], limit = HISTORY_LIMIT): HistoryEntry[] {
  const merged: HistoryEntry[] = [];
  let next = 0;
  for (const entry of history) {
    while (next < notes.length && notes[next]!.revision >= entry.revision) merged.push(notes[next++]!);
    merged.push(entry);
  }
  while (next < notes.length) merged.push(notes[next++]!);
  return merged.slice(0, limit);
}
