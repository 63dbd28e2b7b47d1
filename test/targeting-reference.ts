import { type Address, parseRange } from "../worker/core/ip.ts";
import type { Match, Rule } from "../worker/core/rules.ts";
import type { Traits } from "../worker/core/traits.ts";

/**
 * The targeting rules as they were matched before the rule index (worker/core/targeting): rule by
 * rule, every condition by a linear scan of its list. Slow, plainly right: the property test holds
 * the index to the same answer.
 */

type Checks = { [K in keyof Match]-?: (value: NonNullable<Match[K]>, t: Traits) => boolean };

const has = <T>(values: readonly T[], value: T | undefined) => value !== undefined && values.includes(value);

function inRange(address: Address, text: string): boolean {
  const range = parseRange(text);
  return address.v4 === range.v4 && (address.bits & range.mask) === range.bits;
}

const CHECKS: Checks = {
  userIds: (v, t) => has(v, t.userId),
  userIdSuffixes: (v, t) => t.userId !== undefined && v.some((s) => t.userId!.endsWith(s)),
  userIdParity: (v, t) => {
    const last = t.userId?.charCodeAt(t.userId.length - 1) ?? -1;
    return last >= 48 && last <= 57 && (last - 48) % 2 === (v === "odd" ? 1 : 0);
  },
  ipRanges: (v, t) => t.ip !== undefined && v.some((text) => inRange(t.ip!, text)),
  asns: (v, t) => has(v, t.asn),
  countries: (v, t) => has(v, t.country),
  continents: (v, t) => has(v, t.continent),
  regions: (v, t) => has(v, t.region),
  colos: (v, t) => has(v, t.colo),
  header: ({ name, values }, t) => has(values, t.headers[name.toLowerCase()]),
  cookie: ({ name, values }, t) => has(values, t.cookies[name]),
  hosts: (v, t) => has(v.map((h) => h.toLowerCase()), t.host),
  pathPrefixes: (v, t) => v.some((p) => t.path.startsWith(p)),
};

/** The first enabled rule whose every condition holds. */
export function referenceFirstMatch(rules: readonly Rule[], traits: Traits): Rule | undefined {
  return rules
    .filter((rule) => rule.enabled)
    .find((rule) => Object.entries(rule.when).every(([name, value]) => (CHECKS[name as keyof Match] as (v: unknown, t: Traits) => boolean)(value, traits)));
}
