import { LIMITS } from "../../../worker/core/rules-definitions.ts";
import type { RulesInput } from "../../../worker/core/rules.ts";

/**
 * The largest documents the validators accept, one per way of being large, each with the visitor
 * that makes `decide` do the most work on it: every limit in LIMITS at its cap, so the bench's
 * "largest document" figures follow the limits wherever they are set.
 */

type RuleInput = NonNullable<RulesInput["rules"]>[number];
type When = RuleInput["when"];

/** A document and the request that costs it the most. */
export interface LargestCase {
  name: string;
  rules: RulesInput;
  request: { url: string; headers: Record<string, string>; cf: Record<string, string | number> };
}

const VISITOR = { userId: "u-1234567", ip: "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", country: "DE", continent: "EU", region: "BE", colo: "FRA", asn: 3320 };
const PATH = `/${"a".repeat(LIMITS.name)}`;
const LONG_ID = "b".repeat(LIMITS.name);

function document(rules: RuleInput[]): RulesInput {
  return {
    stable: "blue",
    origins: { blue: { url: "https://blue.example.com" }, green: { url: "https://green.example.com" } },
    rollout: { id: "largest", percent: 25 },
    stickiness: { userIdHeader: "x-user-id" },
    rules,
  };
}

const headerName = (i: number) => `x-h${i % LIMITS.headerNames}`;
const cookieName = (i: number) => `c${i % LIMITS.cookieNames}`;

/** Every header and cookie name the documents use, each with the value they match. */
function visitorHeaders(userId: string): Record<string, string> {
  const headers: Record<string, string> = { "x-user-id": userId, "cf-connecting-ip": VISITOR.ip };
  for (let i = 0; i < LIMITS.headerNames; i++) headers[headerName(i)] = "gold";
  headers.cookie = Array.from({ length: LIMITS.cookieNames }, (_, i) => `${cookieName(i)}=pro`).join("; ");
  return headers;
}

/** Rule `i`'s share when `total` is spread over `count` rules as evenly as whole numbers allow (the shares add up to `total`). */
const share = (total: number, i: number, count: number) => Math.floor((total * (i + 1)) / count) - Math.floor((total * i) / count);

/** `count` values no visitor has, distinct across the document. */
const filler = (rule: number, kind: string, count: number) => Array.from({ length: count }, (_, k) => `${kind}${rule}-${k}`);
/** IPv6 /128 ranges the visitor is not in (the costliest to parse and index). */
const fillerRanges = (rule: number, count: number) => Array.from({ length: count }, (_, k) => `2001:db8:${rule.toString(16)}::${(k + 1).toString(16)}`);

/**
 * Every rule has every condition (as many as the cap on prefix-matched entries allows have all three
 * prefix kinds) and the visitor meets all of them but the last (hosts), so every look-up marks every
 * rule; what the caps leave is spread over the rules, IP ranges and user IDs no visitor has.
 */
function everyCondition(): LargestCase {
  const count = Math.min(LIMITS.rules, Math.floor(LIMITS.entries / 12));
  const withPrefixes = Math.min(count, Math.floor(LIMITS.prefixEntries / 3));
  const moreRanges = (i: number) => share(LIMITS.prefixEntries - 3 * withPrefixes, i, withPrefixes);
  const moreIds = (i: number) => share(LIMITS.entries - LIMITS.prefixEntries - 9 * count, i, count);
  const rules = Array.from({ length: count }, (_, i): RuleInput => {
    const prefixes: When = i < withPrefixes ? { userIdSuffixes: ["7"], ipRanges: ["2001:db8:ffff::/48", ...fillerRanges(i, moreRanges(i))], pathPrefixes: ["/products/"] } : {};
    const when: When = {
      userIds: [VISITOR.userId, ...filler(i, "u", moreIds(i))],
      userIdParity: "odd",
      countries: [VISITOR.country],
      continents: [VISITOR.continent],
      regions: [VISITOR.region],
      colos: [VISITOR.colo],
      asns: [VISITOR.asn],
      header: { name: headerName(i), values: ["gold"] },
      cookie: { name: cookieName(i), values: ["pro"] },
      ...prefixes,
      hosts: [`other-${i}.example.com`],
    };
    return { name: `rule ${i}`, when, serve: "canary" };
  });
  return { name: "every condition of every rule", rules: document(rules), request: request("/products/42", VISITOR.userId) };
}

/**
 * The prefix look-ups at their deepest: path prefixes, user-ID suffixes and IP ranges nested as far
 * as their lengths allow, the visitor's path, ID and address inside every one of them.
 */
function deepestChains(): LargestCase {
  const count = Math.min(LIMITS.rules, Math.floor(LIMITS.prefixEntries / 3));
  const rules = Array.from({ length: count }, (_, i): RuleInput => ({
    name: `rule ${i}`,
    when: {
      pathPrefixes: [`/${"a".repeat(i % LIMITS.name)}`],
      userIdSuffixes: ["b".repeat(1 + (i % LIMITS.name))],
      ipRanges: [`2001:db8::/${(i % 128) + 1}`],
      hosts: [`other-${i}.example.com`],
    },
    serve: "canary",
  }));
  return { name: "deepest prefix chains", rules: document(rules), request: request(PATH, LONG_ID, "2001:db8::") };
}

/**
 * The most entries the limits allow, as the costliest to check and index: IPv6 ranges (parsed
 * twice, sorted as 129-bit strings) up to the cap on prefix-matched entries, the rest user IDs as
 * long as 8 MiB leaves room for.
 */
function mostEntries(): LargestCase {
  const width = Math.min(LIMITS.name, Math.floor((7.5 * 1024 * 1024) / LIMITS.entries) - 12);
  const rules = Array.from({ length: LIMITS.rules }, (_, i): RuleInput => {
    const ranges = share(LIMITS.prefixEntries, i, LIMITS.rules);
    const ids = Array.from({ length: share(LIMITS.entries, i, LIMITS.rules) - ranges }, (_, k) => `u-${i}-${k}-`.padEnd(width, "u"));
    return { name: `rule ${i}`, when: { ...(ranges > 0 && { ipRanges: fillerRanges(i, ranges) }), userIds: ids }, serve: "canary" };
  });
  return { name: "most entries", rules: document(rules), request: request(PATH, VISITOR.userId) };
}

function request(path: string, userId: string, ip = VISITOR.ip): LargestCase["request"] {
  const { country, continent, region, colo, asn } = VISITOR;
  return { url: `https://www.example.com${path}`, headers: { ...visitorHeaders(userId), "cf-connecting-ip": ip }, cf: { country, continent, regionCode: region, colo, asn } };
}

export function largestCases(): LargestCase[] {
  return [everyCondition(), deepestChains(), mostEntries()];
}
