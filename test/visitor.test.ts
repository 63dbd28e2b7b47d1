import { describe, expect, it } from "vitest";
import { compileRules } from "../worker/core/matching.ts";
import { parseRules } from "../worker/core/rules.ts";
import { signToken } from "../worker/core/cookies.ts";
import { overridePayload } from "../worker/core/override.ts";
import { readVisitor } from "../worker/edge/visitor.ts";

// readVisitor answers a returning visitor at once (no await on the visitor's path), and says the same after computing an HMAC.

const parsed = parseRules({
  stable: "blue",
  origins: { blue: { url: "https://blue.example" }, green: { url: "https://green.example" } },
  rollout: { id: "r", percent: 50 },
  overrides: "signed",
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
const compiled = compileRules(parsed.rules);

function visit(secret: string, cookie?: string, search = "", ip: string | null = "192.0.2.44") {
  const url = new URL(`https://www.example.test/${search}`);
  const headers: Record<string, string> = ip ? { "cf-connecting-ip": ip } : {};
  if (cookie) headers.cookie = cookie;
  return readVisitor(new Request(url, { headers }), url, compiled, secret, true);
}

describe("readVisitor", () => {
  it("waits only for a signature this isolate has not computed yet, and answers the same either way", async () => {
    const secret = `s-${crypto.randomUUID()}`;
    const first = visit(secret);
    expect(first).toBeInstanceOf(Promise); // the sticky cookie to send must be signed once
    const pinned = await first;
    expect(pinned.setCookies).toHaveLength(1);
    const cookie = pinned.setCookies[0]!.split(";")[0]!;
    const again = visit(secret);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toEqual(pinned);
    const returning = visit(secret, cookie); // its cookie was signed here: known, so verified from memory
    expect(returning).not.toBeInstanceOf(Promise);
    expect(returning).toMatchObject({ bucket: pinned.bucket, bucketSource: "cookie", setCookies: [] });
  });

  it("checks a tester's signed link and a forged cookie before answering, however many HMACs that takes", async () => {
    const secret = `s-${crypto.randomUUID()}`;
    const token = await signToken(overridePayload("green", Date.now() / 1000 + 3600), `${secret}-other`); // not signed with this secret
    const forged = visit(secret, `__Host-canary=r:1.${"A".repeat(43)}=`, `?__canary=${encodeURIComponent(token)}`);
    expect(forged).toBeInstanceOf(Promise);
    const read = await forged;
    expect(read.forced).toBeUndefined();
    expect(read.bucketSource).toBe("ip");
    expect(read.setCookies).toHaveLength(1); // the sticky cookie it should have
    const genuine = await signToken(overridePayload("green", Date.now() / 1000 + 3600), secret);
    expect((await visit(secret, undefined, `?__canary=${encodeURIComponent(genuine)}`)).forced).toBe("green");
  });

  it("draws a visitor without IP or cookie a bucket once, and pins that one", async () => {
    const secret = `s-${crypto.randomUUID()}`;
    for (let n = 0; n < 5; n++) {
      const read = await visit(secret, undefined, "", null); // a new random bucket each time: each one's cookie is signed first
      expect(read.bucketSource).toBe("random");
      expect(read.setCookies).toHaveLength(1);
      expect(decodeURIComponent(read.setCookies[0]!)).toContain(`=r:${read.bucket}.`);
    }
  });
});
