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

/** A signed-in operator: the name the history records, and the credential their forms' token is derived from (form-token.ts). */
export interface DashboardSession {
  actor: string;
  credential: string;
}

/** The signed-in operator, or undefined when the dashboard must show the sign-in form. */
export async function dashboardSession<E extends { Bindings: ControlEnv }>(c: Context<E>): Promise<DashboardSession | undefined> {
  const { access, adminToken: token } = controlConfig(c.env);
  const assertion = c.req.header("cf-access-jwt-assertion");
  if (access && assertion) {
    const actor = await accessIdentity(assertion, access);
    return actor ? { actor, credential: `access:${assertion}` } : undefined;
  }
  if (!token) return undefined;
  const value = await getSignedCookie(c, token, SESSION_COOKIE, "host");
  const [kind, expires] = (value || "").split(":");
  return value && kind === "dashboard" && Number(expires) > Date.now() / 1000 ? { actor: "dashboard (admin token)", credential: `cookie:${value}` } : undefined;
}

/** The key of the forms' token: the admin token, or CANARY_SECRET when only Access signs operators in. */
export function formKey(env: ControlEnv): string | undefined {
  const { adminToken, secret } = controlConfig(env);
  return adminToken ?? secret;
}

/** Checks the token in constant time and, if right, starts a session; false changes nothing. */
export async function signIn<E extends { Bindings: ControlEnv }>(c: Context<E>, token: string): Promise<boolean> {
  const expected = controlConfig(c.env).adminToken;
  if (!expected || !(await timingSafeEqual(token, expected))) return false;
  const expires = Math.floor(Date.now() / 1000) + SESSION_SECONDS;
  const nonce = [...crypto.getRandomValues(new Uint8Array(16))].map((byte) => byte.toString(16).padStart(2, "0")).join(""); // each session its own, and so its form token
  await setSignedCookie(c, SESSION_COOKIE, `dashboard:${expires}:${nonce}`, expected, { ...ATTRIBUTES, maxAge: SESSION_SECONDS });
  return true;
}

/** Ends the session. */
export function signOut<E extends { Bindings: ControlEnv }>(c: Context<E>): void {
  deleteCookie(c, SESSION_COOKIE, ATTRIBUTES);
}

/** True when the dashboard can be used at all: a token or Access is configured. */
export function dashboardEnabled(env: ControlEnv): boolean {
  const { adminToken, access } = controlConfig(env);
  return Boolean(adminToken || access);
}
