import { Jwt } from "hono/utils/jwt";
import type { HonoJsonWebKey } from "hono/utils/jwt/jws";

import type { AccessConfig } from "../config.ts";

const KEYS_TTL_MS = 10 * 60_000;
const REFETCH_AFTER_MS = 30_000;
let cache: { issuer: string; keys: HonoJsonWebKey[]; fetchedAt: number } | undefined;

/**
 * Who a Cf-Access-Jwt-Assertion belongs to (the email, or a service token's client id), or
 * undefined for any token that is not signed by the team's current keys, for this app, unexpired.
 */
export async function accessIdentity(token: string, config: AccessConfig): Promise<string | undefined> {
  try {
    const keys = await signingKeys(config.issuer, Jwt.decode(token).header.kid);
    const payload = await Jwt.verifyWithJwks(token, {
      keys,
      allowedAlgorithms: ["RS256"],
      verification: { iss: config.issuer, aud: config.audience },
    });
    if (typeof payload.exp !== "number") return undefined;
    const identity = payload.email ?? payload.common_name ?? payload.sub;
    return typeof identity === "string" && identity ? identity : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The team's public keys from its certs URL, kept in isolate memory. An unknown key id refetches
 * them (keys rotate), but at most every REFETCH_AFTER_MS so forged ids cannot hammer the endpoint.
 */
async function signingKeys(issuer: string, kid: string | undefined): Promise<HonoJsonWebKey[]> {
  const age = cache?.issuer === issuer ? Date.now() - cache.fetchedAt : Infinity;
  const known = cache?.keys.some((key) => key.kid === kid);
  if (cache && age < KEYS_TTL_MS && (known || age < REFETCH_AFTER_MS)) return cache.keys;
  const response = await fetch(`${issuer}/cdn-cgi/access/certs`);
  if (!response.ok) throw new Error(`Access certs: HTTP ${response.status}`);
  const { keys } = (await response.json()) as { keys?: HonoJsonWebKey[] };
  if (!Array.isArray(keys)) throw new Error("Access certs: no keys");
  cache = { issuer, keys, fetchedAt: Date.now() };
  return keys;
}
