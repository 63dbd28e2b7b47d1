import { type Entry, wordsFor } from "./condition.ts";

/**
 * Every rule's list of prefixes at once (path prefixes, reversed user-ID suffixes, IP ranges as
 * bit strings). The keys are sorted, each knows its longest proper prefix among them, and each
 * carries the bitset of the rules that it or any of its prefixes belongs to: the keys a text
 * starts with are the deepest one and its prefixes, found by one binary search and a walk up, and
 * marked by one bitset, however many rules and keys there are.
 */
export class PrefixIndex {
  private readonly keys: string[];
  /** For each key, the position of its longest proper prefix among the keys, or -1. */
  private readonly parents: Int32Array;
  /** For each key, `words` words: the rules listing it or one of its prefixes. */
  private readonly covers: Uint32Array;
  private readonly words: number;

  constructor(entries: readonly Entry<readonly string[]>[], ruleCount: number) {
    const byKey = new Map<string, number[]>();
    for (const { rule, value } of entries) {
      for (const key of value) {
        const rules = byKey.get(key);
        if (rules) rules.push(rule);
        else byKey.set(key, [rule]);
      }
    }
    const keys = [...byKey.keys()].sort();
    const words = wordsFor(ruleCount);
    this.keys = keys;
    this.words = words;
    this.parents = new Int32Array(keys.length);
    this.covers = new Uint32Array(keys.length * words);
    // In sorted order a key's prefixes come before it, and the stack holds the chain of the key before.
    const chain: number[] = [];
    keys.forEach((key, i) => {
      while (chain.length && !key.startsWith(keys[chain[chain.length - 1]!]!)) chain.pop();
      const parent = chain.length ? chain[chain.length - 1]! : -1;
      this.parents[i] = parent;
      if (parent >= 0) this.covers.copyWithin(i * words, parent * words, (parent + 1) * words);
      for (const rule of byKey.get(key)!) this.covers[i * words + (rule >>> 5)]! |= 1 << (rule & 31);
      chain.push(i);
    });
  }

  /** Marks the rules with a key that `text` starts with. */
  mark(text: string, hits: Uint32Array): void {
    const { keys, parents, covers, words } = this;
    let low = 0;
    let high = keys.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (keys[mid]! <= text) low = mid + 1;
      else high = mid;
    }
    // The largest key not above the text: the keys the text starts with are it or its prefixes, none longer than what it shares with the text.
    let at = low - 1;
    if (at < 0) return;
    const shared = commonPrefixLength(keys[at]!, text);
    while (at >= 0 && keys[at]!.length > shared) at = parents[at]!;
    if (at < 0) return;
    for (let w = 0, from = at * words; w < words; w++) hits[w]! |= covers[from + w]!;
  }
}

function commonPrefixLength(a: string, b: string): number {
  const end = Math.min(a.length, b.length);
  let i = 0;
  while (i < end && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
