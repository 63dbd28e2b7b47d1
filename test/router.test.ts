import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { signToken, STICKY_COOKIE } from "../worker/core/cookies.ts";
import { overridePayload } from "../worker/core/override.ts";
import { cookiePair, putRules, rulesDoc, servedBy, setCookies, testEnv, visit } from "./helpers.ts";

const OVERRIDE = "__Host-canary-force";

/** Visits with `n` different client IPs and counts who got green. */
async function greenShare(n: number, cookiesFor: (i: number) => string | undefined = () => undefined) {
  let green = 0;
  for (let i = 0; i < n; i++) {
    const res = await visit("/", { ip: `198.51.${i >> 8}.${i & 255}`, cookies: cookiesFor(i) });
    if (servedBy(res) === "green") green++;
    await res.arrayBuffer();
  }
  return green / n;
}

describe("routing visitors", () => {
  beforeEach(() => putRules(rulesDoc()));

  it("proxies to the stable origin at 0% and says so in X-Canary-Version", async () => {
    const res = await visit("/", { ip: "203.0.113.1" });
    expect(res.status).toBe(200);
    expect(servedBy(res)).toBe("blue");
    expect(await res.text()).toBe("blue\n");
  });

  it("sends everyone to green at 100%, and the green origin answers", async () => {
    await putRules(rulesDoc({ rollout: { id: "r1", percent: 100 } }));
    const res = await visit("/", { ip: "203.0.113.1" });
    expect(servedBy(res)).toBe("green");
    expect(await res.text()).toBe("green\n");
  });

  it("serves roughly the configured share of visitors from green", async () => {
    await putRules(rulesDoc({ rollout: { id: "share", percent: 30 } }));
    const share = await greenShare(400);
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.38);
  });

  it("pins an anonymous visitor with a signed __Host- cookie carrying rollout and bucket", async () => {
    await putRules(rulesDoc({ rollout: { id: "pin", percent: 50 } }));
    const first = await visit("/", { ip: "192.0.2.10" });
    const line = setCookies(first)[STICKY_COOKIE]!;
    expect(line).toMatch(/^__Host-canary=pin%3A\d+\.[^;]+; Max-Age=2592000; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    // Same visitor from any other IP keeps their version, and the unchanged cookie is not re-sent.
    for (let i = 0; i < 20; i++) {
      const again = await visit("/", { ip: `10.9.8.${i}`, cookies: cookiePair(line) });
      expect(servedBy(again)).toBe(servedBy(first));
      expect(setCookies(again)[STICKY_COOKIE]).toBeUndefined();
    }
  });

  it("keeps a user ID's version on every device and IP, from header or cookie", async () => {
    await putRules(rulesDoc({ rollout: { id: "ids", percent: 50 }, stickiness: { userIdHeader: "x-user-id", userIdCookie: "uid" } }));
    for (const id of ["u-1", "u-2", "u-3", "u-4", "u-5", "u-6"]) {
      const byHeader = servedBy(await visit("/", { ip: "1.1.1.1", headers: { "x-user-id": id } }));
      const byCookie = servedBy(await visit("/", { ip: "2.2.2.2", cookies: `uid=${id}` }));
      expect(byCookie).toBe(byHeader);
    }
  });

  it("moves nobody from green back to blue when the ramp goes up", async () => {
    await putRules(rulesDoc({ rollout: { id: "ramp", percent: 10 } }));
    const visitors = Array.from({ length: 150 }, (_, i) => `172.16.0.${i}`);
    const greenAt10: string[] = [];
    for (const ip of visitors) if (servedBy(await visit("/", { ip })) === "green") greenAt10.push(ip);
    await putRules(rulesDoc({ rollout: { id: "ramp", percent: 40 } }));
    for (const ip of greenAt10) expect(servedBy(await visit("/", { ip }))).toBe("green");
  });

  it("reverting to 0% sends everyone to blue and 100% everyone to green, whatever their cookie says", async () => {
    await putRules(rulesDoc({ rollout: { id: "rv", percent: 50 } }));
    const pinned: string[] = [];
    for (let i = 0; i < 30; i++) pinned.push(cookiePair(setCookies(await visit("/", { ip: `10.0.0.${i}` }))[STICKY_COOKIE]));
    await putRules(rulesDoc({ rollout: { id: "rv", percent: 0 } }));
    expect(await greenShare(30, (i) => pinned[i])).toBe(0);
    await putRules(rulesDoc({ rollout: { id: "rv", percent: 100 } }));
    expect(await greenShare(30, (i) => pinned[i])).toBe(1);
  });

  it("ignores and replaces a forged, unsigned or stale sticky cookie", async () => {
    await putRules(rulesDoc({ rollout: { id: "r2", percent: 50 } }));
    const forged = `${STICKY_COOKIE}=r2%3A0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D`;
    const unsigned = `${STICKY_COOKIE}=r2%3A0`;
    const stale = cookiePair(setCookies(await visit("/", { ip: "10.1.1.1" }))[STICKY_COOKIE]).replace("r2", "r1");
    for (const cookies of [forged, unsigned, stale, `${STICKY_COOKIE}=%%%`, "garbage;;==; =x"]) {
      const res = await visit("/", { ip: "10.1.1.2", cookies });
      expect(res.status).toBe(200);
      expect(setCookies(res)[STICKY_COOKIE]).toMatch(/^__Host-canary=r2%3A\d+\./);
    }
  });

  it("gives a new rollout id a fresh cohort: old cookies are re-bucketed", async () => {
    await putRules(rulesDoc({ rollout: { id: "a", percent: 50 } }));
    const old = cookiePair(setCookies(await visit("/", { ip: "10.2.2.2" }))[STICKY_COOKIE]);
    await putRules(rulesDoc({ rollout: { id: "b", percent: 50 } }));
    const res = await visit("/", { ip: "10.2.2.2", cookies: old });
    expect(setCookies(res)[STICKY_COOKIE]).toMatch(/^__Host-canary=b%3A/);
  });

  it("routes by targeting rules seen from the edge: IP range, header, cookie, host and path", async () => {
    await putRules(
      rulesDoc({
        rules: [
          { name: "office", when: { ipRanges: ["203.0.113.0/24", "2001:db8::/32"] }, serve: "canary" },
          { name: "beta tier", when: { header: { name: "x-tier", values: ["beta"] } }, serve: "canary" },
          { name: "acme", when: { cookie: { name: "org", values: ["acme"] } }, serve: "canary" },
          { name: "checkout", when: { pathPrefixes: ["/checkout"] }, serve: "canary" },
        ],
      }),
    );
    expect(servedBy(await visit("/", { ip: "203.0.113.9" }))).toBe("green");
    expect(servedBy(await visit("/", { ip: "2001:db8::5" }))).toBe("green");
    expect(servedBy(await visit("/", { ip: "198.51.100.1", headers: { "x-tier": "beta" } }))).toBe("green");
    expect(servedBy(await visit("/", { ip: "198.51.100.1", cookies: "org=acme" }))).toBe("green");
    expect(servedBy(await visit("/checkout/pay", { ip: "198.51.100.1" }))).toBe("green");
    expect(servedBy(await visit("/", { ip: "198.51.100.1", headers: { "x-forwarded-for": "203.0.113.9" } }))).toBe("blue");
  });

  it("routes by geography from request.cf", async () => {
    await putRules(rulesDoc({ rules: [{ name: "DE", when: { countries: ["DE"], colos: ["FRA"] }, serve: "canary" }] }));
    const at = (cf: object) => exports.default.fetch(new Request("https://www.example.test/", { cf } as RequestInit));
    expect(servedBy(await at({ country: "DE", colo: "FRA" }))).toBe("green");
    expect(servedBy(await at({ country: "DE", colo: "MUC" }))).toBe("blue");
  });
});

