/**
 * What the edge and the release authority (the control Worker's one writer) say to each other, and
 * the part of the KV layout the edge reads. Every document the edge routes carries a position in one
 * order: the authority's revision. The edge learns the head from the beacon (about once per colo per
 * second), gets the document with it when it is behind, and takes from KV only what the authority
 * mirrored there (its mark and revision in the key's metadata).
 */

/** The name of a deployment's one release authority object. */
export const AUTHORITY_NAME = "edge-canary";

/** Who is asking: the colo (for the propagation report), the service bindings its edge has (checked at write time) and the revision it routes on. */
export interface EdgeReport {
  colo: string | null;
  services: string[];
  /** The revision this isolate routes on (0: none yet); the answer carries the document when the head is newer. */
  have?: number;
}

/** The authority's head, and its document when the asker is behind. Revision 0: it holds no document yet. */
export interface BeaconAnswer {
  revision: number;
  at: number;
  text?: string;
}

/** A revision's document as the authority stored it: the edge checks it exactly as it checks KV's. */
export interface ReleaseDocument {
  revision: number;
  text: string;
}

/** The header a control Worker's successful write answers with, so the edge isolate that handed it over routes on it at once. */
export const REVISION_HEADER = "x-canary-revision";

/** The KV key of the live document, as the authority mirrors it (its revision and change record in the key's metadata). */
export const RULES_KEY = "rules";

/** The metadata the authority puts on its mirror of `rules`; a value without `authority: true` was written around it. */
export interface MirrorMeta {
  revision: number;
  authority: true;
  updatedAt?: string;
  updatedBy?: string;
  action?: string;
  reason?: string;
}

/** Whether KV metadata marks the value as the authority's own mirror of revision `revision`. */
export function isMirror(meta: unknown): meta is MirrorMeta {
  const m = meta as Partial<MirrorMeta> | null | undefined;
  return m?.authority === true && Number.isSafeInteger(m.revision) && (m.revision as number) > 0;
}
