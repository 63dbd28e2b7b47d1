/** How far a revision has spread, as `GET /rules`, `status` and the dashboard show it (pure: the CLI prints it too). */

export interface ColoSeen {
  colo: string;
  revision: number;
  seenAt: string;
}

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

/** "revision 9 reached 12 of 14 colos (last seen …); last revert (revision 7) reached 14 of 14 colos in 1.2 s". */
export function describePropagation(p: Propagation): string {
  const lastSeen = p.colos.map((c) => c.seenAt).sort().at(-1);
  const head = `revision ${p.head.revision} reached ${p.head.reached} of ${p.head.colos} colos${lastSeen ? ` (last seen ${lastSeen})` : ""}`;
  if (!p.lastRevert) return head;
  const r = p.lastRevert;
  const took = r.tookMs === null ? "so far" : `in ${(r.tookMs / 1000).toFixed(1)} s`;
  return `${head}; last revert (${r.action}, revision ${r.revision}) reached ${r.reached} of ${r.colos} colos ${took}`;
}
