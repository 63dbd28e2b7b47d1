import { COLOURS } from "./colours.ts";
import {
  ANALYSIS_FIELDS,
  ANALYSIS_METHODS,
  BINDING_NAME,
  HEADER_NAME,
  isIpRange,
  isPercent,
  isSafeOriginUrl,
  isSecureUrl,
  LIMITS,
  numberFits,
  originKey,
  OVERRIDE_POLICIES,
  PARITIES,
  RESERVED_BINDING_MESSAGE,
  RESERVED_BINDINGS,
  ROLLOUT_ID,
  readRulesJson,
  SERVE,
} from "./rules-definitions.ts";
import type { ParseResult, Rules, RulesIssue } from "./rules.ts";
import { totalsProblems } from "./rules-totals.ts";

/**
 * The edge's check of a rules document: the same verdict as the zod schema (rules.ts), built from the
 * same definitions, without shipping zod to every visitor's isolate. It returns the document with the
 * same defaults filled in. test/rules-agreement.test.ts holds the two to one verdict.
 */
export function checkRulesText(text: string): ParseResult {
  const read = readRulesJson(text);
  return read.ok ? checkRules(read.value) : read;
}

/** Checks any value as a rules document. */
export function checkRules(value: unknown): ParseResult {
  const issues: RulesIssue[] = [];
  const rules = document(new Checker(issues), value);
  return issues.length === 0 ? { ok: true, rules: rules as Rules } : { ok: false, issues };
}

type Json = Record<string, unknown>;

/**
 * Collects issues at JSON paths; each method returns the value (defaults filled) or undefined. A
 * path is written out only for an issue: a valid document of 100,000 entries makes no path strings.
 */
class Checker {
  private readonly issues: RulesIssue[];
  private readonly parent: Checker | undefined;
  private readonly key: string | number | undefined;

  constructor(issues: RulesIssue[], parent?: Checker, key?: string | number) {
    this.issues = issues;
    this.parent = parent;
    this.key = key;
  }

  at(key: string | number): Checker {
    return new Checker(this.issues, this, key);
  }

  private get path(): string {
    if (!this.parent) return "$";
    return typeof this.key === "number" ? `${this.parent.path}[${this.key}]` : `${this.parent.path}.${this.key}`;
  }

  fail(message: string): undefined {
    this.issues.push({ path: this.path, message });
    return undefined;
  }

  /** A plain object with only the listed keys. */
  object(value: unknown, keys: readonly string[]): Json | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return this.fail("expected an object");
    const extra = Object.keys(value).filter((key) => !keys.includes(key));
    return extra.length ? this.fail(`unrecognized keys: ${extra.join(", ")}`) : (value as Json);
  }

  array(value: unknown, min: number, max = Infinity): unknown[] | undefined {
    if (!Array.isArray(value)) return this.fail("expected an array");
    if (value.length < min) return this.fail(`expected at least ${min} items`);
    return value.length > max ? this.fail(`expected at most ${max} items`) : value;
  }

  string(value: unknown, min = 0, max = Infinity, pattern?: RegExp): string | undefined {
    if (typeof value !== "string") return this.fail("expected a string");
    if (value.length < min || value.length > max) return this.fail(`expected ${min}-${max} characters`);
    return pattern && !pattern.test(value) ? this.fail(`must match ${pattern}`) : value;
  }

  test<T>(value: T | undefined, ok: (v: T) => boolean, message: string): T | undefined {
    return value === undefined ? undefined : ok(value) ? value : this.fail(message);
  }

  oneOf<T extends string>(value: unknown, options: readonly T[]): T | undefined {
    return options.includes(value as T) ? (value as T) : this.fail(`expected one of ${options.join(", ")}`);
  }

  number(value: unknown, fits: (n: number) => boolean, message: string): number | undefined {
    if (typeof value !== "number" || !Number.isFinite(value)) return this.fail("expected a number");
    return fits(value) ? value : this.fail(message);
  }

  boolean(value: unknown): boolean | undefined {
    return typeof value === "boolean" ? value : this.fail("expected a boolean");
  }

  /** Each item checked by `item`, in place; undefined when any failed. */
  each<T>(values: unknown[] | undefined, item: (c: Checker, value: unknown) => T | undefined): T[] | undefined {
    if (!values) return undefined;
    const before = this.issues.length;
    const out = values.map((value, i) => item(this.at(i), value));
    return this.issues.length === before ? (out as T[]) : undefined;
  }

  get failed(): number {
    return this.issues.length;
  }
}

