import type { Colour } from "./colours.ts";
import type { Rules } from "./rules.ts";
import { OVERRIDE_COOKIE, STICKY_COOKIE } from "./cookies.ts";
import { LIMITS } from "./rules-definitions.ts";
import { compileSkew, type SkewPaths } from "./skew.ts";
import { type Condition, CONDITIONS } from "./targeting/index.ts";
import { conditionsOf, RuleIndex } from "./targeting/rule-index.ts";

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
  /** The enabled rules, matched all at once (targeting/rule-index.ts). */
  targeting: RuleIndex;
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
  /** Skew protection's immutable asset paths (skew.ts), or null when it is off: read only after a 404. */
  skew: SkewPaths | null;
}

/** Compiles once so that per-request matching is a few look-ups, not parsing or scanning lists. */
export function compileRules(rules: Rules): CompiledRules {
  const enabled = rules.rules.filter((rule) => rule.enabled);
  const reads = new Set<string>(rules.stickiness.userIdHeader ? [rules.stickiness.userIdHeader.toLowerCase()] : []);
  const cookies = new Set<string>([STICKY_COOKIE, OVERRIDE_COOKIE, ...(rules.stickiness.userIdCookie ? [rules.stickiness.userIdCookie] : [])]);
  let needsAddress = false;
  let readsCf = false;
  for (const rule of enabled) {
    for (const [name, value] of conditionsOf(rule.when)) {
      const condition = CONDITIONS[name] as Condition<unknown>;
      for (const header of condition.reads?.(value) ?? []) reads.add(header);
      for (const cookie of condition.cookies?.(value) ?? []) cookies.add(cookie);
      needsAddress ||= condition.needsAddress === true;
      readsCf ||= condition.readsCf === true;
    }
  }
  const targeting = new RuleIndex(enabled);
  const vary = ["Cookie", ...reads];
  const origins = { blue: originTarget(rules.origins.blue), green: originTarget(rules.origins.green) };
  origins.blue.overdueMs = origins.green.deadlineMs.canary;
  origins.green.overdueMs = origins.blue.deadlineMs.canary;
  return { rules, targeting, vary, varyText: vary.join(", "), needsAddress, readsCf, cookieNames: [...cookies], origins, skew: compileSkew(rules.skewProtection) };
}

export function originTarget(origin: Rules["origins"]["blue"]): OriginTarget {
  const url = origin.url ? URL.parse(origin.url) : null;
  const deadlineMs = { canary: origin.timeoutMs ?? LIMITS.timeoutMs.default, stable: origin.timeoutMs };
  const timing = { deadlineMs, overdueMs: deadlineMs.canary }; // compileRules sets overdueMs from the other origin
  return url ? { origin, base: { origin: url.origin, path: url.pathname.replace(/\/$/, "") }, ...timing } : { origin, ...timing };
}
