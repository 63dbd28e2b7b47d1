import type { ColoSeen, Reach } from "./propagation.ts";

/**
 * Which revision each colo last fetched from the release authority and when each revision first
 * reached it, in the authority's storage: "revision 9 reached 12 of 14 colos", and how long the
 * last revert took to spread.
 */

/** A colo not heard from for this long is not counted (no traffic there, or it was renamed). */
const ACTIVE_MS = 10 * 60_000;

export class ReachBook {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS colos (colo TEXT PRIMARY KEY, revision INTEGER, seen_at INTEGER)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS arrivals (revision INTEGER, colo TEXT, at INTEGER, PRIMARY KEY (revision, colo))`);
  }

  /** A colo fetched the beacon and will route with `revision`. */
  seen(colo: string, revision: number, now: number): void {
    this.sql.exec(`INSERT OR REPLACE INTO colos VALUES (?, ?, ?)`, colo, revision, now);
    this.sql.exec(`INSERT OR IGNORE INTO arrivals VALUES (?, ?, ?)`, revision, colo, now);
  }

  /** Forgets arrivals of revisions no longer kept. */
  prune(before: number): void {
    this.sql.exec(`DELETE FROM arrivals WHERE revision < ?`, before);
  }

  colos(now: number): ColoSeen[] {
    return this.sql
      .exec<{ colo: string; revision: number; seen_at: number }>(`SELECT * FROM colos WHERE seen_at >= ? ORDER BY colo`, now - ACTIVE_MS)
      .toArray()
      .map((row) => ({ colo: row.colo, revision: row.revision, seenAt: new Date(row.seen_at).toISOString() }));
  }

  /** How far `revision` (committed at `committedAt`) has reached: a colo counts once it fetched it or anything newer. */
  reach(revision: number, committedAt: number | null, now: number): Reach {
    const active = this.colos(now).map((c) => c.colo);
    const firsts = this.sql
      .exec<{ colo: string; at: number }>(`SELECT colo, MIN(at) AS at FROM arrivals WHERE revision >= ? GROUP BY colo`, revision)
      .toArray()
      .filter((row) => active.includes(row.colo));
    const last = Math.max(...firsts.map((row) => row.at));
    const all = firsts.length === active.length && active.length > 0;
    return {
      revision,
      committedAt: committedAt === null ? null : new Date(committedAt).toISOString(),
      reached: firsts.length,
      colos: active.length,
      tookMs: all && committedAt !== null ? Math.max(0, last - committedAt) : null,
    };
  }
}
