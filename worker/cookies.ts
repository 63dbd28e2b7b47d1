import { parse, parseSigned, serialize, serializeSigned } from "hono/utils/cookie";
import type { OverrideValue } from "./override.ts";

/** Every cookie of the router's starts with this; none of them is forwarded to the origin. */
export const ROUTER_COOKIE_PREFIX = "__Host-canary";
/** The sticky cookie: `<rollout>:<bucket>`, HMAC-signed. */
export const STICKY_COOKIE = "__Host-canary";
/** The tester override cookie: a plain colour (open policy) or a signed token. */
export const OVERRIDE_COOKIE = "__Host-canary-force";

const ATTRIBUTES = { path: "/", secure: true, httpOnly: true, sameSite: "Lax" } as const;
const STICKY_MAX_AGE = 30 * 24 * 3600;
const OPEN_OVERRIDE_MAX_AGE = 24 * 3600;

/** The sticky cookie's payload when its signature holds; a forged or unsigned one reads as absent. */
export async function readStickyCookie(cookieHeader: string | null, secret: string): Promise<string | undefined> {
  if (!cookieHeader?.includes(STICKY_COOKIE)) return undefined;
  const value = (await parseSigned(cookieHeader, secret, STICKY_COOKIE))[STICKY_COOKIE];
  return value || undefined;
}

/** Set-Cookie for the sticky cookie. */
export function stickyCookie(value: string, secret: string): Promise<string> {
  return serializeSigned(STICKY_COOKIE, value, secret, { ...ATTRIBUTES, maxAge: STICKY_MAX_AGE });
}

/** The raw override cookie as the browser sent it. */
export function rawOverrideCookie(cookieHeader: string | null): string | undefined {
  if (!cookieHeader?.includes(OVERRIDE_COOKIE)) return undefined;
  return parse(cookieHeader, OVERRIDE_COOKIE)[OVERRIDE_COOKIE];
}

/** Reads an override cookie value or token: a signed one counts only if its HMAC verifies. */
export async function readOverride(raw: string | undefined, secret: string | undefined): Promise<OverrideValue | undefined> {
  if (!raw) return undefined;
  if (!raw.includes(".")) return { value: raw, signed: false };
  if (!secret) return undefined;
  const verified = (await parseSigned(`${OVERRIDE_COOKIE}=${encodeURIComponent(raw)}`, secret, OVERRIDE_COOKIE))[
    OVERRIDE_COOKIE
  ];
  return verified ? { value: verified, signed: true } : undefined;
}

/** A signed token for a payload, exactly as the override cookie stores it (join-the-canary links). */
export async function signToken(payload: string, secret: string): Promise<string> {
  const cookie = await serializeSigned(OVERRIDE_COOKIE, payload, secret, ATTRIBUTES);
  return parse(cookie.split(";")[0]!, OVERRIDE_COOKIE)[OVERRIDE_COOKIE]!;
}

/** Set-Cookie that stores an override (raw token or plain colour) until it expires. */
export function overrideCookie(raw: string, expiresSeconds: number | undefined, nowSeconds: number): string {
  const maxAge = expiresSeconds === undefined ? OPEN_OVERRIDE_MAX_AGE : Math.max(0, expiresSeconds - nowSeconds);
  return serialize(OVERRIDE_COOKIE, raw, { ...ATTRIBUTES, maxAge });
}

/** Set-Cookie that removes the override, back to automatic assignment. */
export function clearOverrideCookie(): string {
  return serialize(OVERRIDE_COOKIE, "", { ...ATTRIBUTES, maxAge: 0 });
}
