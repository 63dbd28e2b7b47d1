import fc from "fast-check";
import { parse } from "hono/utils/cookie";
import { describe, expect, it } from "vitest";
import { readCookies } from "../worker/core/cookie-reader.ts";
import { withoutRouterCookies } from "../worker/edge/forward.ts";

const NAMES = ["__Host-canary", "__Host-canary-force", "uid", "org", "_ga", "session"];
const ROUTER = ["__Host-canary", "__Host-canary-force"];
/** Cookie values as browsers send them: commas, blanks, `=` and percent signs included, so ", name=" inside a value too. */
const VALUE = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:%=, -]{0,12}$/), fc.constantFrom("r1%3A5.abc%3D", '"quoted"', '"a, b"', "x, uid=1", "a%ZZ", ""));

describe("reading only the cookies the router needs", () => {
  it("reads what hono's full parser reads, for the names asked, on generated Cookie headers", () => {
    const pair = fc.tuple(fc.constantFrom(...NAMES, "x__Host-canary", "uidx"), VALUE, fc.constantFrom("", " ", "  "));
    const header = fc.array(pair, { minLength: 0, maxLength: 8 }).map((pairs) => pairs.map(([n, v, pad]) => `${pad}${n}=${v}`).join(";"));
    fc.assert(
      fc.property(header, fc.subarray(NAMES), (text, names) => {
        const full = parse(text);
        const wanted = Object.fromEntries(names.filter((n) => full[n] !== undefined).map((n) => [n, full[n]]));
        expect(readCookies(text, names)).toEqual(wanted);
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it("never reads a cookie from inside another one's value, where a sibling subdomain could plant it", () => {
    expect(readCookies("pref=a, uid=evil; uid=real", ["uid"])).toEqual({ uid: "real" });
    expect(readCookies('q="x, __Host-canary-force=green"', ["__Host-canary-force"])).toEqual({});
    expect(readCookies("q=x, __Host-canary-force=green; __Host-canary-force=blue", ["__Host-canary-force"])).toEqual({ "__Host-canary-force": "blue" });
  });

  it("tells a cookie from one whose name it ends or starts", () => {
    expect(readCookies("x__Host-canary=no; __Host-canary-force=green; __Host-canary=r1%3A7.sig", ["__Host-canary"])).toEqual({ "__Host-canary": "r1:7.sig" });
    expect(readCookies("uidx=1", ["uid"])).toEqual({});
    expect(readCookies(null, ["uid"])).toEqual({});
  });
});

describe("removing the router's cookies before the origin", () => {
  /** Cookie lines as they reach a Worker, joined with ", "; pairs with blanks around names. */
  const lines = (names: string[]) => {
    const blank = fc.constantFrom("", " ", "  ", "\t");
    const pair = fc.tuple(blank, fc.constantFrom(...names), blank, VALUE).map(([a, n, b, v]) => `${a}${n}${b}=${v}`);
    const line = fc.array(pair, { minLength: 1, maxLength: 3 }).map((pairs) => pairs.join(";"));
    return fc.array(line, { minLength: 1, maxLength: 3 }).map((all) => all.join(", "));
  };

  it("leaves no router cookie the router would read, however the lines were joined", () => {
    fc.assert(
      fc.property(lines([...NAMES, "x__Host-canary"]), (header) => {
        expect(readCookies(withoutRouterCookies(header), ROUTER)).toEqual({});
      }),
      { numRuns: 3000, seed: 13 },
    );
    expect(withoutRouterCookies("a=1, __Host-canary =x")).toBe("a=1");
    // A bare name too: some origins' parsers take one.
    expect(withoutRouterCookies("a=1; __Host-canary; b=2")).toBe("a=1; b=2");
    expect(withoutRouterCookies("__Host-canary=s; __Host-canary-force=g, c=3; d=4")).toBe("d=4");
    expect(withoutRouterCookies(`a=1${", __Host-canary".repeat(1000)}`)).toBe("a=1");
    expect(withoutRouterCookies(`a=1; ${",\t__Host-canary,".repeat(1000)}`)).toBe("a=1; ");
  });

  it("gives the origin the site's pairs as they came, in order, only the router's taken out", () => {
    const pairs = (header: string) => header.split(";").map((pair) => pair.trim()).filter(Boolean); // as any parser splits them
    fc.assert(
      fc.property(lines([...NAMES, "__Host-session"]), (header) => {
        const before = pairs(header);
        let j = 0;
        for (const pair of pairs(withoutRouterCookies(header))) {
          expect(pair.startsWith("__Host-canary")).toBe(false);
          // The same pair, or one cut where a router cookie began after the ", " that joins two lines.
          const same = (original: string) => original === pair || (original.startsWith(pair) && /^[ \t]*,[ \t]+__Host-canary/.test(original.slice(pair.length)));
          while (j < before.length && !same(before[j]!)) {
            expect(before[j]!.startsWith("__Host-canary"), `${before[j]} was dropped`).toBe(true); // only router pairs are dropped
            j++;
          }
          expect(j, `${pair} is not one of the visitor's pairs`).toBeLessThan(before.length);
          j++;
        }
      }),
      { numRuns: 3000, seed: 17 },
    );
    // A value holding ", name=" is not turned into a cookie of its own (it used to be re-split and joined with "; ").
    const planted = "q=x, __Host-session=evil; __Host-canary=r1.sig; __Host-session=real";
    expect(withoutRouterCookies(planted)).toBe("q=x, __Host-session=evil; __Host-session=real");
    expect(parse(withoutRouterCookies(planted))["__Host-session"]).toBe("real");
  });
});
