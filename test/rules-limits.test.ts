import { describe, expect, it } from "vitest";
import { checkRules } from "../worker/core/rules-check.ts";
import { LIMITS } from "../worker/core/rules-definitions.ts";
import { parseRules } from "../worker/core/rules.ts";

/**
 * Every size limit of a document, in both validators: accepted at the cap, refused one over it
 * with a message that names the limit (the document-wide ones in the same words on both sides).
 */

const doc = (rules: object[]) => ({
  stable: "blue",
  origins: { blue: { url: "https://blue.example.com" }, green: { url: "https://green.example.com" } },
  rollout: { id: "r1", percent: 5 },
  rules,
});
const rule = (i: number, when: object, enabled = true) => ({ name: `r${i}`, enabled, when, serve: "canary" });
const values = (prefix: string, count: number) => Array.from({ length: count }, (_, k) => `${prefix}${k}`);
const ranges = (count: number) => Array.from({ length: count }, (_, k) => `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`);

/** Both validators' verdicts: the issues' messages (and paths), or "ok"; they must agree on which. */
function verdict(rules: object[]): { zod: string[]; edge: string[] } | "ok" {
  const zod = parseRules(doc(rules));
  const edge = checkRules(doc(rules));
  expect(edge.ok).toBe(zod.ok);
  if (zod.ok || edge.ok) return "ok";
  return { zod: zod.issues.map((i) => `${i.path}: ${i.message}`), edge: edge.issues.map((i) => `${i.path}: ${i.message}`) };
}

/** Accepted with `cap`, refused with `cap + 1`, both validators naming the limit. */
function holds(build: (n: number) => object[], cap: number, message: RegExp, edgeMessage = message) {
  expect(verdict(build(cap))).toBe("ok");
  const refused = verdict(build(cap + 1));
  expect(refused).not.toBe("ok");
  if (refused === "ok") return;
  expect(refused.zod.join("\n")).toMatch(message);
  expect(refused.edge.join("\n")).toMatch(edgeMessage);
}

/** An issue at the first rule's condition (or one of its values) that names the limit. */
const at = (where: string, limit: number) => new RegExp(`^\\$\\.rules\\[0\\]\\.when\\.${where.replace(/[.[\]]/g, "\\$&")}: .*\\b${limit}\\b`, "m");
const total = (count: number, what: string) => new RegExp(`^\\$\\.rules: at most ${count} ${what} \\(this document has ${count + 1}\\)$`, "m");

describe("the size limits, in both validators", () => {
  it(`at most ${LIMITS.rules} rules`, () => {
    holds((n) => Array.from({ length: n }, (_, i) => rule(i, { hosts: ["a.example.com"] })), LIMITS.rules, new RegExp(`^\\$\\.rules: .*\\b${LIMITS.rules}\\b`, "m"));
  });

  it(`at most ${LIMITS.userIds} user IDs in one list`, () => {
    holds((n) => [rule(0, { userIds: values("u", n) })], LIMITS.userIds, at("userIds", LIMITS.userIds));
  });

  it(`at most ${LIMITS.name} characters in a listed value and in a path prefix`, () => {
    holds((n) => [rule(0, { countries: ["x".repeat(n)] })], LIMITS.name, at("countries[0]", LIMITS.name));
    holds((n) => [rule(0, { pathPrefixes: [`/${"p".repeat(n - 1)}`] })], LIMITS.name, at("pathPrefixes[0]", LIMITS.name));
  });

  it(`at most ${LIMITS.entries} list entries in all rules together, disabled rules too`, () => {
    const build = (n: number) => [
      rule(0, { userIds: values("u", 60_000) }),
      rule(1, { countries: values("c", 30_000), asns: [1, 2] }, false),
      rule(2, { header: { name: "x-tier", values: values("t", n - 90_002) } }),
    ];
    holds(build, LIMITS.entries, total(LIMITS.entries, "list entries in all rules together"));
  });

  it(`at most ${LIMITS.prefixEntries} path prefixes, user-ID suffixes and IP ranges in all rules together`, () => {
    const third = Math.floor(LIMITS.prefixEntries / 3);
    const build = (n: number) => [rule(0, { pathPrefixes: values("/p", third) }), rule(1, { userIdSuffixes: values("s", third) }, false), rule(2, { ipRanges: ranges(n - 2 * third) })];
    holds(build, LIMITS.prefixEntries, total(LIMITS.prefixEntries, "path prefixes, user-ID suffixes and IP ranges in all rules together"));
  });

  it("bounds every single list by the totals, where the JSON Schema shows it", () => {
    holds((n) => [rule(0, { ipRanges: ranges(n) })], LIMITS.prefixEntries, at("ipRanges", LIMITS.prefixEntries));
    holds((n) => [rule(0, { pathPrefixes: values("/p", n) })], LIMITS.prefixEntries, at("pathPrefixes", LIMITS.prefixEntries));
    holds((n) => [rule(0, { userIdSuffixes: values("s", n) })], LIMITS.prefixEntries, at("userIdSuffixes", LIMITS.prefixEntries));
    holds((n) => [rule(0, { countries: values("c", n) })], LIMITS.entries, at("countries", LIMITS.entries));
    holds((n) => [rule(0, { asns: Array.from({ length: n }, (_, k) => k) })], LIMITS.entries, at("asns", LIMITS.entries));
    holds((n) => [rule(0, { cookie: { name: "org", values: values("o", n) } })], LIMITS.entries, at("cookie.values", LIMITS.entries));
  });

  it(`at most ${LIMITS.headerNames} different header names, compared as HTTP does (case-insensitively)`, () => {
    const build = (n: number) => [...values("x-h", n), "X-H0"].map((name, i) => rule(i, { header: { name, values: ["a"] } }));
    holds(build, LIMITS.headerNames, total(LIMITS.headerNames, "different header names in header conditions"));
  });

  it(`at most ${LIMITS.cookieNames} different cookie names (case matters)`, () => {
    const build = (n: number) => [...values("c", n), "c0"].map((name, i) => rule(i, { cookie: { name, values: ["a"] } }));
    holds(build, LIMITS.cookieNames, total(LIMITS.cookieNames, "different cookie names in cookie conditions"));
    expect(verdict([...values("c", LIMITS.cookieNames - 1), "C0"].map((name, i) => rule(i, { cookie: { name, values: ["a"] } })))).toBe("ok");
    expect(verdict([...values("c", LIMITS.cookieNames), "C0"].map((name, i) => rule(i, { cookie: { name, values: ["a"] } })))).not.toBe("ok");
  });
});
