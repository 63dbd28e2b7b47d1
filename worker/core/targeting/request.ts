import { addRule, type Condition, type Entry, mark, oneOf, packed, type RuleSet } from "./condition.ts";
import { PrefixIndex } from "./prefix-index.ts";

/** Conditions on the request itself: a header, a cookie, the host, the path. */

type Named = { readonly name: string; readonly values: readonly string[] };

/** Per name (a header's or a cookie's), each value with the rules listing it: one look-up per name the document uses. */
function byName(entries: readonly Entry<Named>[], ruleCount: number, nameKey: (name: string) => string): [string, Map<string, RuleSet>][] {
  const names = new Map<string, Map<string, RuleSet>>();
  for (const { rule, value } of entries) {
    const name = nameKey(value.name);
    let values = names.get(name);
    if (!values) names.set(name, (values = new Map()));
    for (const v of value.values) addRule(values, v, rule);
  }
  return [...names].map(([name, values]) => [name, packed(values, ruleCount)]);
}

export const header: Condition<Named> = {
  index: (entries, ruleCount) => {
    const names = byName(entries, ruleCount, (name) => name.toLowerCase());
    return (t, hits) => {
      for (const [name, values] of names) {
        const value = t.headers[name];
        if (value !== undefined) mark(hits, values.get(value));
      }
    };
  },
  reads: ({ name }) => [name.toLowerCase()],
};

export const cookie: Condition<Named> = {
  index: (entries, ruleCount) => {
    const names = byName(entries, ruleCount, (name) => name);
    return (t, hits) => {
      for (const [name, values] of names) {
        const value = t.cookies[name];
        if (value !== undefined) mark(hits, values.get(value));
      }
    };
  },
  cookies: ({ name }) => [name],
};

export const hosts: Condition<readonly string[]> = {
  index: oneOf((t) => t.host, (host) => host.toLowerCase()), // the host is in every cache key: no Vary needed
};

export const pathPrefixes: Condition<readonly string[]> = {
  index: (entries, ruleCount) => {
    const index = new PrefixIndex(entries, ruleCount);
    return (t, hits) => index.mark(t.path, hits);
  },
};
