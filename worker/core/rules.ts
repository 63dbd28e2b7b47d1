import { z } from "zod";
import { parseRange } from "./ip.ts";

/**
 * The rules document: the one schema that the worker, the admin API and the CLI validate with.
 * config/rules.schema.json is generated from it (npm run schema).
 */

export const COLOURS = ["blue", "green"] as const;
export type Colour = (typeof COLOURS)[number];

/** The colour that is not `colour`: with two versions, the canary is always the other one. */
export function otherColour(colour: Colour): Colour {
  return colour === "blue" ? "green" : "blue";
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Plain http would expose traffic; it is allowed only on this machine (local demo origins and webhooks). */
function isSecureUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && (url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)));
}

/** An origin is a base URL: the visitor's path and query are appended, and credentials never travel in it. */
function isSafeOriginUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && isSecureUrl(text) && !url.search && !url.hash && !url.username && !url.password;
}

/** Header names as RFC 9110 allows them: anything else would make Headers.get throw on every request. */
const HeaderName = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, "must be a valid HTTP header name");

/** Two origins are the same when they name the same Worker or the same normalised URL. */
function originKey(origin: { url?: string; service?: string }): string {
  return origin.service ? `service:${origin.service}` : (URL.parse(origin.url ?? "")?.href.replace(/\/$/, "") ?? "");
}

const Percent = z
  .number()
  .min(0)
  .max(100)
  .refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-6, "must be a multiple of 0.01")
  .describe("Share of traffic, 0-100 in steps of 0.01.");

const Origin = z
  .strictObject({
    url: z
      .url()
      .refine(isSafeOriginUrl, "must be an https:// base URL without query or credentials (http:// only for localhost)")
      .optional()
      .describe("Base URL; the request path and query are appended to it."),
    service: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a binding name")
      .optional()
      .describe("Name of a service binding (declared in wrangler.toml) when this version is a Worker."),
    timeoutMs: z
      .int()
      .min(100)
      .max(300_000)
      .default(30_000)
      .describe("How long to wait for the origin's response headers before answering 504."),
  })
  .refine((o) => (o.url === undefined) !== (o.service === undefined), "give exactly one of url or service");

/** A rollout's name; the admin API and `rollout start` check a new one with the same rule. */
export const RolloutId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, "1-64 letters, digits, dot, dash or underscore")
  .describe("Salt of the bucketing hash: a new id picks a new cohort for a new release.");

const Analysis = z
  .strictObject({
    windowSeconds: z
      .int()
      .min(10)
      .max(3600)
      .multipleOf(10)
      .default(60)
      .describe("Length of one analysis window in seconds (a multiple of 10); windows are aligned to the clock."),
    minRequests: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(50)
      .describe("Canary requests a window needs before it is judged; a window with fewer never counts as failing."),
    maxErrorRate: Percent.optional().describe(
      "Highest share of canary responses that may be 5xx (origin errors and timeouts included), in percent; when left out, 5 with method thresholds, and with the sequential method whenever stable had fewer than minRequests requests to compare with.",
    ),
    maxErrorRateAboveStable: Percent.optional().describe(
      "The canary's error rate may exceed stable's in the same window by at most this many percentage points.",
    ),
    maxP95Ms: z.int().min(1).optional().describe("Highest canary p95 latency (time to response headers) in milliseconds."),
    maxP99Ms: z.int().min(1).optional().describe("Highest canary p99 latency in milliseconds."),
    maxP95Ratio: z.number().min(1).optional().describe("Canary p95 may be at most this multiple of stable's p95 in the same window (e.g. 1.5)."),
    maxP99Ratio: z.number().min(1).optional().describe("Canary p99 may be at most this multiple of stable's p99 in the same window."),
    failingWindows: z.int().min(1).max(100).default(2).describe("Consecutive failing windows (on the thresholds above) that trip the automatic rollback."),
    method: z
      .enum(["sequential", "thresholds"])
      .default("sequential")
      .describe(
        "sequential: the canary is also compared with stable statistically, adding up the evidence over windows (the thresholds above still apply as hard limits); thresholds: the thresholds alone.",
      ),
    confidence: z
      .number()
      .min(90)
      .max(99.99999)
      .default(99.999)
      .describe("How sure the sequential test must be before it rolls back, in percent: 99.999 means a healthy canary is rolled back by chance at most once in 100,000 windows."),
    errorRatio: z
      .number()
      .min(1)
      .max(100)
      .default(1)
      .describe("Sequential test: the canary's error rate may be up to this multiple of stable's in the same windows (1: no more errors than stable)."),
    slowRatio: z
      .number()
      .min(1)
      .max(100)
      .default(1.5)
      .describe("Sequential test: the canary's share of requests slower than stable's p95 may be up to this multiple of stable's share (about 5%)."),
    webhook: z
      .url()
      .refine(isSecureUrl, "must be an https:// URL (http:// only for localhost)")
      .optional()
      .describe("Receives a JSON POST when the analysis rolls the canary back."),
  })
  .describe("Canary analysis: when the canary counts as failing, and how many failing windows roll it back automatically.");

