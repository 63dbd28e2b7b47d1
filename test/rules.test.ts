import exampleRules from "../config/rules.example.json";
import localRules from "../config/rules.local.json";
import { describe, expect, it } from "vitest";
import { parseRules, parseRulesText, type RulesInput } from "../worker/core/rules.ts";

const valid: RulesInput = {
  stable: "blue",
  origins: { blue: { url: "https://blue.example.com" }, green: { url: "https://green.example.com" } },
  rollout: { id: "r1", percent: 5 },
};

/** The issues of a document that must be rejected, as "path: message" lines. */
function rejected(doc: unknown): string[] {
  const result = parseRules(doc);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
}

describe("the rules document", () => {
  it("accepts the shipped example and the local seed", () => {
    expect(parseRules(exampleRules)).toMatchObject({ ok: true });
    expect(parseRules(localRules)).toMatchObject({ ok: true });
  });

  it("fills in safe defaults: signed overrides, no rules, no origin timeout of the document's own (the canary's default applies)", () => {
    const result = parseRules(valid);
    expect(result.ok && result.rules.overrides).toBe("signed");
    expect(result.ok && result.rules.rules).toEqual([]);
    expect(result.ok && "timeoutMs" in result.rules.origins.blue).toBe(false);
  });

  it("takes percentages from 0 to 100 in steps of 0.01", () => {
    for (const percent of [0, 0.01, 0.07, 12.34, 99.99, 100]) {
      expect(parseRules({ ...valid, rollout: { id: "r", percent } }).ok).toBe(true);
    }
    expect(rejected({ ...valid, rollout: { id: "r", percent: 0.001 } })).toEqual(["$.rollout.percent: must be a multiple of 0.01"]);
    expect(rejected({ ...valid, rollout: { id: "r", percent: 101 } })[0]).toMatch(/^\$\.rollout\.percent: /);
    expect(rejected({ ...valid, rollout: { id: "r", percent: "5" } })[0]).toMatch(/^\$\.rollout\.percent: /);
  });

  it("says where a document is wrong", () => {
    const issues = rejected({
      ...valid,
      rules: [
        { name: "ok", when: { countries: ["DE"] }, serve: "canary" },
        { name: "bad range", when: { ipRanges: ["10.0.0.0/33"] }, serve: "canary" },
        { name: "both", when: { countries: ["FR"] }, serve: "canary", percent: 5 },
        { name: "empty", when: {}, serve: "stable" },
        { name: "typo", when: { country: ["DE"] }, serve: "stable" },
      ],
    });
    expect(issues).toEqual([
      "$.rules[1].when.ipRanges[0]: must be an IPv4/IPv6 address or CIDR range",
      "$.rules[2]: give exactly one of serve or percent",
      "$.rules[3].when: a rule needs at least one condition",
      '$.rules[4].when: Unrecognized key: "country"',
      "$.rules[4].when: a rule needs at least one condition",
    ]);
  });

  it("only allows https origins (http just for localhost), without credentials or query", () => {
    const withBlue = (blue: object) => ({ ...valid, origins: { ...valid.origins, blue } });
    expect(parseRules(withBlue({ url: "http://127.0.0.1:8101" })).ok).toBe(true);
    expect(parseRules(withBlue({ service: "BLUE_WORKER" })).ok).toBe(true);
    for (const url of ["http://blue.example.com", "https://user:pw@blue.example.com", "https://blue.example.com/?a=1", "ftp://x"]) {
      expect(rejected(withBlue({ url }))[0]).toMatch(/^\$\.origins\.blue\.url: /);
    }
    expect(rejected(withBlue({ url: "https://a.example", service: "A" }))).toEqual(["$.origins.blue: give exactly one of url or service"]);
  });

  it("refuses blue and green pointing at the same origin, so cached responses can never cross versions", () => {
    const same = "$.origins: blue and green must be different origins";
    expect(rejected({ ...valid, origins: { blue: valid.origins.blue, green: valid.origins.blue } })).toEqual([same]);
    const slash = { blue: { url: "https://a.example.com" }, green: { url: "https://a.example.com/", timeoutMs: 999 } };
    expect(rejected({ ...valid, origins: slash })).toEqual([same]);
  });

  it("reports broken JSON as an issue instead of throwing", () => {
    const result = parseRulesText("{ not json");
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues[0]!.message).toMatch(/^not JSON: /);
  });

  it("accepts IPv4 and IPv6 CIDR ranges and bare addresses", () => {
    const ranges = ["10.0.0.0/8", "203.0.113.7", "2001:db8::/32", "::1", "::ffff:192.0.2.0/120"];
    expect(parseRules({ ...valid, rules: [{ name: "r", when: { ipRanges: ranges }, serve: "canary" }] }).ok).toBe(true);
  });
});
