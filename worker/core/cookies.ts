import { serialize } from "hono/utils/cookie";
import type { OverrideValue } from "./override.ts";
import { PENDING, type Pending, type Signatures, sign } from "./signing.ts";

/** Every cookie of the router's starts with this; none of them is forwarded to the origin. */
export const ROUTER_COOKIE_PREFIX = "__Host-canary";
/** The sticky cookie: `<rollout>:<bucket>`, HMAC-signed. */
export const STICKY_COOKIE = "__Host-canary";
/** The tester override cookie: a plain colour (open policy) or a signed token. */
export const OVERRIDE_COOKIE = "__Host-canary-force";

const ATTRIBUTES = { path: "/", secure: true, httpOnly: true, sameSite: "Lax" } as const;
const STICKY_MAX_AGE = 30 * 24 * 3600;
const OPEN_OVERRIDE_MAX_AGE = 24 * 3600;
/** Browsers cap cookies at 400 days, and hono refuses to write longer ones. */
const MAX_COOKIE_AGE = 400 * 24 * 3600;

/** The sticky cookie's payload when its signature holds; a forged or unsigned one reads as absent. */
export function readStickyCookie(raw: string | undefined, signatures: Signatures): string | undefined | Pending {
  return raw ? signatures.verified(raw) : undefined;
}

/** Set-Cookie for the sticky cookie (the request has a secret). */
export function stickyCookie(value: string, signatures: Signatures): string | Pending {
  const signed = signatures.signed(value);
  return signed === PENDING ? PENDING : serialize(STICKY_COOKIE, signed, { ...ATTRIBUTES, maxAge: STICKY_MAX_AGE });
}

/** Reads an override cookie value or token: a signed one counts only if its HMAC verifies. */
export function readOverride(raw: string | undefined, signatures: Signatures): OverrideValue | undefined | Pending {
  if (!raw) return undefined;
  if (!raw.includes(".")) return { value: raw, signed: false };
  const verified = signatures.verified(raw);
  return verified === PENDING ? PENDING : verified ? { value: verified, signed: true } : undefined;
}

/** A signed token for a payload, exactly as the override cookie stores it (join-the-canary links). */
export function signToken(payload: string, secret: string): Promise<string> {
  return sign(payload, secret);
}

/** Set-Cookie that stores an override (raw token or plain colour) until it expires. */
export function overrideCookie(raw: string, expiresSeconds: number | undefined, nowSeconds: number): string {
  const maxAge = expiresSeconds === undefined ? OPEN_OVERRIDE_MAX_AGE : Math.min(MAX_COOKIE_AGE, Math.max(0, expiresSeconds - nowSeconds));
  return serialize(OVERRIDE_COOKIE, raw, { ...ATTRIBUTES, maxAge });
}

/** Set-Cookie that removes the override, back to automatic assignment. */
export function clearOverrideCookie(): string {
  return serialize(OVERRIDE_COOKIE, "", { ...ATTRIBUTES, maxAge: 0 });
}