const PlanStep = z.strictObject({
  percent: Percent.refine((p) => p > 0, "a step must send some traffic to the canary"),
  dwellSeconds: z.int().min(10).max(604_800).describe("Time at this step before the next one; it also waits for a healthy window."),
});

const Plan = z
  .strictObject({
    steps: z
      .array(PlanStep)
      .min(1)
      .max(100)
      .refine((steps) => steps.every((step, i) => i === 0 || step.percent > steps[i - 1]!.percent), "step percents must increase"),
  })
  .describe("Progressive ramp driven by `rollout start`: each step after a dwell and a healthy window; after the last step, promote.");

const Names = z.array(z.string().min(1).max(256)).min(1);

const Match = z
  .strictObject({
    userIds: z.array(z.string().min(1).max(256)).min(1).max(100_000).optional().describe("User IDs, exactly."),
    userIdSuffixes: Names.optional().describe('User IDs ending with any of these, e.g. ["7", "9"].'),
    userIdParity: z.enum(["odd", "even"]).optional().describe("User IDs whose last character is an odd or even digit."),
    ipRanges: z
      .array(
        z.string().refine((text) => {
          try {
            return Boolean(parseRange(text));
          } catch {
            return false;
          }
        }, "must be an IPv4/IPv6 address or CIDR range"),
      )
      .min(1)
      .optional()
      .describe("Client IP (CF-Connecting-IP) in any of these CIDR ranges."),
    countries: Names.optional().describe("request.cf.country, ISO 3166-1 alpha-2 (e.g. DE)."),
    continents: Names.optional().describe("request.cf.continent (e.g. EU)."),
    regions: Names.optional().describe("request.cf.regionCode (e.g. CA for California)."),
    colos: Names.optional().describe("request.cf.colo, the Cloudflare data centre (e.g. FRA)."),
    asns: z.array(z.int().min(0)).min(1).optional().describe("request.cf.asn, the client's network."),
    header: z
      .strictObject({ name: HeaderName, values: Names })
      .optional()
      .describe("A request header equal to one of the values (tier, organisation, priority...); only as trustworthy as whoever sets the header."),
    cookie: z
      .strictObject({ name: z.string().min(1), values: Names })
      .optional()
      .describe("A request cookie equal to one of the values."),
    hosts: Names.optional().describe("Request host name, exactly (lower case)."),
    pathPrefixes: z.array(z.string().startsWith("/")).min(1).optional().describe("Request path starting with any of these."),
  })
  .refine((m) => Object.keys(m).length > 0, "a rule needs at least one condition")
  .describe("Every condition given must hold; within one condition any listed value matches.");

const Rule = z
  .strictObject({
    name: z.string().min(1).max(100),
    enabled: z.boolean().default(true).describe("A disabled rule is skipped; revert disables canary-bound rules."),
    when: Match,
    serve: z.enum(["stable", "canary"]).optional().describe("Send the whole segment to this version."),
    percent: Percent.optional().describe("Give the segment its own canary percentage."),
  })
  .refine((r) => (r.serve === undefined) !== (r.percent === undefined), "give exactly one of serve or percent");

