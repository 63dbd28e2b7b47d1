import { parseRange } from "./ip.ts";

/**
 * What makes a rules document valid, written once: the zod schema (rules.ts, for the control plane,
 * the CLI and the JSON Schema) and the edge's zod-free check (rules-check.ts) are both built from
 * these, and a property test holds them to the same verdict on every document.
 */

/** Largest document either side accepts, in UTF-8 bytes: the admin API's body limit and the edge's read limit. */
export const MAX_RULES_BYTES = 8 * 1024 * 1024;

/**
 * Every size limit of a document. The document-wide ones (entries to cookieNames, rules-totals.ts)
 * hold the largest document the validators accept to 50 µs per decide and 50 ms to check and
 * compile in workerd (`npm run bench`: "largest document"; docs/benchmarks.md has the figures).
 */
export const LIMITS = {
  /** With the rule index a request's cost hardly grows with rules: 1000 rules of 13 conditions decide in under 10 µs. */
  rules: 1000,
  ruleName: 100,
  userIds: 100_000,
  /** Names and values in lists (user IDs, suffixes, countries, header values, …), and path prefixes: what a look-up compares. */
  name: 256,
  /** Values in all lists of all rules together: checking and indexing costs about 0.3 µs each, some 30 ms for 100,000 in 8 MiB. */
  entries: 100_000,
  /** Path prefixes, user-ID suffixes and IP ranges in all rules together: sorted, and a range parsed twice with bigints, about 4 µs each. */
  prefixEntries: 2_000,
  /** Different header names in header conditions: each is a look-up on every request and one more name in every response's Vary. */
  headerNames: 32,
  /** Different cookie names in cookie conditions: each is a search of the Cookie header on every request. */
  cookieNames: 32,
  planSteps: 100,
  /** Path prefixes of skew protection's immutable assets: compared only on an asset's 404. */
  assetPrefixes: 32,
  /** `default` is the canary's deadline when an origin sets none: the stable version gets none of the router's own. */
  timeoutMs: { min: 100, max: 300_000, default: 30_000 },
  dwellSeconds: { min: 10, max: 604_800 },
  /** How long the control plane waits for a gate's answer; no answer in time is a no-go. */
  gateTimeoutSeconds: { min: 1, max: 300, default: 30 },
} as const;

export const OVERRIDE_POLICIES = ["open", "signed", "off"] as const;
export const SERVE = ["stable", "canary"] as const;
export const PARITIES = ["odd", "even"] as const;

/** A rollout's name: the salt of the bucketing hash. */
export const ROLLOUT_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Header names as RFC 9110 allows them: anything else would make Headers.get throw on every request. */
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A service binding's name, as wrangler.toml declares it. */
export const BINDING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The router's own bindings: an origin naming one would send visitors into the control plane. */
export const RESERVED_BINDINGS: ReadonlySet<string> = new Set(["CONTROL", "RELEASE_AUTHORITY", "CANARY_ANALYSIS", "CANARY_KV", "CANARY_METRICS"]);
export const RESERVED_BINDING_MESSAGE = "is one of the router's own bindings (CONTROL, RELEASE_AUTHORITY, …), never an origin";

/** Percentages move in steps of 0.01 (one bucket of 10,000). */
export function isHundredth(p: number): boolean {
  return Math.abs(p * 100 - Math.round(p * 100)) < 1e-6;
}

/** A share of traffic: 0-100 in steps of 0.01. */
export function isPercent(p: number): boolean {
  return p >= 0 && p <= 100 && isHundredth(p);
}


/** A URL written as it is meant: no surrounding blanks or control characters the URL parser would silently drop. */
function isPlainUrlText(text: string): boolean {
  return text.length > 0 && !/^[\s\x00-\x1f]|[\s\x00-\x1f]$|[\t\n\r]/.test(text);
}

/** Plain http would expose traffic; it is allowed only on this machine (local demo origins and webhooks). */
export function isSecureUrl(text: string): boolean {
  const url = isPlainUrlText(text) ? URL.parse(text) : null;
  return url !== null && (url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname)));
}

/** An origin is a base URL: the visitor's path and query are appended, and credentials never travel in it. */
export function isSafeOriginUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && isSecureUrl(text) && !url.search && !url.hash && !url.username && !url.password;
}

/**
 * Two origins are the same when they name the same Worker, or URLs that reach the same place:
 * compared after the WHATWG parse (case, IPv4 forms), with the default port written out, any
 * loopback name as one host, and an empty query or fragment and trailing slashes dropped.
 */
export function originKey(origin: { url?: string; service?: string }): string {
  if (origin.service) return `service:${origin.service}`;
  const url = URL.parse(origin.url ?? "");
  if (!url) return "";
  const host = isLoopback(url.hostname) ? "loopback" : url.hostname.replace(/\.$/, "");
  const port = url.port || (url.protocol === "https:" ? "443" : url.protocol === "http:" ? "80" : "");
  return `${url.protocol}//${host}:${port}${url.pathname.replace(/\/+$/, "")}`;
}

/** localhost, 127.0.0.0/8 and [::1]: this machine, whichever name an origin uses for it. */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "localhost." || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** An IPv4/IPv6 address or CIDR range the router can match. */
export function isIpRange(text: string): boolean {
  try {
    return Boolean(parseRange(text));
  } catch {
    return false;
  }
}

