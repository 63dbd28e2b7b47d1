import fc from "fast-check";
import { parseSigned, serializeSigned } from "hono/utils/cookie";
import { describe, expect, it } from "vitest";
import { PENDING, Signatures, sign, verify } from "../worker/core/signing.ts";

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

  it("answers a request's signatures from memory when known, else starts them and knows them after ready()", async () => {
    const secret = `s-${crypto.randomUUID()}`; // a secret of its own: nothing of it in this isolate's memory yet
    const text = await sign("r1:7", "another secret"); // signed elsewhere: unknown under this secret
    const genuine = (await sign("r1:8", secret)).replace("r1:8", "r1:9"); // forged
    const first = new Signatures(secret);
    expect(first.signed("r1:1")).toBe(PENDING);
    expect(first.verified(text)).toBe(PENDING);
    expect(first.verified(genuine)).toBe(PENDING);
    await first.ready();
    expect(first.signed("r1:1")).toBe(await sign("r1:1", secret));
    expect(first.verified(text)).toBeUndefined();
    expect(first.verified(genuine)).toBeUndefined();
    // The next request knows the good ones at once; a bad signature is checked again (it is never remembered).
    const next = new Signatures(secret);
    const good = await sign("r1:1", secret);
    expect(next.verified(good)).toBe("r1:1");
    expect(next.signed("r1:1")).toBe(good);
    expect(next.verified(genuine)).toBe(PENDING);
    expect(new Signatures(undefined).verified(good)).toBeUndefined();
  });
});