describe("tester overrides", () => {
  const secret = () => testEnv.CANARY_SECRET;

  it("under the open policy, ?__canary=green sets a cookie that forces green until ?__canary=auto", async () => {
    await putRules(rulesDoc({ overrides: "open" }));
    const set = await visit("/?__canary=green", { ip: "10.3.3.3" });
    expect(servedBy(set)).toBe("green");
    const line = setCookies(set)[OVERRIDE]!;
    expect(line).toMatch(/^__Host-canary-force=green; Max-Age=86400; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(servedBy(await visit("/", { ip: "10.3.3.3", cookies: cookiePair(line) }))).toBe("green");
    const back = await visit("/?__canary=auto", { ip: "10.3.3.3", cookies: cookiePair(line) });
    expect(servedBy(back)).toBe("blue");
    expect(setCookies(back)[OVERRIDE]).toMatch(/^__Host-canary-force=; Max-Age=0;/);
  });

  it("under the signed policy, refuses a plain colour but accepts a signed join link until it expires", async () => {
    await putRules(rulesDoc({ overrides: "signed" }));
    expect(servedBy(await visit("/?__canary=green", { ip: "10.4.4.4" }))).toBe("blue");
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const token = await signToken(overridePayload("green", expires), secret());
    const joined = await visit(`/?__canary=${encodeURIComponent(token)}`, { ip: "10.4.4.4" });
    expect(servedBy(joined)).toBe("green");
    const line = setCookies(joined)[OVERRIDE]!;
    expect(Number(/Max-Age=(\d+)/.exec(line)![1])).toBeGreaterThan(3590);
    expect(servedBy(await visit("/", { ip: "10.4.4.4", cookies: cookiePair(line) }))).toBe("green");

    const expired = await signToken(overridePayload("green", Math.floor(Date.now() / 1000) - 1), secret());
    expect(servedBy(await visit(`/?__canary=${encodeURIComponent(expired)}`, { ip: "10.4.4.4" }))).toBe("blue");
    const tampered = token.replace("green", "blue");
    expect(servedBy(await visit(`/?__canary=${encodeURIComponent(tampered)}`, { ip: "10.4.4.4" }))).toBe("blue");
  });

  it("caps a far-future join link's cookie at the 400 days browsers allow, instead of failing", async () => {
    await putRules(rulesDoc({ overrides: "signed" }));
    const token = await signToken(overridePayload("green", Math.floor(Date.now() / 1000) + 800 * 86400), secret());
    const res = await visit(`/?__canary=${encodeURIComponent(token)}`, { ip: "10.4.4.5" });
    expect(servedBy(res)).toBe("green");
    expect(setCookies(res)[OVERRIDE]).toContain("Max-Age=34560000;");
  });

  it("with overrides off, ignores and clears any override cookie", async () => {
    await putRules(rulesDoc({ overrides: "off" }));
    const res = await visit("/", { ip: "10.5.5.5", cookies: `${OVERRIDE}=green` });
    expect(servedBy(res)).toBe("blue");
    expect(setCookies(res)[OVERRIDE]).toMatch(/Max-Age=0/);
  });

  it("keeps the override's query parameter away from the origin", async () => {
    await putRules(rulesDoc({ overrides: "open" }));
    const res = await visit("/echo?a=1&__canary=green&b=2", { ip: "10.6.6.6" });
    expect(((await res.json()) as { query: string }).query).toBe("?a=1&b=2");
  });
});
