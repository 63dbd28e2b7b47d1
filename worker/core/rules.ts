import * as z from "zod";
import { COLOURS } from "./colours.ts";
import {
  ANALYSIS_FIELDS,
  ANALYSIS_METHODS,
  BINDING_NAME,
  DEFAULT_ASSET_PREFIXES,
  HEADER_NAME,
  isIpRange,
  isHundredth,
  isSafeOriginUrl,
  isSecureUrl,
  LIMITS,
  type NumberField,
  originKey,
  OVERRIDE_POLICIES,
  PARITIES,
  RESERVED_BINDING_MESSAGE,
  RESERVED_BINDINGS,
  ROLLOUT_ID,
  readRulesJson,
  SERVE,
} from "./rules-definitions.ts";
import { totalsProblems } from "./rules-totals.ts";

/**
 * The rules document: the one schema that the control plane and the CLI validate with, built from
 * rules-definitions.ts like the edge's zod-free check (rules-check.ts). config/rules.schema.json is
 * generated from it (npm run schema).
 */

export { COLOURS, type Colour, otherColour } from "./colours.ts";

const HeaderName = z.string().regex(HEADER_NAME, "must be a valid HTTP header name");

const Percent = z.number().min(0).max(100).refine(isHundredth, "must be a multiple of 0.01").describe("Share of traffic, 0-100 in steps of 0.01.");

/** A number setting as rules-definitions.ts states it; optional unless it has a default. */
function numberSetting<F extends NumberField>(field: F): F extends { default: number } ? z.ZodDefault<z.ZodNumber> : z.ZodOptional<z.ZodNumber>;
function numberSetting(field: NumberField) {
  let schema = field.int ? z.int() : z.number();
  if (field.percent) schema = schema.min(0).max(100);
  if (field.min !== undefined) schema = schema.min(field.min);
  if (field.max !== undefined) schema = schema.max(field.max);
  if (field.multipleOf !== undefined) schema = schema.multipleOf(field.multipleOf);
  const checked = field.percent ? schema.refine(isHundredth, "must be a multiple of 0.01") : schema;
  return field.default === undefined ? checked.optional().describe(field.describe) : checked.default(field.default).describe(field.describe);
}

const Origin = z
  .strictObject({
    url: z
      .string()
      .refine(isSafeOriginUrl, "must be an https:// base URL without query or credentials (http:// only for localhost)")
      .meta({ format: "uri" })
      .optional()
      .describe("Base URL; the request path and query are appended to it."),
    service: z
      .string()
      .regex(BINDING_NAME, "must be a binding name")
      .refine((name) => !RESERVED_BINDINGS.has(name), RESERVED_BINDING_MESSAGE)
      .optional()
      .describe("Name of a service binding (declared in wrangler.toml) when this version is a Worker."),
    timeoutMs: z
      .int()
      .min(LIMITS.timeoutMs.min)
      .max(LIMITS.timeoutMs.max)
      .optional()
      .describe(
        `How long to wait for the origin's response headers before answering 504. Left out: ${LIMITS.timeoutMs.default} ms while this version is the canary, and no deadline of the router's own while it is stable.`,
      ),
  })
  .refine((o) => (o.url === undefined) !== (o.service === undefined), "give exactly one of url or service");

/** A rollout's name; the admin API and `rollout start` check a new one with the same rule. */
export const RolloutId = z
  .string()
  .regex(ROLLOUT_ID, "1-64 letters, digits, dot, dash or underscore")
  .describe("Salt of the bucketing hash: a new id picks a new cohort for a new release.");

