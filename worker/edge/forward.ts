import { proxy } from "hono/proxy";
import type { OriginFailure } from "../core/analysis/health.ts";
import { ROUTER_COOKIE_PREFIX } from "../core/cookies.ts";
import type { Decision } from "../core/decide.ts";
import { OVERRIDE_PARAM } from "../core/override.ts";
import type { Rules } from "../core/rules.ts";

/** Header that tells the origin, and the visitor, which version served the request. */
export const VERSION_HEADER = "x-canary-version";

type Origin = Rules["origins"]["blue"];

/** The router's own 502/504 answers and why, so the health recorder can count origin failures apart from origin 5xx. */
const originFailures = new WeakMap<Response, OriginFailure>();

/** Whether (and why) a response is the router's own answer to a failed origin. */
export function originFailureOf(response: Response): OriginFailure | undefined {
  return originFailures.get(response);
}

/** Headers a client could use to spoof the router or the chain of proxies; the router sets its own. */
const UNTRUSTED = ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip"];
/** Hop-by-hop headers (RFC 9110 §7.6.1) are about one connection and never forwarded. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "upgrade"];

/**
 * Sends the request to the chosen version's origin with method, query and streamed body intact.
 * Redirects come back to the visitor; a slow origin gives 504 and an unreachable one 502.
 */
export async function forward(request: Request, origin: Origin, decision: Decision, env: Env): Promise<Response> {
  const headers = originHeaders(request, decision);
  const signal = AbortSignal.any([request.signal, AbortSignal.timeout(origin.timeoutMs)]);
  const fetcher = origin.service ? (env as unknown as Record<string, Fetcher>)[origin.service]! : undefined;
  const send = (req: Request) => (fetcher ? fetcher.fetch(req) : fetch(req));
  try {
    const target = targetUrl(request.url, origin);
    if (isWebSocket(request)) return await upgrade(send, target, request, headers);
    // Our cleaned headers replace the client's whole, so `raw` is not handed over (it would copy them first).
    const init = { method: request.method, body: request.body, duplex: request.body ? "half" : undefined };
    const response = await proxy(target, { ...init, headers, redirect: "manual", signal, customFetch: send } as RequestInit);
    return keepVisitorsOnTheRouter(response, request.url, target, origin);
  } catch (error) {
    const timedOut = (error as Error)?.name === "TimeoutError";
    const status = timedOut ? 504 : 502;
    const why = timedOut ? `timed out after ${origin.timeoutMs} ms` : "could not be reached";
    const response = new Response(`edge-canary: the ${decision.colour} origin ${why}\n`, {
      status,
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
    originFailures.set(response, timedOut ? "timeout" : "unreachable");
    return response;
  }
}

/** Origin base URL + request path and query, minus the router's own override parameter. */
export function targetUrl(requestUrl: string, origin: Origin): string {
  const incoming = new URL(requestUrl);
  incoming.search = withoutParam(incoming.search, OVERRIDE_PARAM);
  if (!origin.url) return incoming.toString();
  const base = new URL(origin.url);
  base.pathname = base.pathname.replace(/\/$/, "") + incoming.pathname;
  base.search = incoming.search;
  return base.toString();
}

/** Removes one parameter (however it is percent-encoded) without re-encoding the rest: origins see the query byte for byte. */
function withoutParam(search: string, name: string): string {
  if (!search) return search;
  const isParam = (pair: string) => {
    const key = pair.split("=")[0]!;
    return key === name || (key.includes("%") && safeDecode(key) === name);
  };
  const kept = search.slice(1).split("&").filter((pair) => !isParam(pair));
  return kept.length ? `?${kept.join("&")}` : "";
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * An origin that redirects to its own absolute URL (it sees its own Host), or below a base path,
 * would send the visitor around the router; such redirects are rewritten to the public URL.
 * Other redirects, and relative ones when the origin has no base path, are left as they are.
 */
function keepVisitorsOnTheRouter(response: Response, requestUrl: string, target: string, origin: Origin): Response {
  const location = response.headers.get("location");
  if (!location || !origin.url) return response;
  const base = new URL(origin.url);
  const basePath = base.pathname.replace(/\/$/, "");
  const absolute = /^[a-z][a-z0-9+.-]*:|^\/\//i.test(location);
  if (!absolute && !basePath) return response;
  const resolved = URL.parse(location, target);
  if (!resolved || resolved.origin !== base.origin) return response;
  if (basePath && resolved.pathname !== basePath && !resolved.pathname.startsWith(`${basePath}/`)) return response;
  const visible = new URL(requestUrl);
  visible.pathname = resolved.pathname.slice(basePath.length) || "/";
  visible.search = resolved.search;
  visible.hash = resolved.hash;
  response.headers.set("location", visible.toString());
  return response;
}

/** The client's headers, minus what it must not control, plus the forwarding facts the origin needs. */
export function originHeaders(request: Request, decision: Decision): Headers {
  const headers = new Headers(request.headers);
  for (const name of [...headers.keys()]) {
    if (name.startsWith("x-canary-") || UNTRUSTED.includes(name) || HOP_BY_HOP.includes(name)) headers.delete(name);
  }
  const cookie = withoutRouterCookies(headers.get("cookie"));
  if (cookie) headers.set("cookie", cookie);
  else headers.delete("cookie");
  const url = new URL(request.url);
  const ip = request.headers.get("cf-connecting-ip");
  if (ip) headers.set("x-forwarded-for", ip);
  headers.set("x-forwarded-host", url.host);
  headers.set("x-forwarded-proto", url.protocol.replace(":", ""));
  headers.set(VERSION_HEADER, decision.colour);
  return headers;
}

/** The router's own cookies are its business, not the origin's. */
function withoutRouterCookies(cookie: string | null): string {
  if (!cookie) return "";
  return cookie
    .split(";")
    .filter((pair) => {
      const name = pair.split("=")[0]!.trim();
      return !name.startsWith(ROUTER_COOKIE_PREFIX);
    })
    .join(";")
    .trim();
}

function isWebSocket(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/** WebSocket upgrades keep their Upgrade header and the 101 response keeps its socket (no timeout: it lives on). */
async function upgrade(send: (req: Request) => Promise<Response>, target: string, request: Request, headers: Headers) {
  headers.set("upgrade", "websocket");
  const response = await send(new Request(target, { method: request.method, headers }));
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
    webSocket: response.webSocket,
  });
}
