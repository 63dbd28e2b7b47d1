import type { Traits } from "../traits.ts";

/**
 * One kind of targeting condition: how every rule's condition of this kind is matched at once
 * (one look-up per request, whatever the number of rules; built once per rules document), and which
 * request headers it reads, so responses Vary on them without anyone having to remember.
 */
export interface Condition<V> {
  /** `ruleCount`: how many rules the bitsets cover (the enabled rules). */
  index(entries: readonly Entry<V>[], ruleCount: number): Lookup;
  /** Request headers (besides Cookie, which always varies) whose value can change the match. */
  reads?(value: V): string[];
  /** Cookies it reads: only the cookies some condition (or the router itself) reads are looked up. */
  cookies?(value: V): string[];
  /** Needs the client IP parsed into an address (bigint work, done only when some rule asks). */
  needsAddress?: boolean;
  /** Reads request.cf (geography, ASN): a document without such a rule never touches it. */
  readsCf?: boolean;
}

/** One rule's condition of a kind: the rule's position among the enabled rules, and what it lists. */
export interface Entry<V> {
  rule: number;
  value: V;
}

/** Sets the bit (`hits`, one bit per rule) of every rule whose condition of this kind holds for the visitor. */
export type Lookup = (traits: Traits, hits: Uint32Array) => void;

/** The rules that list a value: one rule's position, a few, or a bitset once that is cheaper to mark (many rules). */
export type RuleSet = number | number[] | Uint32Array;

/** Records that `rule` lists `key`; rules are added in order, so a repeat within one rule is the last one. */
export function addRule<K>(map: Map<K, RuleSet>, key: K, rule: number): void {
  const had = map.get(key);
  if (had === undefined) map.set(key, rule);
  else if (typeof had === "number") {
    if (had !== rule) map.set(key, [had, rule]);
  } else if (had instanceof Uint32Array) had[rule >>> 5]! |= 1 << (rule & 31);
  else if (had[had.length - 1] !== rule) had.push(rule);
}

/** Lists longer than a bitset is wide become bitsets, so marking any set costs at most one pass over the words. */
export function packed<K>(map: Map<K, RuleSet>, ruleCount: number): Map<K, RuleSet> {
  const words = wordsFor(ruleCount);
  for (const [key, rules] of map) if (Array.isArray(rules) && rules.length > words) map.set(key, bitset(rules, words));
  return map;
}

/** Sets the bits of a set's rules. */
export function mark(hits: Uint32Array, rules: RuleSet | undefined): void {
  if (rules === undefined) return;
  if (typeof rules === "number") hits[rules >>> 5]! |= 1 << (rules & 31);
  else if (rules instanceof Uint32Array) for (let w = 0; w < rules.length; w++) hits[w]! |= rules[w]!;
  else for (const rule of rules) hits[rule >>> 5]! |= 1 << (rule & 31);
}

export const wordsFor = (ruleCount: number) => Math.ceil(ruleCount / 32);

export function bitset(rules: Iterable<number>, words: number): Uint32Array {
  const bits = new Uint32Array(words);
  for (const rule of rules) bits[rule >>> 5]! |= 1 << (rule & 31);
  return bits;
}

/** Every listed value (as `key` makes it), with the rules listing it. */
export function valueIndex<T>(entries: readonly Entry<readonly T[]>[], ruleCount: number, key: (value: T) => T = (v) => v): Map<T, RuleSet> {
  const map = new Map<T, RuleSet>();
  for (const { rule, value } of entries) for (const v of value) addRule(map, key(v), rule);
  return packed(map, ruleCount);
}

/** Matches when the trait is one of the listed values: one map look-up for all rules. */
export function oneOf<T>(pick: (traits: Traits) => T | undefined, key?: (value: T) => T): Condition<readonly T[]>["index"] {
  return (entries, ruleCount) => {
    const map = valueIndex(entries, ruleCount, key);
    return (traits, hits) => {
      const value = pick(traits);
      if (value !== undefined) mark(hits, map.get(value));
    };
  };
}