const Analysis = z
  .strictObject({
    windowSeconds: numberSetting(ANALYSIS_FIELDS.windowSeconds),
    minRequests: numberSetting(ANALYSIS_FIELDS.minRequests),
    maxErrorRate: numberSetting(ANALYSIS_FIELDS.maxErrorRate),
    maxErrorRateAboveStable: numberSetting(ANALYSIS_FIELDS.maxErrorRateAboveStable),
    maxP95Ms: numberSetting(ANALYSIS_FIELDS.maxP95Ms),
    maxP99Ms: numberSetting(ANALYSIS_FIELDS.maxP99Ms),
    maxP95Ratio: numberSetting(ANALYSIS_FIELDS.maxP95Ratio),
    maxP99Ratio: numberSetting(ANALYSIS_FIELDS.maxP99Ratio),
    failingWindows: numberSetting(ANALYSIS_FIELDS.failingWindows),
    confidence: numberSetting(ANALYSIS_FIELDS.confidence),
    errorRatio: numberSetting(ANALYSIS_FIELDS.errorRatio),
    slowRatio: numberSetting(ANALYSIS_FIELDS.slowRatio),
    warmupSeconds: numberSetting(ANALYSIS_FIELDS.warmupSeconds),
    method: z
      .enum(ANALYSIS_METHODS)
      .default("sequential")
      .describe(
        "sequential: the canary is also compared with stable statistically, adding up the evidence over windows (the thresholds above still apply as hard limits); thresholds: the thresholds alone.",
      ),
    webhook: z
      .string()
      .refine(isSecureUrl, "must be an https:// URL (http:// only for localhost)")
      .meta({ format: "uri" })
      .optional()
      .describe("Receives a JSON POST when the analysis rolls the canary back."),
    buildHeader: HeaderName.optional().describe(
      "Response header by which the canary origin names the build it serves (e.g. x-app-version). When set, the rollout id is the build it delivers: a canary answer naming another build (or, on a 2xx answer, none) rolls the canary back, with the reason.",
    ),
  })
  .describe("Canary analysis: when the canary counts as failing, and how many failing windows roll it back automatically.");

const PlanStep = z.strictObject({
  percent: Percent.refine((p) => p > 0, "a step must send some traffic to the canary"),
  dwellSeconds: z.int().min(LIMITS.dwellSeconds.min).max(LIMITS.dwellSeconds.max).describe("Time at this step before the next one; it also waits for a healthy window."),
});

/** A gate: an HTTPS hook the control plane calls with a signed body; a 2xx answer in time is a go. */
const Gate = z
  .strictObject({
    url: z.string().refine(isSecureUrl, "must be an https:// URL (http:// only for localhost)").meta({ format: "uri" }),
    timeoutSeconds: z
      .int()
      .min(LIMITS.gateTimeoutSeconds.min)
      .max(LIMITS.gateTimeoutSeconds.max)
      .default(LIMITS.gateTimeoutSeconds.default)
      .describe("How long to wait for the answer; no answer in time is a no-go."),
  })
  .describe("Called with a signed JSON POST (docs/pipeline.md); a 2xx answer within timeoutSeconds is a go, anything else a no-go.");

/** A rollout plan: the rules' `rollout.plan`, and what `canary release --plan` sends with `rollout start`. */
export const Plan = z
  .strictObject({
    gates: z
      .strictObject({
        beforeStart: Gate.optional().describe("Before the first step (a smoke test): its body carries a signed join link to the canary; a no-go starts nothing."),
        beforePromote: Gate.optional().describe("Before the last step's promotion (confirm): a go promotes, a no-go reverts the canary instead."),
        afterPromote: Gate.optional().describe("After the plan promoted the canary (notify): its answer is logged, it decides nothing."),
        afterRollback: Gate.optional().describe("After the analysis rolled the canary back (notify): its answer is logged, it decides nothing."),
      })
      .optional()
      .describe("Hooks that decide go or no-go at a phase of the plan; every call and answer is in the history (and the newest in the rollout's gate log)."),
    steps: z
      .array(PlanStep)
      .min(1)
      .max(LIMITS.planSteps)
      .refine((steps) => steps.every((step, i) => i === 0 || step.percent > steps[i - 1]!.percent), "step percents must increase"),
  })
  .describe("Progressive ramp driven by `rollout start`: each step after a dwell and a healthy window; after the last step, promote.");

/** A list of names or values, up to `max` of them (every list is bounded by the document-wide totals anyway). */
const names = (max: number = LIMITS.entries) => z.array(z.string().min(1).max(LIMITS.name)).min(1).max(max);
const Names = names();

