import { timingSafeEqual } from "hono/utils/buffer";

/**
 * A per-session token in every dashboard form, checked on every post before anything else: defence
 * in depth behind the dashboard's own origin and hono/csrf. It is HMAC-SHA256 (keyed with the
 * admin token) over the session's credential, so only a page rendered for this session carries it.
 */
export const FORM_TOKEN_FIELD = "form-token";

const encoder = new TextEncoder();

/** The token for a session: base64url of HMAC-SHA256(key, "dashboard-form:" + credential). */
export async function formToken(key: string, credential: string): Promise<string> {
  const hmac = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, encoder.encode(`dashboard-form:${credential}`)));
  return btoa(String.fromCharCode(...mac)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Whether a posted value is this session's token, compared in constant time; a missing or non-text value never is. */
export async function formTokenMatches(key: string, credential: string, sent: unknown): Promise<boolean> {
  if (typeof sent !== "string" || !sent) return false;
  return timingSafeEqual(sent, await formToken(key, credential));
}
