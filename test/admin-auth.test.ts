import { Jwt } from "hono/utils/jwt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { admin, clearKv, kvSnapshot, TOKEN } from "./admin-helpers.ts";
import { putRules, rulesDoc } from "./helpers.ts";

beforeEach(clearKv);

describe("admin API authentication", () => {
  it("refuses a request without a token, and writes nothing", async () => {
    await putRules(rulesDoc());
    const before = await kvSnapshot();
    const res = await admin("/ramp", { body: { percent: 50 }, token: null });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "unauthorized" });
    expect(await kvSnapshot()).toEqual(before);
  });

  it("refuses a wrong token", async () => {
    const res = await admin("/rules", { token: "not-the-token" });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "unauthorized", message: "wrong admin token" });
  });

  it("refuses an Authorization header that is not a bearer token", async () => {
    const res = await admin("/rules", { token: null, headers: { authorization: `Basic ${btoa(`x:${TOKEN}`)}` } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "bad_authorization" });
  });

  it("refuses a token in the query string even when the header is right", async () => {
    for (const name of ["token", "access_token", "KEY"]) {
      const res = await admin(`/rules?${name}=${TOKEN}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: "token_in_query" });
    }
  });

  it("is off, not open, when ADMIN_TOKEN is empty and Access is not configured", async () => {
    await putRules(rulesDoc());
    const before = await kvSnapshot();
    for (const token of [TOKEN, "", null]) {
      const read = await admin("/rules", { token, env: { ADMIN_TOKEN: "" } });
      expect(read.status).toBe(403);
      // The fix names the Worker that reads the token: the control Worker (its own config), not the edge.
      expect(await read.json()).toMatchObject({ error: "admin_disabled", message: expect.stringContaining("wrangler secret put ADMIN_TOKEN -c worker/control/wrangler.toml, or npm run setup") });
      const write = await admin("/revert", { body: {}, token, env: { ADMIN_TOKEN: "" } });
      expect(write.status).toBe(403);
    }
    expect(await kvSnapshot()).toEqual(before);
  });

  it("tells caches never to store admin answers", async () => {
    const ok = await admin("/history");
    const denied = await admin("/history", { token: "wrong" });
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(denied.headers.get("cache-control")).toBe("no-store");
  });
});

describe("admin API behind Cloudflare Access", () => {
  const AUD = "aud-tag-of-the-admin-app";
  let team = 0;

  /** A fresh Access team: its own RSA key, its certs URL (listing `keys`) answered at the fetch boundary. */
  async function accessTeam() {
    const domain = `team-${++team}.cloudflareaccess.com`;
    const issuer = `https://${domain}`;
    const sign = await keyPair(`kid-${team}`);
    const keys: JsonWebKey[] = [sign.publicJwk];
    const certs = vi.fn(async () => Response.json({ keys }));
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      return url === `${issuer}/cdn-cgi/access/certs` ? certs() : realFetch(input, init);
    });
    const env = { ACCESS_TEAM_DOMAIN: domain, ACCESS_AUD: AUD };
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer, aud: [AUD], email: "alice@example.com", sub: "u-1", iat: now, exp: now + 300 };
    return { env, claims, certs, keys, token: (over: Record<string, unknown> = {}, key: Signer = sign) => key.sign({ ...claims, ...over }) };
  }

  afterEach(() => vi.restoreAllMocks());

  it("accepts a valid Access JWT and records the email as who changed the rules", async () => {
    const access = await accessTeam();
    await putRules(rulesDoc());
    const res = await admin("/ramp", {
      body: { percent: 5 },
      token: null,
      headers: { "cf-access-jwt-assertion": await access.token() },
      env: { ...access.env, ADMIN_TOKEN: "" },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ meta: { updatedBy: "alice@example.com", action: "ramp" } });
  });

  it("fetches the team's certs once and keeps them", async () => {
    const access = await accessTeam();
    for (let i = 0; i < 3; i++) {
      const res = await admin("/history", { token: null, headers: { "cf-access-jwt-assertion": await access.token() }, env: access.env });
      expect(res.status).toBe(200);
    }
    expect(access.certs).toHaveBeenCalledTimes(1);
  });

  it("re-fetches the certs for an unknown key id at most every 30 s, and all of them after 10 minutes", async () => {
    let now = Date.now();
    vi.spyOn(Date, "now").mockImplementation(() => now);
    const access = await accessTeam();
    const fresh = (key?: Signer) => {
      const at = Math.floor(now / 1000);
      return access.token({ iat: at, exp: at + 300 }, key);
    };
    const status = async (jwt: string) => (await admin("/history", { token: null, headers: { "cf-access-jwt-assertion": jwt }, env: access.env })).status;
    const impostor = await keyPair("forged");
    let forgeries = 0;
    /** Tokens with key ids the team never had, as an attacker would send to make the worker fetch the certs. */
    const forged = async (count: number) => {
      for (let i = 0; i < count; i++) expect(await status(await fresh(impostor.withKid(`forged-${++forgeries}`)))).toBe(401);
    };
    expect(await status(await fresh())).toBe(200);
    expect(access.certs).toHaveBeenCalledTimes(1);

    // The team rotates to a new key; its certs now list both.
    const rotated = await keyPair(`rotated-${team}`);
    access.keys.push(rotated.publicJwk);

    // Unknown key ids within 30 s of the last fetch: refused from the kept keys, the certs URL is left alone.
    await forged(5);
    now += 29_000;
    expect(await status(await fresh(rotated))).toBe(401);
    expect(access.certs).toHaveBeenCalledTimes(1);

    // 30 s on, one unknown id fetches them again: the rotated key is accepted, and the next forged ids wait another 30 s.
    now += 1_000;
    expect(await status(await fresh(rotated))).toBe(200);
    expect(access.certs).toHaveBeenCalledTimes(2);
    await forged(5);
    expect(access.certs).toHaveBeenCalledTimes(2);
    now += 30_000;
    await forged(5);
    expect(access.certs).toHaveBeenCalledTimes(3);

    // A known key id is served from memory until the keys are 10 minutes old, then they are fetched again.
    now += 10 * 60_000 - 1;
    expect(await status(await fresh())).toBe(200);
    expect(access.certs).toHaveBeenCalledTimes(3);
    now += 1;
    expect(await status(await fresh())).toBe(200);
    expect(access.certs).toHaveBeenCalledTimes(4);
  });

  it("refuses a JWT for another application, an expired one, and one signed by another key", async () => {
    const access = await accessTeam();
    const impostor = await keyPair(`kid-${team}`);
    const past = Math.floor(Date.now() / 1000) - 600;
    const bad = [
      await access.token({ aud: ["another-app"] }),
      await access.token({ iat: past - 300, exp: past }),
      await access.token({ iss: "https://evil.cloudflareaccess.com" }),
      await access.token({}, impostor),
      "not.a.jwt",
    ];
    for (const jwt of bad) {
      const res = await admin("/rules", { token: TOKEN, headers: { "cf-access-jwt-assertion": jwt }, env: access.env });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: "access_denied" });
    }
  });

  it("accepts only Access when Access is configured and ADMIN_TOKEN is empty", async () => {
    const access = await accessTeam();
    const res = await admin("/rules", { token: "", env: { ...access.env, ADMIN_TOKEN: "" } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "unauthorized" });
  });

  it("still accepts the bearer token when Access is configured and no assertion is sent", async () => {
    const access = await accessTeam();
    const res = await admin("/rules", { env: access.env });
    expect(res.status).toBe(200);
  });
});

/** An RSA key pair as Access uses (RS256), the public half as a JWK with its key id. */
async function keyPair(kid: string) {
  const pair = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const publicJwk = { ...((await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey), kid, alg: "RS256" };
  const privateJwk = { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid, alg: "RS256" };
  const signer = (id: string): Signer => ({ sign: (payload) => Jwt.sign(payload, { ...privateJwk, kid: id }, "RS256") });
  /** `withKid`: the same key under another key id (a new key costs a second or more to generate). */
  return { publicJwk, ...signer(kid), withKid: signer };
}

/** Signs a JWT's claims with one key, under one key id. */
interface Signer {
  sign(payload: Record<string, unknown>): Promise<string>;
}
