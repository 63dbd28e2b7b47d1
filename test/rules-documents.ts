import fc from "fast-check";
import { LIMITS } from "../worker/core/rules-definitions.ts";

/**
 * Generated rules documents, valid and broken (a valid-looking one with a few values set, deleted
 * or added anywhere): what the validators, the admin API and the edge must agree on.
 */

const STRINGS = [
  "sequential", "thresholds",
  "", " ", "a", "x-tier", "X_Tier", "bad header", "ü", "GREEN_WORKER", "1binding", "_ok", "r1", "release-42", "a b",
  "https://blue.example.com", "https://green.example.com/", "https://green.example.com/base", "http://127.0.0.1:8101",
  "http://localhost:8102", "http://[::1]:8103", "http://example.com", "ftp://x.example", "https://a.example/?q=1",
  "https://a.example/#h", "https://u:p@a.example", " https://a.example", "https://a.example\n", "https://exa\tmple.com", "not a url",
  "10.0.0.0/8", "192.0.2.7", "::1/128", "2001:db8::/32", "1.2.3.4/33", "::ffff:192.0.2.0/120", "::ffff:192.0.2.0/90", "1.2.3",
  "/", "/beta", "beta", "DE", "EU", "FRA", "odd", "even", "stable", "canary", "open", "signed", "off", "blue", "green",
  "x".repeat(64), "x".repeat(65), "y".repeat(100), "y".repeat(101), "z".repeat(256), "z".repeat(257),
];
const NUMBERS = [89.9, 90, 99.999, 99.99999, 99.999991, 0, 1, -1, 0.5, 0.01, 0.001, 0.015, 2, 5, 9, 10, 15, 20, 50, 60, 99.99, 100, 100.01, 101, 1.5, 3600, 3610, 99, 300_000, 300_001, 30_000, 1e6, 1e6 + 1, 604_800, 604_801, 2 ** 53];

const str = fc.constantFrom(...STRINGS);
const num = fc.constantFrom(...NUMBERS);
const scalar = fc.oneof(str, num, fc.boolean(), fc.constant(null));
const anyJson = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(str, scalar, { maxKeys: 2 }));

