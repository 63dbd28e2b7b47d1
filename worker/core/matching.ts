import type { Colour } from "./colours.ts";
import type { Match, Rule, Rules } from "./rules.ts";
import { OVERRIDE_COOKIE, STICKY_COOKIE } from "./cookies.ts";
import { LIMITS } from "./rules-definitions.ts";
import { type Condition, CONDITIONS } from "./targeting/index.ts";
import type { Traits } from "./traits.ts";

/** A rule with its conditions turned into a function, built once per rules document. */
export interface CompiledRule {
  rule: Rule;
  matches: (traits: Traits) => boolean;
}

/** Where a colour's requests go, parsed once per rules document. */
export interface OriginTarget {
  origin: Rules["origins"]["blue"];
  /** For URL origins: scheme + host (+ port), and the base path without a trailing slash. */
  base?: { origin: string; path: string };
  /**
   * Milliseconds to wait for response headers, by the role this origin serves in. A per-request timer
   * is about a tenth of the router's CPU (docs/benchmarks.md), so it is spent where it buys a
   * verdict: a hung canary is cut off and counted; the stable version waits as the site always did,
   * unless its document sets `timeoutMs`.
   */
  deadlineMs: { canary: number; stable?: number };
  /**
   * While this origin is stable with no deadline, an answer later than this counts as a timeout in
   * health: the other origin's deadline as canary, so both versions are judged by one clock.
   */
  overdueMs: number;
}

/** A rules document ready to decide with: everything that depends only on the revision, computed once. */
export interface CompiledRules {
  rules: Rules;
  targeting: CompiledRule[];
  /** Request headers the decision reads (Cookie, the user-ID header, header rules): responses Vary on them. */
  vary: string[];
  varyText: string;
  /** Some enabled rule matches IP ranges, so the client IP is parsed. */
  needsAddress: boolean;
  /** Some enabled rule reads request.cf (geography, ASN); otherwise it is never touched. */
  readsCf: boolean;
  /** The cookies the router reads: its own, the user-ID cookie, and those cookie rules match on. */
  cookieNames: string[];
  origins: Record<Colour, OriginTarget>;
}

/** Compiles once so that per-request matching is set look-ups and bigint masks, not parsing. */
export function compileRules(rules: Rules): CompiledRules {
  const enabled = rules.rules.filter((rule) => rule.enabled);
  const reads = new Set<string>(rules.stickiness.userIdHeader ? [rules.stickiness.userIdHeader.toLowerCase()] : []);
  const cookies = new Set<string>([STICKY_COOKIE, OVERRIDE_COOKIE, ...(rules.stickiness.userIdCookie ? [rules.stickiness.userIdCookie] : [])]);
  let needsAddress = false;
  let readsCf = false;
  const targeting = enabled.map((rule) => {
    const tests = conditionsOf(rule.when).map(({ condition, value }) => {
      for (const name of condition.reads?.(value) ?? []) reads.add(name);
      for (const name of condition.cookies?.(value) ?? []) cookies.add(name);
      needsAddress ||= condition.needsAddress === true;
      readsCf ||= condition.readsCf === true;
      return condition.compile(value);
    });
    return { rule, matches: (traits: Traits) => tests.every((test) => test(traits)) };
  });
  const vary = ["Cookie", ...reads];
  const origins = { blue: originTarget(rules.origins.blue), green: originTarget(rules.origins.green) };
  origins.blue.overdueMs = origins.green.deadlineMs.canary;
  origins.green.overdueMs = origins.blue.deadlineMs.canary;
  return { rules, targeting, vary, varyText: vary.join(", "), needsAddress, readsCf, cookieNames: [...cookies], origins };
}

/** The conditions a rule's `when` gives, each with its table entry (all must hold). */
function conditionsOf(when: Match) {
  return Object.entries(when).map(([name, value]) => ({
    condition: CONDITIONS[name as keyof Match] as Condition<unknown>,
    value,
  }));
}

export function originTarget(origin: Rules["origins"]["blue"]): OriginTarget {
  const url = origin.url ? URL.parse(origin.url) : null;
  const deadlineMs = { canary: origin.timeoutMs ?? LIMITS.timeoutMs.default, stable: origin.timeoutMs };
  const timing = { deadlineMs, overdueMs: deadlineMs.canary }; // compileRules sets overdueMs from the other origin
  return url ? { origin, base: { origin: url.origin, path: url.pathname.replace(/\/$/, "") }, ...timing } : { origin, ...timing };
}
