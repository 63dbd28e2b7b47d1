/**
 * What the edge and the release authority (the control Worker's one writer) say to each other:
 * the edge asks for the beacon (the authority's current revision) about once per colo per second
 * and, only when it is newer than what it routes with, for the document itself.
 */

/** The name of a deployment's one release authority object. */
export const AUTHORITY_NAME = "edge-canary";

/** The authority's current revision, and when it said so (its clock, ms). Revision 0: it holds no document yet. */
export interface Beacon {
  revision: number;
  at: number;
}

/** A revision's document as the authority stored it: the edge checks it exactly as it checks KV's. */
export interface ReleaseDocument {
  revision: number;
  text: string;
}

/** Who is asking: the colo (for the propagation report) and the service bindings its edge has (checked at write time). */
export interface EdgeReport {
  colo: string | null;
  services: string[];
}

/** The header a control Worker's successful write answers with, so the edge isolate that handed it over routes on it at once. */
export const REVISION_HEADER = "x-canary-revision";

/** The KV key of the live document (its revision and change record in the key's metadata). */
export const RULES_KEY = "rules";
