import type { Traits } from "../traits.ts";

/**
 * One kind of targeting condition: how it matches, compiled once per rules document, and which
 * request headers it reads, so responses Vary on them without anyone having to remember.
 */
export interface Condition<V> {
  compile(value: V): (traits: Traits) => boolean;
  /** Request headers (besides Cookie, which always varies) whose value can change the match. */
  reads?(value: V): string[];
  /** Cookies it reads: only the cookies some condition (or the router itself) reads are looked up. */
  cookies?(value: V): string[];
  /** Needs the client IP parsed into an address (bigint work, done only when some rule asks). */
  needsAddress?: boolean;
  /** Reads request.cf (geography, ASN): a document without such a rule never touches it. */
  readsCf?: boolean;
}

/** Matches when the trait is one of the listed values (a set look-up). */
export function oneOf<T>(pick: (traits: Traits) => T | undefined): Condition<readonly T[]>["compile"] {
  return (values) => {
    const set = new Set(values);
    return (traits) => {
      const value = pick(traits);
      return value !== undefined && set.has(value);
    };
  };
}
