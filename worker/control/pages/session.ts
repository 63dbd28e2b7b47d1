import type { Context } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { timingSafeEqual } from "hono/utils/buffer";
import { accessIdentity } from "../http/access.ts";
import { controlConfig } from "../config.ts";

/**
 * Who is using the dashboard. Browsers cannot send a bearer header on navigation, so the operator
 * signs in once with the ADMIN_TOKEN and gets a short-lived cookie signed with that token (rotating
 * the token signs everyone out); behind Cloudflare Access, the Access identity is enough.
 */
export const SESSION_COOKIE = "canary-admin";
const SESSION_SECONDS = 8 * 3600;
const ATTRIBUTES = { prefix: "host", httpOnly: true, secure: true, sameSite: "Strict", path: "/" } as const;

type PageContext = Context<{ Bindings: ControlEnv }>;

/** The signed-in operator's name, or undefined when the dashboard must show the sign-in form. */
export async function dashboardActor(c: PageContext): Promise<string | undefined> {
  const { access, adminToken: token } = controlConfig(c.env);
  const assertion = c.req.header("cf-access-jwt-assertion");
  if (access && assertion) return accessIdentity(assertion, access);
  if (!token) return undefined;
  const value = await getSignedCookie(c, token, SESSION_COOKIE, "host");
  const [kind, expires] = (value || "").split(":");
  return kind === "dashboard" && Number(expires) > Date.now() / 1000 ? "dashboard (admin token)" : undefined;
}

/** Checks the token in constant time and, if right, starts a session; false changes nothing. */
export async function signIn(c: PageContext, token: string): Promise<boolean> {
  const expected = controlConfig(c.env).adminToken;
  if (!expected || !(await timingSafeEqual(token, expected))) return false;
  const expires = Math.floor(Date.now() / 1000) + SESSION_SECONDS;
  await setSignedCookie(c, SESSION_COOKIE, `dashboard:${expires}`, expected, { ...ATTRIBUTES, maxAge: SESSION_SECONDS });
  return true;
}

/** Ends the session. */
export function signOut(c: PageContext): void {
  deleteCookie(c, SESSION_COOKIE, ATTRIBUTES);
}

/** True when the dashboard can be used at all: a token or Access is configured. */
export function dashboardEnabled(env: ControlEnv): boolean {
  const { adminToken, access } = controlConfig(env);
  return Boolean(adminToken || access);
}
