import fc from "fast-check";
import { parse } from "hono/utils/cookie";
import { describe, expect, it } from "vitest";
import { readCookies } from "../worker/core/cookie-reader.ts";

const NAMES = ["__Host-canary", "__Host-canary-force", "uid", "org", "_ga", "session"];

describe("reading only the cookies the router needs", () => {
  it("reads what hono's full parser reads, for the names asked, on generated Cookie headers", () => {
    const value = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:%-]{0,12}$/), fc.constantFrom("r1%3A5.abc%3D", '"quoted"', "a%ZZ", ""));
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

  it("reads several Cookie lines joined with \", \" as it reads them joined with \"; \"", () => {
    const value = fc.stringMatching(/^[A-Za-z0-9._:%-]{0,12}$/);
    const line = fc.array(fc.tuple(fc.constantFrom(...NAMES), value), { minLength: 1, maxLength: 3 }).map((pairs) => pairs.map(([n, v]) => `${n}=${v}`).join("; "));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 4 }), (lines) => {
        expect(readCookies(lines.join(", "), NAMES)).toEqual(readCookies(lines.join("; "), NAMES));
      }),
      { numRuns: 1000, seed: 11 },
    );
    expect(readCookies("a=1, __Host-canary=r1%3A7.sig, b=2; uid=u", ["__Host-canary", "uid"])).toEqual({ "__Host-canary": "r1:7.sig", uid: "u" });
    // A comma inside a value, not followed by a name and "=", does not end it.
    expect(readCookies('uid="a, b"; org=x', ["uid", "org"])).toEqual({ uid: "a, b", org: "x" });
  });

  it("tells a cookie from one whose name it ends or starts", () => {
    expect(readCookies("x__Host-canary=no; __Host-canary-force=green; __Host-canary=r1%3A7.sig", ["__Host-canary"])).toEqual({ "__Host-canary": "r1:7.sig" });
    expect(readCookies("uidx=1", ["uid"])).toEqual({});
    expect(readCookies(null, ["uid"])).toEqual({});
  });
});
