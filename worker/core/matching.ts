import { inRange, parseRange } from "./ip.ts";
import type { Match, Rule, Rules } from "./rules.ts";
import type { Traits } from "./traits.ts";

/** A rule with its conditions turned into a function, built once per rules document. */
export interface CompiledRule {
  rule: Rule;
  matches: (traits: Traits) => boolean;
}

/** A rules document ready to decide with: enabled rules compiled, in order. */
export interface CompiledRules {
  rules: Rules;
  targeting: CompiledRule[];
  /** Request headers the decision reads (Cookie, the user-ID header, header rules): responses Vary on them. */
  vary: string[];
}

/** Compiles once so that per-request matching is set look-ups and bigint masks, not parsing. */
export function compileRules(rules: Rules): CompiledRules {
  const enabled = rules.rules.filter((rule) => rule.enabled);
  const headers = [rules.stickiness.userIdHeader, ...enabled.map((rule) => rule.when.header?.name)];
  return {
    rules,
    targeting: enabled.map((rule) => ({ rule, matches: compileMatch(rule.when) })),
    vary: ["Cookie", ...new Set(headers.filter((name) => name !== undefined).map((name) => name.toLowerCase()))],
  };
}

/** All given conditions must hold; each condition matches any of its listed values. */
function compileMatch(when: Match): (traits: Traits) => boolean {
  const tests: ((t: Traits) => boolean)[] = [];
  const oneOf = <T>(values: readonly T[] | undefined, pick: (t: Traits) => T | undefined) => {
    if (!values) return;
    const set = new Set(values);
    tests.push((t) => {
      const value = pick(t);
      return value !== undefined && set.has(value);
    });
  };

  oneOf(when.userIds, (t) => t.userId);
  if (when.userIdSuffixes) {
    const suffixes = when.userIdSuffixes;
    tests.push((t) => t.userId !== undefined && suffixes.some((s) => t.userId!.endsWith(s)));
  }
  if (when.userIdParity) {
    const wanted = when.userIdParity === "odd" ? 1 : 0;
    tests.push((t) => {
      const last = t.userId?.charCodeAt(t.userId.length - 1) ?? -1;
      return last >= 48 && last <= 57 && (last - 48) % 2 === wanted;
    });
  }
  if (when.ipRanges) {
    const ranges = when.ipRanges.map(parseRange);
    tests.push((t) => t.ip !== undefined && ranges.some((range) => inRange(t.ip!, range)));
  }
  oneOf(when.countries, (t) => t.country);
  oneOf(when.continents, (t) => t.continent);
  oneOf(when.regions, (t) => t.region);
  oneOf(when.colos, (t) => t.colo);
  oneOf(when.asns, (t) => t.asn);
  if (when.header) {
    const { name } = when.header;
    oneOf(when.header.values, (t) => t.headers.get(name) ?? undefined);
  }
  if (when.cookie) {
    const { name } = when.cookie;
    oneOf(when.cookie.values, (t) => t.cookies[name]);
  }
  oneOf(when.hosts?.map((h) => h.toLowerCase()), (t) => t.host);
  if (when.pathPrefixes) {
    const prefixes = when.pathPrefixes;
    tests.push((t) => prefixes.some((p) => t.path.startsWith(p)));
  }

  return (traits) => tests.every((test) => test(traits));
}