const goodUrl = fc.constantFrom("https://blue.example.com", "https://green.example.com/", "http://127.0.0.1:8101", "https://x.example/base");
const origin = fc.oneof(
  fc.record({ url: goodUrl, timeoutMs: fc.constantFrom(100, 5000, 30_000, 300_000) }, { requiredKeys: ["url"] }),
  fc.record({ service: fc.constantFrom("GREEN_WORKER", "BLUE_WORKER"), timeoutMs: fc.constantFrom(100, 30_000) }, { requiredKeys: ["service"] }),
);
const names = fc.array(fc.constantFrom("DE", "FR", "EU", "FRA", "7", "9", "a"), { minLength: 1, maxLength: 3 });
const when = fc.record(
  {
    userIds: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }),
    userIdSuffixes: names,
    userIdParity: fc.constantFrom("odd", "even"),
    ipRanges: fc.array(fc.constantFrom("10.0.0.0/8", "192.0.2.7", "2001:db8::/32"), { minLength: 1, maxLength: 2 }),
    countries: names,
    continents: names,
    regions: names,
    colos: names,
    asns: fc.array(fc.nat({ max: 70_000 }), { minLength: 1, maxLength: 2 }),
    header: fc.record({ name: fc.constantFrom("x-tier", "X-Org"), values: names }),
    cookie: fc.record({ name: fc.constantFrom("tier", "org"), values: names }),
    hosts: names,
    pathPrefixes: fc.array(fc.constantFrom("/", "/beta", "/api/v2"), { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: [] },
);
const percent = fc.integer({ min: 0, max: 10_000 }).map((n) => n / 100);
const rule = fc.oneof(
  fc.record({ name: fc.constantFrom("beta", "office"), enabled: fc.boolean(), when, serve: fc.constantFrom("stable", "canary") }, { requiredKeys: ["name", "when", "serve"] }),
  fc.record({ name: fc.constantFrom("beta", "office"), enabled: fc.boolean(), when, percent }, { requiredKeys: ["name", "when", "percent"] }),
);
const analysis = fc.record(
  {
    windowSeconds: fc.constantFrom(10, 60, 3600),
    minRequests: fc.constantFrom(1, 50, 1_000_000),
    maxErrorRate: percent,
    maxErrorRateAboveStable: percent,
    maxP95Ms: fc.constantFrom(1, 800),
    maxP99Ms: fc.constantFrom(1, 2000),
    maxP95Ratio: fc.constantFrom(1, 1.5),
    maxP99Ratio: fc.constantFrom(1, 2),
    failingWindows: fc.constantFrom(1, 2, 100),
    method: fc.constantFrom("sequential", "thresholds"),
    confidence: fc.constantFrom(90, 99, 99.999, 99.99999),
    errorRatio: fc.constantFrom(1, 2.5, 100),
    slowRatio: fc.constantFrom(1, 1.5, 100),
    warmupSeconds: fc.constantFrom(0, 120, 3600, 3601),
    webhook: fc.constantFrom("https://hooks.example.com/canary", "http://127.0.0.1:9000/hook"),
    buildHeader: fc.oneof({ weight: 29, arbitrary: fc.constantFrom("x-app-version", "X-Build") }, { weight: 1, arbitrary: fc.constantFrom("bad header", "") }),
  },
  { requiredKeys: [] },
);
const gate = fc.record(
  {
    url: fc.oneof({ weight: 29, arbitrary: fc.constantFrom("https://ci.example.com/smoke", "http://127.0.0.1:9000/gate") }, { weight: 1, arbitrary: fc.constantFrom("http://ci.example.com/smoke", "not a url") }),
    timeoutSeconds: fc.oneof({ weight: 29, arbitrary: fc.constantFrom(1, 30, 300) }, { weight: 1, arbitrary: fc.constantFrom(0, 301, 2.5) }),
  },
  { requiredKeys: ["url"] },
);
const plan = fc.record(
  {
    steps: fc.constantFrom([{ percent: 1, dwellSeconds: 600 }], [{ percent: 5, dwellSeconds: 10 }, { percent: 100, dwellSeconds: 604_800 }]),
    gates: fc.record({ beforeStart: gate, beforePromote: gate, afterPromote: gate, afterRollback: gate }, { requiredKeys: [] }),
  },
  { requiredKeys: ["steps"] },
);
const validish = fc.record(
  {
    $schema: fc.constant("../config/rules.schema.json"),
    stable: fc.constantFrom("blue", "green"),
    origins: fc.record({ blue: origin, green: origin }),
    rollout: fc.record({ id: fc.constantFrom("r1", "release-42"), percent, analysis, plan }, { requiredKeys: ["id", "percent"] }),
    stickiness: fc.record({ userIdHeader: fc.constantFrom("x-user-id"), userIdCookie: fc.constantFrom("uid") }, { requiredKeys: [] }),
    overrides: fc.constantFrom("open", "signed", "off"),
    skewProtection: fc.record(
      { enabled: fc.boolean(), pathPrefixes: fc.array(fc.constantFrom("/", "/assets/", "/_next/static/"), { maxLength: 2 }), contentHash: fc.boolean() },
      { requiredKeys: [] },
    ),
    rules: fc.array(rule, { maxLength: 3 }),
  },
  { requiredKeys: ["stable", "origins", "rollout"] },
);

type Mutation = { at: number; kind: "set" | "delete" | "extra"; value: unknown };
const mutation = fc.record({ at: fc.nat(), kind: fc.constantFrom("set", "delete", "extra") as fc.Arbitrary<Mutation["kind"]>, value: anyJson });

/** Every object and array in the document, with the key of each place a value sits. */
function places(doc: unknown): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const found: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach((item, i) => (found.push({ parent: value, key: i }), walk(item)));
    else if (value && typeof value === "object") for (const [key, item] of Object.entries(value)) found.push({ parent: value as Record<string, unknown>, key }), walk(item);
  };
  walk(doc);
  return found;
}

function mutate(doc: unknown, mutations: Mutation[]): unknown {
  const copy = structuredClone(doc);
  for (const { at, kind, value } of mutations) {
    const all = places(copy);
    if (all.length === 0) break;
    const { parent, key } = all[at % all.length]!;
    if (kind === "set") (parent as Record<string | number, unknown>)[key] = value;
    else if (kind === "delete" && Array.isArray(parent)) parent.splice(key as number, 1);
    else if (kind === "delete") delete (parent as Record<string, unknown>)[key as string];
    else if (!Array.isArray(parent)) (parent as Record<string, unknown>).unexpected = value;
  }
  return copy;
}