function document(c: Checker, value: unknown): Json | undefined {
  const doc = c.object(value, ["$schema", "stable", "origins", "rollout", "stickiness", "overrides", "skewProtection", "rules"]);
  if (!doc) return undefined;
  const before = c.failed;
  const out: Json = {};
  if (doc.$schema !== undefined) out.$schema = c.at("$schema").string(doc.$schema);
  out.stable = c.at("stable").oneOf(doc.stable, COLOURS);
  const origins = c.at("origins").object(doc.origins, COLOURS);
  if (origins) out.origins = { blue: origin(c.at("origins").at("blue"), origins.blue), green: origin(c.at("origins").at("green"), origins.green) };
  out.rollout = rollout(c.at("rollout"), doc.rollout);
  out.stickiness = doc.stickiness === undefined ? {} : stickiness(c.at("stickiness"), doc.stickiness);
  out.overrides = doc.overrides === undefined ? "signed" : c.at("overrides").oneOf(doc.overrides, OVERRIDE_POLICIES);
  if (doc.skewProtection !== undefined) out.skewProtection = skewProtection(c.at("skewProtection"), doc.skewProtection);
  out.rules = doc.rules === undefined ? [] : c.at("rules").each(c.at("rules").array(doc.rules, 0, LIMITS.rules), rule);
  if (out.rules) for (const message of totalsProblems(out.rules as Rules["rules"])) c.at("rules").fail(message);
  if (c.failed > before) return undefined;
  const { blue, green } = out.origins as Rules["origins"];
  if (originKey(blue) === originKey(green)) return c.at("origins").fail("blue and green must be different origins");
  return out;
}

function origin(c: Checker, value: unknown): Json | undefined {
  const o = c.object(value, ["url", "service", "timeoutMs"]);
  if (!o) return undefined;
  const before = c.failed;
  const out: Json = {};
  if (o.url !== undefined) out.url = c.at("url").test(c.at("url").string(o.url), isSafeOriginUrl, "must be an https:// base URL without query or credentials (http:// only for localhost)");
  if (o.service !== undefined) out.service = c.at("service").test(c.at("service").string(o.service, 0, Infinity, BINDING_NAME), (name) => !RESERVED_BINDINGS.has(name), RESERVED_BINDING_MESSAGE);
  const { min, max } = LIMITS.timeoutMs;
  if (o.timeoutMs !== undefined) out.timeoutMs = c.at("timeoutMs").number(o.timeoutMs, (n) => Number.isSafeInteger(n) && n >= min && n <= max, `must be an integer from ${min} to ${max}`);
  if (c.failed > before) return undefined;
  return (out.url === undefined) !== (out.service === undefined) ? out : c.fail("give exactly one of url or service");
}

function rollout(c: Checker, value: unknown): Json | undefined {
  const r = c.object(value, ["id", "percent", "analysis", "plan"]);
  if (!r) return undefined;
  const before = c.failed;
  const out: Json = {
    id: c.at("id").string(r.id, 0, Infinity, ROLLOUT_ID),
    percent: c.at("percent").number(r.percent, isPercent, "must be 0-100 in steps of 0.01"),
  };
  if (r.analysis !== undefined) out.analysis = analysis(c.at("analysis"), r.analysis);
  if (r.plan !== undefined) out.plan = plan(c.at("plan"), r.plan);
  if (c.failed > before) return undefined;
  return out.plan && !out.analysis ? c.at("plan").fail("a plan needs analysis settings") : out;
}

function analysis(c: Checker, value: unknown): Json | undefined {
  const a = c.object(value, [...Object.keys(ANALYSIS_FIELDS), "method", "webhook"]);
  if (!a) return undefined;
  const before = c.failed;
  const out: Json = {};
  for (const [name, field] of Object.entries(ANALYSIS_FIELDS)) {
    const given = a[name];
    if (given === undefined) {
      if ("default" in field) out[name] = field.default;
    } else {
      out[name] = c.at(name).number(given, (n) => numberFits(field, n), "out of range");
    }
  }
  out.method = a.method === undefined ? "sequential" : c.at("method").oneOf(a.method, ANALYSIS_METHODS);
  if (a.webhook !== undefined) out.webhook = c.at("webhook").test(c.at("webhook").string(a.webhook), isSecureUrl, "must be an https:// URL (http:// only for localhost)");
  return c.failed > before ? undefined : out;
}

function plan(c: Checker, value: unknown): Json | undefined {
  const p = c.object(value, ["steps"]);
  if (!p) return undefined;
  const { min, max } = LIMITS.dwellSeconds;
  const steps = c.at("steps").each(c.at("steps").array(p.steps, 1, LIMITS.planSteps), (s, step) => {
    const o = s.object(step, ["percent", "dwellSeconds"]);
    if (!o) return undefined;
    const percent = s.at("percent").number(o.percent, (n) => isPercent(n) && n > 0, "must be above 0, up to 100 in steps of 0.01");
    const dwellSeconds = s.at("dwellSeconds").number(o.dwellSeconds, (n) => Number.isSafeInteger(n) && n >= min && n <= max, `must be an integer from ${min} to ${max}`);
    return percent === undefined || dwellSeconds === undefined ? undefined : { percent, dwellSeconds };
  });
  if (!steps) return undefined;
  return steps.every((step, i) => i === 0 || step.percent > steps[i - 1]!.percent) ? { steps } : c.at("steps").fail("step percents must increase");
}

