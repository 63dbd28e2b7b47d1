import fc from "fast-check";
import { parse } from "hono/utils/cookie";
import { describe, expect, it } from "vitest";
import { readCookies } from "../worker/core/cookie-reader.ts";
import { withoutRouterCookies } from "../worker/edge/forward.ts";

const NAMES = ["__Host-canary", "__Host-canary-force", "uid", "org", "_ga", "session"];

describe("reading only the cookies the router needs", () => {
  it("reads what hono's full parser reads, for the names asked, on generated Cookie headers", () => {
    // Commas and blanks too (browsers send them), but not ", name=": there a value ends (several lines joined).
    const value = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:%, -]{0,12}$/).filter((v) => !/,\s+[^\s=;,]+\s*=/.test(v)), fc.constantFrom("r1%3A5.abc%3D", '"quoted"', '"a, b"', "a,b", "a%ZZ", ""));
    const pair = fc.tuple(fc.constantFrom(...NAMES, "x__Host-canary", "uidx"), value, fc.constantFrom("", " ", "  "));
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

  it("reads several Cookie lines joined with \", \" as it reads them joined with \"; \" (each name once)", () => {
    const value = fc.stringMatching(/^[A-Za-z0-9._:%-]{0,12}$/);
    const pairs = fc.uniqueArray(fc.tuple(fc.constantFrom(...NAMES), value), { minLength: 1, maxLength: NAMES.length, selector: ([n]) => n });
    // Cut the pairs into lines: each flag says whether a new line starts before that pair.
    const lines = pairs.chain((list) =>
      fc.array(fc.boolean(), { minLength: list.length, maxLength: list.length }).map((cuts) =>
        list.reduce<string[][]>((out, [n, v], i) => (i > 0 && cuts[i] ? [...out, [`${n}=${v}`]] : [...out.slice(0, -1), [...(out.at(-1) ?? []), `${n}=${v}`]]), []).map((line) => line.join("; ")),
      ),
    );
    fc.assert(
      fc.property(lines, (lines) => {
        expect(readCookies(lines.join(", "), NAMES)).toEqual(readCookies(lines.join("; "), NAMES));
      }),
      { numRuns: 1000, seed: 11 },
    );
    expect(readCookies("a=1, __Host-canary=r1%3A7.sig, b=2; uid=u", ["__Host-canary", "uid"])).toEqual({ "__Host-canary": "r1:7.sig", uid: "u" });
    // A comma inside a value, not followed by a name and "=", does not end it.
    expect(readCookies('uid="a, b"; org=x', ["uid", "org"])).toEqual({ uid: "a, b", org: "x" });
  });

  it("never lets a value holding \", name=\" shadow the real cookie: a name after `;` wins over one after a comma", () => {
    expect(readCookies("pref=a, uid=evil; uid=real", ["uid"])).toEqual({ uid: "real" });
    expect(readCookies('q="x, __Host-canary-force=green"; __Host-canary-force=blue', ["__Host-canary-force"])).toEqual({ "__Host-canary-force": "blue" });
  });

  it("leaves no router cookie it would read in what goes to the origin, however the lines were joined", () => {
    const ROUTER = ["__Host-canary", "__Host-canary-force"];
    const name = fc.constantFrom(...NAMES, "x__Host-canary");
    const blank = fc.constantFrom("", " ", "  ", "\t");
    const pair = fc.tuple(blank, name, blank, fc.stringMatching(/^[A-Za-z0-9._:%, -]{0,10}$/)).map(([a, n, b, v]) => `${a}${n}${b}=${v}`);
    const line = fc.array(pair, { minLength: 1, maxLength: 3 }).map((pairs) => pairs.join(";"));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 3 }), (lines) => {
        expect(readCookies(withoutRouterCookies(lines.join(", ")), ROUTER)).toEqual({});
      }),
      { numRuns: 3000, seed: 13 },
    );
    expect(withoutRouterCookies("a=1, __Host-canary =x")).toBe("a=1");
  });

  it("tells a cookie from one whose name it ends or starts", () => {
    expect(readCookies("x__Host-canary=no; __Host-canary-force=green; __Host-canary=r1%3A7.sig", ["__Host-canary"])).toEqual({ "__Host-canary": "r1:7.sig" });
    expect(readCookies("uidx=1", ["uid"])).toEqual({});
    expect(readCookies(null, ["uid"])).toEqual({});
  });
});
