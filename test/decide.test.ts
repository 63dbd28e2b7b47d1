import { describe, expect, it } from "vitest";
import { decide } from "../worker/core/decide.ts";
import { parseAddress } from "../worker/core/ip.ts";
import { compileRules } from "../worker/core/matching.ts";
import { parseRules, type Rule, type RulesInput } from "../worker/core/rules.ts";
import { readHeaders, type Traits } from "../worker/core/traits.ts";

/** Compiles a document with the given targeting rules, canary at `percent`. */
function withRules(rules: RulesInput["rules"], percent = 0, stable: "blue" | "green" = "blue") {
  const parsed = parseRules({
    stable,
    origins: { blue: { url: "https://blue.example" }, green: { url: "https://green.example" } },
    rollout: { id: "r", percent },
    rules,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return compileRules(parsed.rules);
}

/** A visitor with the given traits (everything else empty). */
function visitor(over: Partial<Traits> & { ipText?: string } = {}): Traits {
  return {
    host: "www.example.com",
    path: "/",
    headers: readHeaders(new Headers()),
    cookies: {},
    ...over,
    ip: over.ipText ? parseAddress(over.ipText) : undefined,
  };
}

const toCanary = (when: Rule["when"]) => withRules([{ name: "segment", when, serve: "canary" }]);

describe("deciding blue or green", () => {
  it("splits by bucket when no rule matches: below the line is canary", () => {
    const compiled = withRules([], 25);
    expect(decide(compiled, visitor(), 2499)).toMatchObject({ colour: "green", role: "canary", reason: "split" });
    expect(decide(compiled, visitor(), 2500)).toMatchObject({ colour: "blue", role: "stable", reason: "split" });
  });

  it("treats the colour that is not stable as the canary", () => {
    const compiled = withRules([], 100, "green");
    expect(decide(compiled, visitor(), 0)).toMatchObject({ colour: "blue", role: "canary" });
  });

  it("lets a tester override win over rules and split", () => {
    const compiled = withRules([{ name: "all stable", when: { pathPrefixes: ["/"] }, serve: "stable" }], 0);
    expect(decide(compiled, visitor(), 9999, "green")).toMatchObject({ colour: "green", reason: "override" });
    expect(decide(compiled, visitor(), 0, "blue")).toMatchObject({ colour: "blue", reason: "override" });
  });

  it("uses the first matching rule, in order", () => {
    const compiled = withRules([
      { name: "staff", when: { header: { name: "x-staff", values: ["1"] } }, serve: "canary" },
      { name: "everyone on /", when: { pathPrefixes: ["/"] }, serve: "stable" },
    ]);
    const staff = visitor({ headers: readHeaders(new Headers({ "x-staff": "1" })) });
    expect(decide(compiled, staff, 9999)).toMatchObject({ colour: "green", reason: "rule", rule: "staff" });
    expect(decide(compiled, visitor(), 0)).toMatchObject({ colour: "blue", reason: "rule", rule: "everyone on /" });
  });

  it("skips disabled rules", () => {
    const compiled = withRules([{ name: "off", when: { pathPrefixes: ["/"] }, serve: "canary", enabled: false }]);
    expect(decide(compiled, visitor(), 0)).toMatchObject({ colour: "blue", reason: "split" });
  });

  it("gives a segment its own percentage on the same bucket", () => {
    const compiled = withRules([{ name: "DE", when: { countries: ["DE"] }, percent: 50 }], 1);
    expect(decide(compiled, visitor({ country: "DE" }), 4999)).toMatchObject({ colour: "green", rule: "DE" });
    expect(decide(compiled, visitor({ country: "DE" }), 5000)).toMatchObject({ colour: "blue", rule: "DE" });
    expect(decide(compiled, visitor({ country: "FR" }), 4999)).toMatchObject({ colour: "blue", reason: "split" });
  });

  it("requires every condition of a rule to hold", () => {
    const compiled = toCanary({ countries: ["US"], regions: ["CA"] });
    expect(decide(compiled, visitor({ country: "US", region: "CA" }), 9999).colour).toBe("green");
    expect(decide(compiled, visitor({ country: "US", region: "NY" }), 9999).colour).toBe("blue");
  });

  const kinds: [string, Rule["when"], Partial<Traits> & { ipText?: string }, Partial<Traits> & { ipText?: string }][] = [
    ["user ID in a list", { userIds: ["u-1", "u-2"] }, { userId: "u-2" }, { userId: "u-3" }],
    ["user ID suffix", { userIdSuffixes: ["7", "42"] }, { userId: "1042" }, { userId: "1043" }],
    ["odd user IDs", { userIdParity: "odd" }, { userId: "12345" }, { userId: "12344" }],
    ["even user IDs", { userIdParity: "even" }, { userId: "user-8" }, { userId: "user-x" }],
    ["IPv4 range", { ipRanges: ["203.0.113.0/24"] }, { ipText: "203.0.113.77" }, { ipText: "203.0.114.1" }],
    ["IPv6 range", { ipRanges: ["2001:db8:1234::/48"] }, { ipText: "2001:db8:1234:5::1" }, { ipText: "2001:db8:1235::1" }],
    ["IPv4-mapped IPv6 address", { ipRanges: ["10.0.0.0/8"] }, { ipText: "::ffff:10.1.2.3" }, { ipText: "::ffff:11.1.2.3" }],
    ["country", { countries: ["DE", "AT"] }, { country: "AT" }, { country: "CH" }],
    ["continent", { continents: ["EU"] }, { continent: "EU" }, { continent: "NA" }],
    ["region", { regions: ["CA"] }, { region: "CA" }, { region: "TX" }],
    ["colo", { colos: ["FRA"] }, { colo: "FRA" }, { colo: "AMS" }],
    ["ASN", { asns: [64496] }, { asn: 64496 }, { asn: 64497 }],
    ["header value", { header: { name: "x-tier", values: ["gold"] } }, { headers: readHeaders(new Headers({ "x-tier": "gold" })) }, { headers: readHeaders(new Headers({ "x-tier": "free" })) }],
    ["cookie value", { cookie: { name: "org", values: ["acme"] } }, { cookies: { org: "acme" } }, { cookies: { org: "other" } }],
    ["host", { hosts: ["API.example.com"] }, { host: "api.example.com" }, { host: "www.example.com" }],
    ["path prefix", { pathPrefixes: ["/checkout"] }, { path: "/checkout/pay" }, { path: "/cart" }],
  ];
  for (const [kind, when, matching, other] of kinds) {
    it(`routes by ${kind}`, () => {
      const compiled = toCanary(when);
      expect(decide(compiled, visitor(matching), 9999)).toMatchObject({ colour: "green", rule: "segment" });
      expect(decide(compiled, visitor(other), 9999)).toMatchObject({ colour: "blue", reason: "split" });
      expect(decide(compiled, visitor(), 9999).colour).toBe("blue");
    });
  }
});
