import type { Decision } from "./decide.ts";
import type { Colour, Rules } from "./rules.ts";
import type { BucketSource } from "./sticky.ts";

/**
 * What the edge Worker tells the control Worker about a request it hands over under CANARY_PATH:
 * the rules this edge isolate routes with and, for the tester page, the visitor's decision. The
 * edge strips any client-sent copy of the header, so only the edge can set it.
 */
export const HANDOFF_HEADER = "x-canary-edge";

/** The rules an edge isolate routes with, as `GET /rules` and the dashboard show them. */
export interface Serving {
  colo: string | null;
  revision: number | null;
  source: "kv" | "fallback";
  /** Where the document came from: the release authority (its beacon said it was newer) or KV. */
  via?: "kv" | "authority" | null;
  loadedAt: string;
  cacheTtlMs: number;
}

/** The tester page's facts: what the router decided for this visitor and from what. */
export interface VisitorFacts {
  decision: Decision;
  bucketSource: BucketSource;
  rollout: { id: string; percent: number };
  stable: Colour;
  overrides: Rules["overrides"];
}

export interface Handoff {
  serving: Serving;
  visitor?: VisitorFacts;
}

/** The header's value; JSON, percent-encoded so any rollout id or rule name stays a valid header value. */
export function encodeHandoff(handoff: Handoff): string {
  return encodeURIComponent(JSON.stringify(handoff));
}

/** The handoff the edge attached, or undefined when the request did not come through an edge Worker. */
export function readHandoff(headers: Headers): Handoff | undefined {
  const raw = headers.get(HANDOFF_HEADER);
  if (!raw) return undefined;
  try {
    return JSON.parse(decodeURIComponent(raw)) as Handoff;
  } catch {
    return undefined;
  }
}