const Match = z
  .strictObject({
    userIds: names(LIMITS.userIds).optional().describe("User IDs, exactly."),
    userIdSuffixes: names(LIMITS.prefixEntries).optional().describe('User IDs ending with any of these, e.g. ["7", "9"].'),
    userIdParity: z.enum(PARITIES).optional().describe("User IDs whose last character is an odd or even digit."),
    ipRanges: z
      .array(z.string().refine(isIpRange, "must be an IPv4/IPv6 address or CIDR range"))
      .min(1)
      .max(LIMITS.prefixEntries)
      .optional()
      .describe("Client IP (CF-Connecting-IP) in any of these CIDR ranges."),
    countries: Names.optional().describe("request.cf.country, ISO 3166-1 alpha-2 (e.g. DE)."),
    continents: Names.optional().describe("request.cf.continent (e.g. EU)."),
    regions: Names.optional().describe("request.cf.regionCode (e.g. CA for California)."),
    colos: Names.optional().describe("request.cf.colo, the Cloudflare data centre (e.g. FRA)."),
    asns: z.array(z.int().min(0)).min(1).max(LIMITS.entries).optional().describe("request.cf.asn, the client's network."),
    header: z
      .strictObject({ name: HeaderName, values: Names })
      .optional()
      .describe("A request header equal to one of the values (tier, organisation, priority...); only as trustworthy as whoever sets the header."),
    cookie: z
      .strictObject({ name: z.string().min(1), values: Names })
      .optional()
      .describe("A request cookie equal to one of the values."),
    hosts: Names.optional().describe("Request host name, exactly (lower case)."),
    pathPrefixes: z
      .array(z.string().startsWith("/").max(LIMITS.name))
      .min(1)
      .max(LIMITS.prefixEntries)
      .optional()
      .describe("Request path starting with any of these."),
  })
  .refine((m) => Object.keys(m).length > 0, "a rule needs at least one condition")
  .describe("Every condition given must hold; within one condition any listed value matches.");

const Rule = z
  .strictObject({
    name: z.string().min(1).max(LIMITS.ruleName),
    enabled: z.boolean().default(true).describe("A disabled rule is skipped; revert disables canary-bound rules."),
    when: Match,
    serve: z.enum(SERVE).optional().describe("Send the whole segment to this version."),
    percent: Percent.optional().describe("Give the segment its own canary percentage."),
  })
  .refine((r) => (r.serve === undefined) !== (r.percent === undefined), "give exactly one of serve or percent");

const SkewProtection = z
  .strictObject({
    enabled: z.boolean().default(true).describe("false: every request is answered by the visitor's own colour, 404s included."),
    pathPrefixes: z
      .array(z.string().startsWith("/").max(LIMITS.name))
      .max(LIMITS.assetPrefixes)
      .optional()
      .describe(`Paths of immutable build assets (static file types only). Left out: ${DEFAULT_ASSET_PREFIXES.join(" ")}`),
    contentHash: z.boolean().default(true).describe("Also any static file whose name carries a content hash (app.3f9a1c2b.js, index-BxT3k9aZ.css)."),
  })
  .describe(
    "Skew protection (left out: on, with the defaults): a GET or HEAD of an immutable asset that the visitor's colour answers 404 is asked once of the other colour, and its success served (x-canary-skew: fallback). An open page keeps loading its own build's chunks after its visitor changes version. Never for pages or API calls; costs one more origin round trip only on such a 404.",
  );

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
      .enum(OVERRIDE_POLICIES)
      .default("signed")
      .describe("Tester override cookie: anyone may force a colour (open), only with a signed token (signed), or never (off)."),
    skewProtection: SkewProtection.optional(),
    rules: z
      .array(Rule)
      .max(LIMITS.rules)
      .superRefine((rules, ctx) => {
        for (const message of totalsProblems(rules)) ctx.addIssue({ code: "custom", message });
      })
      .default([])
      .describe(
        `Targeting rules, first match wins. In all rules together: at most ${LIMITS.entries} list entries, of which at most ${LIMITS.prefixEntries} path prefixes, user-ID suffixes and IP ranges; at most ${LIMITS.headerNames} different header names and ${LIMITS.cookieNames} different cookie names.`,
      ),
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
  const read = readRulesJson(text);
  return read.ok ? parseRules(read.value) : read;
}

/** The JSON Schema of the document, for editors and for config/rules.schema.json. */
export function rulesJsonSchema(): object {
  return z.toJSONSchema(RulesSchema, { io: "input", unrepresentable: "any" });
}

function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === "number" ? `${acc}[${key}]` : `${acc}.${String(key)}`), "$");
}
