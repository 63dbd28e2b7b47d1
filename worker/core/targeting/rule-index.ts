import type { Match, Rule } from "../rules.ts";
import type { Traits } from "../traits.ts";
import { bitset, type Condition, type Entry, type Lookup, wordsFor } from "./condition.ts";
import { CONDITIONS } from "./index.ts";

/**
 * The enabled rules matched all at once, so a request costs one look-up per kind of condition, not
 * one per condition of every rule. Rules are bits: each kind's look-up marks the rules whose
 * condition of that kind holds; a rule that has the kind and is not marked fails; the first rule
 * that never failed wins.
 */
export class RuleIndex {
  private readonly rules: readonly Rule[];
  private readonly lookups: { lookup: Lookup; has: Uint32Array }[];
  /** Scratch bitsets, cleared on every call: matching is synchronous, so no two requests share them at once. */
  private readonly hits: Uint32Array;
  private readonly failed: Uint32Array;

  constructor(rules: readonly Rule[]) {
    this.rules = rules;
    const words = wordsFor(rules.length);
    const entries = new Map<keyof Match, Entry<unknown>[]>();
    rules.forEach((rule, position) => {
      for (const [name, value] of conditionsOf(rule.when)) {
        const list = entries.get(name);
        if (list) list.push({ rule: position, value });
        else entries.set(name, [{ rule: position, value }]);
      }
    });
    this.lookups = [...entries].map(([name, list]) => ({
      lookup: (CONDITIONS[name] as Condition<unknown>).index(list, rules.length),
      has: bitset(list.map((entry) => entry.rule), words),
    }));
    this.hits = new Uint32Array(words);
    this.failed = new Uint32Array(words);
  }

  /** The first rule whose every condition holds for the visitor, if any. */
  firstMatch(traits: Traits): Rule | undefined {
    const { hits, failed } = this;
    if (this.rules.length === 0) return undefined;
    for (let w = 0; w < failed.length; w++) failed[w] = hits[w] = 0;
    // Each kind's hits are cleared as they are read: a loop of its own (or fill) per kind measured at a third of decide's time.
    for (const { lookup, has } of this.lookups) {
      lookup(traits, hits);
      for (let w = 0; w < failed.length; w++) {
        failed[w]! |= has[w]! & ~hits[w]!;
        hits[w] = 0;
      }
    }
    for (let w = 0; w < failed.length; w++) {
      const open = ~failed[w]!;
      if (open === 0) continue;
      const position = w * 32 + 31 - Math.clz32(open & -open); // the lowest bit not failed
      return this.rules[position]; // past the last rule (the last word's spare bits): none matched
    }
    return undefined;
  }
}

/** The conditions a rule's `when` gives, by name (all must hold). */
export function conditionsOf(when: Match): [keyof Match, unknown][] {
  return Object.entries(when).filter(([, value]) => value !== undefined) as [keyof Match, unknown][];
}