/** A numeric analysis setting: integer or not, its range, step and default (absent = optional). */
export interface NumberField {
  int?: boolean;
  percent?: boolean;
  min?: number;
  max?: number;
  multipleOf?: number;
  default?: number;
  describe: string;
}

/** The canary analysis settings (rollout.analysis), every one a number; `webhook` is the one URL beside them. */
export const ANALYSIS_FIELDS = {
  windowSeconds: { int: true, min: 10, max: 3600, multipleOf: 10, default: 60, describe: "Length of one analysis window in seconds (a multiple of 10); windows are aligned to the clock." },
  minRequests: { int: true, min: 1, max: 1_000_000, default: 50, describe: "Canary requests a window needs before it is judged; a window with fewer never counts as failing." },
  maxErrorRate: { percent: true, describe: "Highest share of canary responses that may be 5xx (origin errors and timeouts included), in percent; when left out, 5 with method thresholds, and with the sequential method whenever stable had fewer than minRequests requests to compare with." },
  maxErrorRateAboveStable: { percent: true, describe: "The canary's error rate may exceed stable's in the same window by at most this many percentage points." },
  maxP95Ms: { int: true, min: 1, describe: "Highest canary p95 latency (time to response headers) in milliseconds." },
  maxP99Ms: { int: true, min: 1, describe: "Highest canary p99 latency in milliseconds." },
  maxP95Ratio: { min: 1, describe: "Canary p95 may be at most this multiple of stable's p95 in the same window (e.g. 1.5)." },
  maxP99Ratio: { min: 1, describe: "Canary p99 may be at most this multiple of stable's p99 in the same window." },
  failingWindows: { int: true, min: 1, max: 100, default: 2, describe: "Consecutive failing windows (on the thresholds above) that trip the automatic rollback." },
  confidence: { min: 90, max: 99.99999, default: 99.997, describe: "How sure the sequential test must be before it rolls back, in percent: at 99.997, a healthy canary is rolled back by chance at most once in about 33,000 windows." },
  errorRatio: { min: 1, max: 100, default: 1, describe: "Sequential test: the canary's error rate may be up to this multiple of stable's in the same windows (1: no more errors than stable)." },
  slowRatio: { min: 1, max: 100, default: 1, describe: "Sequential test: the canary's latencies may be up to this multiple of stable's (rounded to the histogram's 19% buckets); 1: no slower than stable." },
  warmupSeconds: { int: true, min: 0, max: 3600, default: 120, describe: "Sequential test: the canary's first seconds of traffic (after rollout start, a new rollout id or canary, a rollback) add no latency evidence, for cold caches; errors always count." },
} as const satisfies Record<string, NumberField>;

/** How the analysis judges the canary: the sequential comparison with stable (plus any hard limits), or the hard limits alone. */
export const ANALYSIS_METHODS = ["sequential", "thresholds"] as const;

/** Whether a number satisfies a field's rules (the zod schema states the same with .int/.min/.max/.multipleOf). */
export function numberFits(field: NumberField, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (field.int && !Number.isSafeInteger(value)) return false;
  if (field.percent && !isPercent(value)) return false;
  if (field.min !== undefined && value < field.min) return false;
  if (field.max !== undefined && value > field.max) return false;
  return field.multipleOf === undefined || value % field.multipleOf === 0;
}

/**
 * Document text as both sides read it: refused over MAX_RULES_BYTES, a leading byte-order mark (some
 * editors write one) is not part of the JSON, and a syntax error is reported like any other issue.
 */
export function readRulesJson(text: string): { ok: true; value: unknown } | { ok: false; issues: { path: string; message: string }[] } {
  const tooLarge = sizeProblem(text);
  if (tooLarge) return { ok: false, issues: [{ path: "$", message: tooLarge }] };
  try {
    return { ok: true, value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) };
  } catch (error) {
    return { ok: false, issues: [{ path: "$", message: `not JSON: ${(error as Error).message}` }] };
  }
}

/** A document as it is stored for the edge: indented for people, compact when indenting would take it over the limit. */
export function storedRulesText(rules: unknown): string {
  const pretty = JSON.stringify(rules, null, 2);
  return sizeProblem(pretty) ? JSON.stringify(rules) : pretty;
}

/** Why the edge would refuse to read this text for its size, if it would. */
export function sizeProblem(text: string): string | undefined {
  // UTF-8 is at most 3 bytes per UTF-16 unit: only near the limit is the exact count worth taking.
  if (text.length * 3 <= MAX_RULES_BYTES) return undefined;
  const bytes = new TextEncoder().encode(text).length;
  return bytes > MAX_RULES_BYTES ? `the document is ${bytes} bytes; the limit is ${MAX_RULES_BYTES} bytes (8 MiB)` : undefined;
}

/** Where common frameworks put their content-hashed, immutable build output. */
export const DEFAULT_ASSET_PREFIXES = [
  "/assets/", // Vite (and React Router, SvelteKit's and Remix's Vite builds)
  "/_next/static/", // Next.js
  "/_astro/", // Astro
  "/_app/immutable/", // SvelteKit
  "/_nuxt/", // Nuxt
  "/build/", // Remix (classic compiler)
  "/static/js/", // Create React App
  "/static/css/",
  "/static/media/",
] as const;
