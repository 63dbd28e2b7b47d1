/**
 * HMAC-SHA256 signatures in hono's signed-cookie format (`value.base64sig`), with the key imported
 * once per secret: hono's parseSigned imports it on every call, which the benchmark showed to be
 * the largest single cost of a visitor's request. Cookies written here read fine with hono/cookie.
 */
const keys = new Map<string, Promise<CryptoKey>>();

function key(secret: string): Promise<CryptoKey> {
  let found = keys.get(secret);
  if (!found) {
    const raw = new TextEncoder().encode(secret);
    found = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, found);
  }
  return found;
}

/** `value.signature`, ready to be a cookie value or a link token. */
export async function sign(value: string, secret: string): Promise<string> {
  const signature = await crypto.subtle.sign("HMAC", await key(secret), new TextEncoder().encode(value));
  return `${value}.${btoa(String.fromCharCode(...new Uint8Array(signature)))}`;
}

/** The value of a `value.signature` string whose signature holds (constant-time check by Web Crypto), else undefined. */
export async function verify(signed: string, secret: string): Promise<string | undefined> {
  const dot = signed.lastIndexOf(".");
  const signature = signed.slice(dot + 1);
  if (dot < 0 || signature.length !== 44 || !signature.endsWith("=")) return undefined;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Uint8Array.from(atob(signature), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  const value = signed.slice(0, dot);
  const ok = await crypto.subtle.verify("HMAC", await key(secret), bytes, new TextEncoder().encode(value));
  return ok ? value : undefined;
}
