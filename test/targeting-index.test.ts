import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAddress } from "../worker/core/ip.ts";
import { compileRules } from "../worker/core/matching.ts";
import { isIpRange } from "../worker/core/rules-definitions.ts";
import { parseRules, type RulesInput } from "../worker/core/rules.ts";
import type { Traits } from "../worker/core/traits.ts";
import { referenceFirstMatch } from "./targeting-reference.ts";

/**
 * The rule index (one look-up per kind of condition, rules as bits, prefix indexes) against the
 * rule-by-rule linear scan it replaced: the same first matching rule for generated rules and
 * visitors. Small alphabets make values, prefixes, suffixes and ranges collide and nest; up to 80
 * rules cross the 32-rule words of the bitsets, and values shared by many rules become bitsets.
 */

const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const some = <T>(item: fc.Arbitrary<T>, maxLength = 4) => fc.array(item, { minLength: 1, maxLength });

const chars = pick("a", "b", "7", "8", "/", "é", "\ud83d\ude00");
const text = (maxLength: number) => fc.array(chars, { maxLength }).map((cs) => cs.join(""));
const userId = text(3).filter((s) => s.length > 0);
const path = text(4).map((t) => `/${t}`);
const ipv4 = fc.oneof(pick("10.0.0.1", "10.1.2.3", "192.0.2.7", "203.0.113.255", "0.0.0.0"), fc.ipV4());
const ipv6 = fc.oneof(pick("2001:db8::1", "2001:db8:1::", "::1", "::", "ffff::1", "::ffff:10.1.2.3"), fc.ipV6());
const address = fc.oneof(ipv4, ipv6);
const range = fc.oneof(
  pick("10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3", "0.0.0.0/0", "128.0.0.0/1", "2001:db8::/32", "2001:db8::/33", "::/0", "::ffff:10.0.0.0/104", "::1/128"),
  fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, n]) => `${a}/${n}`),
  fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([a, n]) => `${a}/${n}`),
).filter(isIpRange); // an IPv4-mapped address with a prefix under 96 is no range
const geo = pick("DE", "FR", "EU", "FRA", "AMS", "CA");
const headerName = pick("x-tier", "X-Tier", "x-org", "__proto__");
const cookieName = pick("plan", "org", "constructor", "__proto__");
const value = pick("gold", "free", "Gold", "");
const host = pick("a.example.com", "B.example.com", "b.example.com");

const CONDITIONS = {
    userIds: some(userId),
    userIdSuffixes: some(text(3).filter((s) => s.length > 0)),
    userIdParity: pick("odd", "even"),
    ipRanges: some(range),
    countries: some(geo),
    continents: some(geo),
    regions: some(geo),
    colos: some(geo),
    asns: some(fc.integer({ min: 0, max: 3 })),
    header: fc.record({ name: headerName, values: some(value.filter(Boolean)) }),
    cookie: fc.record({ name: cookieName, values: some(value.filter(Boolean)) }),
    hosts: some(host),
    pathPrefixes: some(path),
};
/** One to three conditions: a rule with more would hardly ever match. */
const when = fc
  .uniqueArray(fc.constantFrom(...(Object.keys(CONDITIONS) as (keyof typeof CONDITIONS)[])), { minLength: 1, maxLength: 3 })
  .chain((names) => fc.record(Object.fromEntries(names.map((name) => [name, CONDITIONS[name]]))));

const rules = fc.array(fc.record({ when, enabled: fc.boolean() }, { requiredKeys: ["when"] }), { maxLength: 80 });

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const visitor = fc.record({
  userId: maybe(userId),
  ip: maybe(address),
  country: maybe(geo),
  continent: maybe(geo),
  region: maybe(geo),
  colo: maybe(geo),
  asn: maybe(fc.integer({ min: 0, max: 3 })),
  host,
  path,
  header: fc.dictionary(headerName.map((n) => n.toLowerCase()), value, { maxKeys: 2 }),
  cookies: fc.dictionary(cookieName, value, { maxKeys: 2 }),
});

function traitsOf(v: typeof visitor extends fc.Arbitrary<infer T> ? T : never): Traits {
  const headers: Record<string, string> = Object.create(null);
  Object.assign(headers, v.header);
  return { ...v, ip: v.ip === undefined ? undefined : parseAddress(v.ip), host: v.host.toLowerCase(), headers, cookies: { ...v.cookies } };
}

function document(list: { when: object; enabled?: boolean }[]): RulesInput {
  return {
    stable: "blue",
    origins: { blue: { url: "https://blue.example.com" }, green: { url: "https://green.example.com" } },
    rollout: { id: "r", percent: 10 },
    rules: list.map((rule, i) => ({ name: `rule ${i}`, ...rule, serve: "canary" })) as RulesInput["rules"],
  };
}

describe("the rule index", () => {
  it("picks the same first rule as the linear scan it replaced, for generated rules and visitors", () => {
    let matched = 0;
    let runs = 0;
    fc.assert(
      fc.property(rules, fc.array(visitor, { minLength: 1, maxLength: 8 }), (list, visitors) => {
        const parsed = parseRules(document(list));
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
        const compiled = compileRules(parsed.rules);
        for (const v of visitors) {
          const traits = traitsOf(v);
          const expected = referenceFirstMatch(parsed.rules.rules, traits);
          expect(compiled.targeting.firstMatch(traits)?.name, JSON.stringify(v)).toBe(expected?.name);
          runs += 1;
          if (expected) matched += 1;
        }
      }),
      { numRuns: 2_000, seed: 20261208 },
    );
    // Both answers must be common: a generator whose visitors never (or always) matched would prove little.
    expect(matched / runs).toBeGreaterThan(0.1);
    expect(matched / runs).toBeLessThan(0.9);
  }, 120_000);

  it("finds rules past the first 32 (the bitsets' second word and beyond)", () => {
    const list = Array.from({ length: 100 }, (_, i) => ({ when: { userIds: [`u${i}`], pathPrefixes: ["/"] } }));
    const parsed = parseRules(document(list));
    if (!parsed.ok) throw new Error("refused");
    const compiled = compileRules(parsed.rules);
    const at = (userId: string) => compiled.targeting.firstMatch({ userId, host: "x", path: "/p", headers: {}, cookies: {} })?.name;
    expect([at("u0"), at("u31"), at("u32"), at("u63"), at("u64"), at("u99"), at("u100")]).toEqual(["rule 0", "rule 31", "rule 32", "rule 63", "rule 64", "rule 99", undefined]);
  });
});