export const RulesSchema = z
  .strictObject({
    $schema: z.string().optional(),
    stable: z.enum(COLOURS).describe("The version everybody gets unless a rule or the canary percentage says otherwise."),
    origins: z.strictObject({ blue: Origin, green: Origin }),
    rollout: z.strictObject({
      id: RolloutId,
      percent: Percent.describe("Share of visitors (by bucket) that get the canary, the colour that is not stable."),
      analysis: Analysis.optional(),
      plan: Plan.optional(),
    })
    .refine((rollout) => !rollout.plan || rollout.analysis, {
      message: "a plan needs analysis settings (`\"analysis\": {}` takes the defaults): a step is taken only after a healthy window",
      path: ["plan"],
    }),
    stickiness: z
      .strictObject({
        userIdHeader: HeaderName.optional().describe(
          "Request header that carries the user ID. The client can send any value: use a header your own edge or app sets (e.g. cf-access-authenticated-user-email), not one visitors control.",
        ),
        userIdCookie: z
          .string()
          .min(1)
          .optional()
          .describe("Cookie that carries the user ID (read when the header is absent); like the header, only as trustworthy as whoever sets it."),
      })
      .default({}),
    overrides: z
      .enum(["open", "signed", "off"])
      .default("signed")
      .describe("Tester override cookie: anyone may force a colour (open), only with a signed token (signed), or never (off)."),
    rules: z.array(Rule).max(1000).default([]).describe("Targeting rules, first match wins."),
  })
  .refine((r) => originKey(r.origins.blue) !== originKey(r.origins.green), {
    message: "blue and green must be different origins",
    path: ["origins"],
  });

/** A validated rules document, defaults filled in. */
export type Rules = z.output<typeof RulesSchema>;
export type Rule = Rules["rules"][number];
export type Match = Rule["when"];
export type RulesInput = z.input<typeof RulesSchema>;
export type AnalysisSettings = z.output<typeof Analysis>;
export type Plan = z.output<typeof Plan>;

/** The analysis settings with every default filled in, for a rollout that names none (status still shows health). */
export const DEFAULT_ANALYSIS: AnalysisSettings = Analysis.parse({});

/** The error-rate limit when the document names none, for method thresholds, and whenever stable is too small to compare with. */
export const FALLBACK_MAX_ERROR_RATE = 5;

/**
 * The highest canary error rate a window may show, if any: the document's; else 5% for method
 * thresholds (today's verdict, as it was), and for the sequential method when stable had too few
 * requests to compare with (a 100% canary is never judged healthy for want of a comparison).
 */
export function maxErrorRateOf(settings: AnalysisSettings, stableComparable = true): number | undefined {
  return settings.maxErrorRate ?? (settings.method === "thresholds" || !stableComparable ? FALLBACK_MAX_ERROR_RATE : undefined);
}

/** One problem in a rejected document: where (a JSON path) and what. */
export interface RulesIssue {
  path: string;
  message: string;
}

export type ParseResult = { ok: true; rules: Rules } | { ok: false; issues: RulesIssue[] };

/** Validates any value as a rules document and says exactly where it is wrong when it is not. */
export function parseRules(input: unknown): ParseResult {
  const result = RulesSchema.safeParse(input);
  if (result.success) return { ok: true, rules: result.data };
  return { ok: false, issues: issuesOf(result.error) };
}

/** Zod's issues as {path, message} pairs with JSON paths, the one error shape of the API and the CLI. */
export function issuesOf(error: z.ZodError): RulesIssue[] {
  return error.issues.map((issue) => ({ path: jsonPath(issue.path), message: issue.message }));
}

/** Parses JSON text as a rules document; a syntax error is reported like any other issue. */
export function parseRulesText(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, issues: [{ path: "$", message: `not JSON: ${(error as Error).message}` }] };
  }
  return parseRules(value);
}

/** The JSON Schema of the document, for editors and for config/rules.schema.json. */
export function rulesJsonSchema(): object {
  return z.toJSONSchema(RulesSchema, { io: "input", unrepresentable: "any" });
}

function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === "number" ? `${acc}[${key}]` : `${acc}.${String(key)}`), "$");
}
