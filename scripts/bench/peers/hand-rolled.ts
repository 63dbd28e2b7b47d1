// The benchmark's fair peer: the same routing a careful person would write by hand in one file, no library, rules in code.
import { bucketOf } from "../../../worker/core/bucketing.ts";

/**
 * What it does per request, like the edge Worker: reads the cookies with regexes, buckets the user
 * ID (or the HMAC-verified sticky cookie, verified once per value and then remembered), tries ten
 * targeting rules like the bench's realistic document, strips hop-by-hop, spoofable and router
 * headers, forwards with `redirect: "manual"`, keeps redirects on the public host and stamps the
 * response (version, Vary, sticky cookie when it changes). It reads no KV, validates nothing and
 * counts no health: the floor for this much routing work.
 */
interface HandRolledEnv {
  BLUE_ORIGIN: string;
  GREEN_ORIGIN: string;
  CANARY_SECRET: string;
}

const ROLLOUT = "release-2026-11";
const PERCENT = 25;
const STICKY = "__Host-canary";
const VARY = "Cookie, x-user-id, x-tier";
const STAFF = new Set(Array.from({ length: 200 }, (_, i) => `staff-${i}`));
const STRIPPED = /^(connection|keep-alive|te|trailer|upgrade|forwarded|x-real-ip|true-client-ip|x-client-ip|x-cluster-client-ip|client-ip|forwarded-for|fastly-client-ip|proxy-.*|x-forwarded-.*|x-canary-.*)$/;
const STICKY_RE = /(?:^|;\s*)__Host-canary=([^;]*)/;
const ROUTER_COOKIES_RE = /(?:^|;\s*)__Host-canary[^=]*=[^;]*/g;
const PLAN_RE = /(?:^|;\s*)plan=([^;]*)/;
const UID_RE = /(?:^|;\s*)uid=([^;]*)/;

let key: Promise<CryptoKey> | undefined;
const verified = new Map<string, string>();
const signed = new Map<string, string>();

type Serve = "canary" | "stable" | number;

/** The ten rules, first match wins; a number is the share (%) of matching visitors sent to the canary. */
function rule(request: Request, url: URL, userId: string | undefined, ip: string, cookie: string): Serve | undefined {
  const cf = request.cf as { country?: string; colo?: string; continent?: string; regionCode?: string; asn?: number } | undefined;
  const last = userId?.charCodeAt(userId.length - 1) ?? -1;
  if (userId && STAFF.has(userId)) return "canary";
  if (userId && (userId.endsWith("00") || userId.endsWith("50"))) return "canary";
  if (last >= 48 && last <= 57 && (last - 48) % 2 === 0) return 20;
  if (ip.startsWith("10.") || ip.startsWith("192.168.") || ip.toLowerCase().startsWith("2001:db8:")) return "canary";
  if ((cf?.country === "NZ" || cf?.country === "AU") && (cf.colo === "AKL" || cf.colo === "SYD")) return 50;
  if (cf?.continent === "EU" && cf.regionCode === "BE" && cf.asn === 3320) return 10;
  const tier = request.headers.get("x-tier");
  if (tier === "internal" || tier === "beta") return "canary";
  if (PLAN_RE.exec(cookie)?.[1] === "enterprise") return "stable";
  if (url.hostname === "beta.example.com") return "canary";
  if (url.pathname.startsWith("/labs/") || url.pathname.startsWith("/beta/")) return "canary";
  return undefined;
}

function hmacKey(secret: string): Promise<CryptoKey> {
  key ??= crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  return key;
}

/** `value.base64(HMAC-SHA256)` → value, when the signature holds; a verified cookie is remembered (bounded). */
async function verify(text: string, secret: string): Promise<string | undefined> {
  const known = verified.get(text);
  if (known !== undefined) return known;
  const dot = text.lastIndexOf(".");
  if (dot < 0) return undefined;
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = Uint8Array.from(atob(text.slice(dot + 1)), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  const value = text.slice(0, dot);
  if (!(await crypto.subtle.verify("HMAC", await hmacKey(secret), signature, new TextEncoder().encode(value)))) return undefined;
  if (verified.size >= 10_000) verified.clear();
  verified.set(text, value);
  return value;
}

async function sign(value: string, secret: string): Promise<string> {
  let text = signed.get(value);
  if (!text) {
    const signature = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(value)));
    text = `${value}.${btoa(String.fromCharCode(...signature))}`;
    if (signed.size >= 10_000) signed.clear();
    signed.set(value, text);
  }
  return text;
}

export default {
  async fetch(request: Request, env: HandRolledEnv): Promise<Response> {
    const url = new URL(request.url);
    const cookie = request.headers.get("cookie") ?? "";
    const ip = request.headers.get("cf-connecting-ip") ?? "";
    const userId = request.headers.get("x-user-id") || UID_RE.exec(cookie)?.[1] || undefined;
    const rawSticky = STICKY_RE.exec(cookie)?.[1];
    const sticky = rawSticky ? await verify(rawSticky.includes("%") ? decodeURIComponent(rawSticky) : rawSticky, env.CANARY_SECRET) : undefined;
    const kept = sticky?.startsWith(`${ROLLOUT}:`) ? Number(sticky.slice(ROLLOUT.length + 1)) : undefined;
    const bucket = userId ? bucketOf(ROLLOUT, `id:${userId}`) : (kept ?? bucketOf(ROLLOUT, `ip:${ip || crypto.randomUUID()}`));
    const serve = rule(request, url, userId, ip, cookie) ?? PERCENT;
    const canary = serve === "canary" || (typeof serve === "number" && bucket < serve * 100);
    const colour = canary ? "green" : "blue";
    const origin = canary ? env.GREEN_ORIGIN : env.BLUE_ORIGIN;

    const headers = new Headers();
    for (const [name, value] of request.headers) {
      if (STRIPPED.test(name)) continue;
      if (name !== "cookie") headers.append(name, value);
      else if (value.includes(STICKY)) {
        const rest = value.replace(ROUTER_COOKIES_RE, "").replace(/^;\s*/, "");
        if (rest) headers.set("cookie", rest);
      } else headers.set("cookie", value);
    }
    if (ip) headers.set("x-forwarded-for", ip);
    headers.set("x-forwarded-host", url.host);
    headers.set("x-forwarded-proto", url.protocol.slice(0, -1));
    headers.set("x-canary-version", colour);
    const response = await fetch(origin + url.pathname + url.search, { method: request.method, headers, body: request.body, redirect: "manual" });

    const stamped = new Response(response.body, response);
    const location = stamped.headers.get("location");
    if (location?.startsWith(origin)) stamped.headers.set("location", url.origin + location.slice(origin.length));
    stamped.headers.set("x-canary-version", colour);
    stamped.headers.set("vary", stamped.headers.has("vary") ? `${stamped.headers.get("vary")}, ${VARY}` : VARY);
    const wanted = `${ROLLOUT}:${bucket}`;
    if (sticky !== wanted) {
      stamped.headers.set("cache-control", "private");
      const value = encodeURIComponent(await sign(wanted, env.CANARY_SECRET));
      stamped.headers.append("set-cookie", `${STICKY}=${value}; Max-Age=2592000; Path=/; HttpOnly; Secure; SameSite=Lax`);
    }
    return stamped;
  },
};
