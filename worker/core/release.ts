import { sign } from "./signing.ts";

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
  /** The document's seal (Sealer): without CANARY_SECRET nobody can mark a value as a revision of the order. */
  seal?: string;
  updatedAt?: string;
  updatedBy?: string;
  action?: string;
  reason?: string;
}

/**
 * Seals a revision's document: only the authority (and the edge, which checks) can mark a value as
 * a revision of the order, so a mark copied from another namespace or deployment, or put by hand,
 * does not pass. Web Crypto in the Workers (webCryptoSealer); the release simulator gives its own.
 */
export interface Sealer {
  seal(revision: number, text: string): Promise<string>;
}

/** An HMAC-SHA256 with CANARY_SECRET (both Workers have it) over the revision and the SHA-256 of its text. */
export function webCryptoSealer(secret: string): Sealer {
  return {
    async seal(revision, text) {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
      const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
      return sign(`rules:${revision}:${hex}`, secret);
    },
  };
}

/** Whether `seal` is revision `revision`'s seal on `text`; with no sealer (a deployment without CANARY_SECRET) there is nothing to check. */
export async function sealHolds(sealer: Sealer | undefined, seal: unknown, revision: number, text: string): Promise<boolean> {
  if (!sealer) return true;
  return typeof seal === "string" && seal === (await sealer.seal(revision, text));
}

/** A short name for a document, the same everywhere (FNV-1a over its characters): how a refusal says which put it was. */
export function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return `${hash.toString(16).padStart(8, "0")}/${text.length}`;
}

/** Whether KV metadata marks the value as the authority's own mirror of revision `revision`. */
export function isMirror(meta: unknown): meta is MirrorMeta {
  const m = meta as Partial<MirrorMeta> | null | undefined;
  return m?.authority === true && Number.isSafeInteger(m.revision) && (m.revision as number) > 0;
}
