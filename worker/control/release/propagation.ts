import type { ColoSeen, ReleaseStore } from "./store.ts";

/** How far a revision has spread, as `GET /rules`, `status` and the dashboard show it (describePropagation is pure: the CLI prints it too). */

export type { ColoSeen };

/** A colo not heard from for this long is not counted (no traffic there, or it was renamed). */
const ACTIVE_MS = 10 * 60_000;

/** How far one revision has spread. */
export interface Reach {
  revision: number;
  committedAt: string | null;
  reached: number;
  colos: number;
  /** Milliseconds from the commit until the last counted colo had it; null while some have not. */
  tookMs: number | null;
}

export interface Propagation {
  head: Reach;
  lastRevert: (Reach & { action: string }) | null;
  colos: ColoSeen[];
}

/** How far `revision` (committed at `committedAt`) has reached: a colo counts once its edge reported routing on it or anything newer. */
export function reachOf(store: ReleaseStore, revision: number, committedAt: number | null, now: number): Reach {
  const active = new Set(store.colos(now - ACTIVE_MS).map((c) => c.colo));
  const firsts = store.arrivals(revision).filter((row) => active.has(row.colo));
  const last = Math.max(...firsts.map((row) => row.at));
  const all = firsts.length === active.size && active.size > 0;
  return {
    revision,
    committedAt: committedAt === null ? null : new Date(committedAt).toISOString(),
    reached: firsts.length,
    colos: active.size,
    tookMs: all && committedAt !== null ? Math.max(0, last - committedAt) : null,
  };
}

/** The colos heard from in the last ten minutes. */
export function activeColos(store: ReleaseStore, now: number): ColoSeen[] {
  return store.colos(now - ACTIVE_MS);
}

/** "revision 9 reached 12 of 14 colos (last seen …); last revert (revision 7) reached 14 of 14 colos in 1.2 s". */
export function describePropagation(p: Propagation): string {
  const lastSeen = p.colos.map((c) => c.seenAt).sort().at(-1);
  const head = `revision ${p.head.revision} reached ${p.head.reached} of ${p.head.colos} colos${lastSeen ? ` (last seen ${lastSeen})` : ""}`;
  if (!p.lastRevert) return head;
  const r = p.lastRevert;
  const took = r.tookMs === null ? "so far" : `in ${(r.tookMs / 1000).toFixed(1)} s`;
  return `${head}; last revert (${r.action}, revision ${r.revision}) reached ${r.reached} of ${r.colos} colos ${took}`;
}