function stickiness(c: Checker, value: unknown): Json | undefined {
  const s = c.object(value, ["userIdHeader", "userIdCookie"]);
  if (!s) return undefined;
  const out: Json = {};
  if (s.userIdHeader !== undefined) out.userIdHeader = c.at("userIdHeader").string(s.userIdHeader, 0, Infinity, HEADER_NAME);
  if (s.userIdCookie !== undefined) out.userIdCookie = c.at("userIdCookie").string(s.userIdCookie, 1);
  return Object.values(out).includes(undefined) ? undefined : out;
}

function skewProtection(c: Checker, value: unknown): Json | undefined {
  const s = c.object(value, ["enabled", "pathPrefixes", "contentHash"]);
  if (!s) return undefined;
  const before = c.failed;
  const out: Json = {
    enabled: s.enabled === undefined ? true : c.at("enabled").boolean(s.enabled),
    contentHash: s.contentHash === undefined ? true : c.at("contentHash").boolean(s.contentHash),
  };
  const at = c.at("pathPrefixes");
  if (s.pathPrefixes !== undefined) out.pathPrefixes = at.each(at.array(s.pathPrefixes, 0, LIMITS.assetPrefixes), (i, v) => i.test(i.string(v, 0, LIMITS.name), (p) => p.startsWith("/"), 'must start with "/"'));
  return c.failed > before ? undefined : out;
}

function rule(c: Checker, value: unknown): Json | undefined {
  const r = c.object(value, ["name", "enabled", "when", "serve", "percent"]);
  if (!r) return undefined;
  const before = c.failed;
  const out: Json = {
    name: c.at("name").string(r.name, 1, LIMITS.ruleName),
    enabled: r.enabled === undefined ? true : c.at("enabled").boolean(r.enabled),
    when: when(c.at("when"), r.when),
  };
  if (r.serve !== undefined) out.serve = c.at("serve").oneOf(r.serve, SERVE);
  if (r.percent !== undefined) out.percent = c.at("percent").number(r.percent, isPercent, "must be 0-100 in steps of 0.01");
  if (c.failed > before) return undefined;
  return (out.serve === undefined) !== (out.percent === undefined) ? out : c.fail("give exactly one of serve or percent");
}

const CONDITIONS = ["userIds", "userIdSuffixes", "userIdParity", "ipRanges", "countries", "continents", "regions", "colos", "asns", "header", "cookie", "hosts", "pathPrefixes"];

function when(c: Checker, value: unknown): Json | undefined {
  const w = c.object(value, CONDITIONS);
  if (!w) return undefined;
  const before = c.failed;
  const names = (key: string, max: number = LIMITS.entries) => c.at(key).each(c.at(key).array(w[key], 1, max), (i, v) => i.string(v, 1, LIMITS.name));
  const out: Json = {};
  for (const key of Object.keys(w)) {
    const at = c.at(key);
    if (key === "userIds") out[key] = names(key, LIMITS.userIds);
    else if (key === "userIdSuffixes") out[key] = names(key, LIMITS.prefixEntries);
    else if (key === "userIdParity") out[key] = at.oneOf(w[key], PARITIES);
    else if (key === "ipRanges") out[key] = at.each(at.array(w[key], 1, LIMITS.prefixEntries), (i, v) => i.test(i.string(v), isIpRange, "must be an IPv4/IPv6 address or CIDR range"));
    else if (key === "asns") out[key] = at.each(at.array(w[key], 1, LIMITS.entries), (i, v) => i.number(v, (n) => Number.isSafeInteger(n) && n >= 0, "must be a whole number"));
    else if (key === "pathPrefixes") out[key] = at.each(at.array(w[key], 1, LIMITS.prefixEntries), (i, v) => i.test(i.string(v, 0, LIMITS.name), (p) => p.startsWith("/"), 'must start with "/"'));
    else if (key === "header" || key === "cookie") out[key] = namedValues(at, w[key], key === "header" ? HEADER_NAME : undefined);
    else out[key] = names(key);
  }
  if (c.failed > before) return undefined;
  return Object.keys(out).length > 0 ? out : c.fail("a rule needs at least one condition");
}

function namedValues(c: Checker, value: unknown, pattern: RegExp | undefined): Json | undefined {
  const o = c.object(value, ["name", "values"]);
  if (!o) return undefined;
  const name = c.at("name").string(o.name, pattern ? 0 : 1, Infinity, pattern);
  const values = c.at("values").each(c.at("values").array(o.values, 1, LIMITS.entries), (i, v) => i.string(v, 1, LIMITS.name));
  return name === undefined || values === undefined ? undefined : { name, values };
}
