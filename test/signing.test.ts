import fc from "fast-check";
import { parseSigned, serializeSigned } from "hono/utils/cookie";
import { describe, expect, it } from "vitest";
import { sign, verify } from "../worker/core/signing.ts";

describe("signatures", () => {
  it("round-trips any value, and speaks hono's signed-cookie format both ways", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string({ minLength: 1 }), async (value, secret) => {
        expect(await verify(await sign(value, secret), secret)).toBe(value);
        const byHono = await serializeSigned("c", value, secret);
        expect(await verify(decodeURIComponent(byHono.slice(2)), secret)).toBe(value);
        expect((await parseSigned(`c=${encodeURIComponent(await sign(value, secret))}`, secret, "c")).c).toBe(value);
      }),
      { numRuns: 50 },
    );
  });

  it("refuses another secret, a changed value, a forged or malformed signature", async () => {
    const signed = await sign("r1:42", "secret");
    expect(await verify(signed, "other")).toBeUndefined();
    expect(await verify(signed.replace("r1:42", "r1:43"), "secret")).toBeUndefined();
    expect(await verify(`r1:42.${"A".repeat(43)}=`, "secret")).toBeUndefined();
    for (const junk of ["", "r1:42", "r1:42.", "r1:42.%%%", `r1:42.${"*".repeat(43)}=`]) {
      expect(await verify(junk, "secret")).toBeUndefined();
    }
  });
});