export const documents = fc.oneof(
  { weight: 1, arbitrary: validish },
  { weight: 3, arbitrary: fc.tuple(validish, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([doc, ms]) => mutate(doc, ms)) },
);


/** The rules of a document at the edge of one size limit, `n` being the count (or length) the limit bounds. */
type Edge = (n: number, cut: (total: number, parts: number) => number[]) => object[];
const edgeRule = (i: number, when: object, enabled = true) => ({ name: `r${i}`, enabled, when, serve: "canary" });
const values = (prefix: string, count: number) => Array.from({ length: count }, (_, k) => `${prefix}${k}`);
const ranges = (count: number) => Array.from({ length: count }, (_, k) => `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`);

const EDGES = {
  rules: [LIMITS.rules, (n) => Array.from({ length: n }, (_, i) => edgeRule(i, { hosts: ["a.example.com"] }))],
  userIds: [LIMITS.userIds, (n) => [edgeRule(0, { userIds: values("u", n) })]],
  entries: [
    LIMITS.entries,
    (n, cut) => {
      const [ids = 0, countries = 0, asns = 0, hosts = 0, tiers = 0] = cut(n, 5);
      const lists = [{ userIds: values("u", ids) }, { countries: values("c", countries) }, { asns: Array.from({ length: asns }, (_, k) => k) }, { hosts: values("h", hosts) }, { header: { name: "x-tier", values: values("t", tiers) } }];
      return lists.filter((when) => Object.values(when).some((v) => (Array.isArray(v) ? v.length : (v as { values: unknown[] }).values.length) > 0)).map((when, i) => edgeRule(i, when));
    },
  ],
  prefixEntries: [
    LIMITS.prefixEntries,
    (n, cut) => {
      const [paths = 0, suffixes = 0, ips = 0] = cut(n, 3);
      const lists = [{ pathPrefixes: values("/p", paths) }, { userIdSuffixes: values("s", suffixes) }, { ipRanges: ranges(ips) }];
      return lists.filter((when) => Object.values(when)[0]!.length > 0).map((when, i) => edgeRule(i, when, i !== 1));
    },
  ],
  // Header names compare case-insensitively: the first one again in capitals is no new name.
  headerNames: [LIMITS.headerNames, (n) => [...values("x-h", n), "X-H0"].map((name, i) => edgeRule(i, { header: { name, values: ["a"] } }))],
  cookieNames: [LIMITS.cookieNames, (n) => [...values("c", n), "c0"].map((name, i) => edgeRule(i, { cookie: { name, values: ["a"] } }))],
  valueLength: [LIMITS.name, (n) => [edgeRule(0, { countries: ["x".repeat(n)] })]],
  pathPrefixLength: [LIMITS.name, (n) => [edgeRule(0, { pathPrefixes: [`/${"p".repeat(n - 1)}`] })]],
  ipRangesInOneList: [LIMITS.prefixEntries, (n) => [edgeRule(0, { ipRanges: ranges(n) })]],
} satisfies Record<string, [number, Edge]>;

/** `total` in `parts` parts at random cut points (a fixed generator from `seed`, so a run is repeatable). */
function cutter(seed: number) {
  let state = seed || 1;
  const next = () => ((state = (Math.imul(state, 48271) >>> 0) % 2147483647) / 2147483647);
  return (total: number, parts: number) => {
    const cuts = Array.from({ length: parts - 1 }, () => Math.floor(next() * (total + 1))).sort((a, b) => a - b);
    return [...cuts, total].map((cut, i) => cut - (i === 0 ? 0 : cuts[i - 1]!));
  };
}

/** Valid documents at each size limit, just under it or just over it: what the validators must refuse alike. */
export const limitDocuments = fc
  .record({ limit: fc.constantFrom(...(Object.keys(EDGES) as (keyof typeof EDGES)[])), delta: fc.integer({ min: -1, max: 1 }), seed: fc.nat() })
  .map(({ limit, delta, seed }) => {
    const [cap, edge] = EDGES[limit];
    return {
      limit,
      over: delta > 0,
      doc: { stable: "blue", origins: { blue: { url: "https://blue.example.com" }, green: { url: "https://green.example.com" } }, rollout: { id: "r1", percent: 5 }, rules: (edge as Edge)(cap + delta, cutter(seed)) },
    };
  });
