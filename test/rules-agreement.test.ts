import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkRules, checkRulesText } from "../worker/core/rules-check.ts";
import { MAX_RULES_BYTES } from "../worker/core/rules-definitions.ts";
import { parseRules, parseRulesText } from "../worker/core/rules.ts";
import { documents, limitDocuments } from "./rules-documents.ts";

/**
 * The edge routes with rules-check.ts, the control plane writes with the zod schema: the two must
 * accept and refuse the same documents, or an operator could store what the edge will not route.
 */

describe("the edge's check and the zod schema", () => {
  it("give the same verdict, and the same defaults, on 10,000 generated documents", () => {
    let accepted = 0;
    fc.assert(
      fc.property(documents, (doc) => {
        const zod = parseRules(doc);
        const edge = checkRules(doc);
        expect(edge.ok, JSON.stringify(zod.ok ? "zod accepts" : zod.issues)).toBe(zod.ok);
        if (zod.ok && edge.ok) {
          expect(edge.rules).toStrictEqual(zod.rules); // strict: a key left undefined must not pass for a key left out
          accepted += 1;
        }
      }),
      { numRuns: 10_000, seed: 20261130 },
    );
    // Both kinds must really be exercised: a generator that made only broken documents would prove nothing.
    expect(accepted).toBeGreaterThan(1500);
    expect(accepted).toBeLessThan(8500);
  }, 120_000);

  it("give the same verdict at every size limit: at the cap and one under it accepted, one over it refused", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(limitDocuments, ({ limit, over, doc }) => {
        const zod = parseRules(doc);
        const edge = checkRules(doc);
        expect(edge.ok, `${limit}: ${JSON.stringify(edge.ok ? "edge accepts" : edge.issues)}`).toBe(zod.ok);
        expect(zod.ok, `${limit}: ${JSON.stringify(zod.ok ? "zod accepts" : zod.issues)}`).toBe(!over);
        if (zod.ok && edge.ok) expect(edge.rules).toStrictEqual(zod.rules);
        seen.add(`${limit} ${over}`);
      }),
      { numRuns: 200, seed: 20261208 },
    );
    // Every limit was met from both sides of its edge.
    expect(seen.size).toBe(18);
  }, 180_000);

  it("read the same bytes the same way: a byte-order mark, bad JSON, and the size limit", () => {
    const valid = { stable: "blue", origins: { blue: { url: "https://blue.example.com" }, green: { url: "https://green.example.com" } }, rollout: { id: "r", percent: 5 } };
    const padded = (bytes: number) => JSON.stringify({ ...valid, $schema: "x".repeat(bytes - JSON.stringify({ ...valid, $schema: "" }).length) });
    const texts = ["\ufeff" + JSON.stringify(valid), JSON.stringify(valid), "{", "", "\ufeff", padded(MAX_RULES_BYTES), padded(MAX_RULES_BYTES + 1)];
    const verdicts = texts.map((text) => [parseRulesText(text).ok, checkRulesText(text).ok]);
    expect(verdicts).toEqual([[true, true], [true, true], [false, false], [false, false], [false, false], [true, true], [false, false]]);
    const tooLarge = checkRulesText(padded(MAX_RULES_BYTES + 1));
    expect(tooLarge.ok ? [] : tooLarge.issues[0]!.message).toMatch(/limit is 8388608 bytes/);
  });
});
