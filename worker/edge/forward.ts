import type { OriginFailure } from "../core/analysis/health.ts";
import { ROUTER_COOKIE_PREFIX } from "../core/cookies.ts";
import type { Decision } from "../core/decide.ts";
import type { OriginTarget } from "../core/matching.ts";
import { readHeaders, type RequestHeaders } from "../core/traits.ts";
import { mayHaveOverride, OVERRIDE_PARAM } from "../core/override.ts";

/** Header that tells the origin, and the visitor, which version served the request. */
export const VERSION_HEADER = "x-canary-version";

/** What forwarding did: the origin's response (or the router's own 502/504) and, for health, what went wrong. */
export interface Forwarded {
  response: Response;
  /** Why the router answered 502/504; or "timeout" for a stable answer (or failure) later than the canary's deadline. */
  failure?: OriginFailure;
  /** The visitor hung up before the origin answered, which cancelled the origin's request: it says nothing about the origin. */
  abandoned?: boolean;
}

/**
 * Request headers an origin never gets from the client. Hop-by-hop ones (RFC 9110 §7.6.1) are about
 * one connection; the others could claim a client IP, host or scheme, or speak for the router, which
 * sets its own. A header listed in the client's `Connection` cannot be removed here: the runtime
 * drops `Connection` before a Worker sees the request.
 */
const STRIPPED = new Set([
  "connection", "keep-alive", "te", "trailer", "upgrade",
  "forwarded", "x-real-ip", "true-client-ip", "x-client-ip", "x-cluster-client-ip", "client-ip", "forwarded-for", "fastly-client-ip",
]);
/** Whole families: Proxy-* (Proxy-Connection, Proxy-Authorization...), X-Forwarded-*, and the router's own X-Canary-*. */
const STRIPPED_FAMILY = /^(?:proxy-|x-forwarded-|x-canary-)/;

/**
 * Sends the request to the chosen version's origin with method, query and streamed body intact.
 * Redirects come back to the visitor; an origin that sends no response headers within its deadline
 * (matching.ts `deadlineMs`: the canary's by default, the stable's only when set) gives 504 (a slower
 * body still streams to the end), an unreachable one 502. A visitor who hangs up cancels the
 * origin's request: Cloudflare aborts `request.signal` (`enable_request_signal`), which goes with it.
 */
export async function forward(
  request: Request,
  url: URL,
  target: OriginTarget,
  decision: Decision,
  env: Env,
  headers: RequestHeaders = readHeaders(request.headers),
): Promise<Forwarded> {
  const { origin } = target;
  let location: string;
  try {
    location = targetUrl(url, target);
  } catch {
    return failed(decision, "unreachable", "could not be reached"); // a bad FALLBACK_ORIGIN: 502, never the site itself
  }
  const fetcher = origin.service ? (env as unknown as Record<string, Fetcher>)[origin.service]! : undefined;
  const init = originInit(request, headers, url, decision);
  if (init === UPGRADE) return { response: await upgrade(fetcher, location, request, headers, url, decision) };
  const deadlineMs = target.deadlineMs[decision.role];
  // Without a deadline (stable, no timeoutMs) an answer later than the canary's deadline still counts as a timeout: both versions are judged by one clock.
  const started = deadlineMs === undefined ? performance.now() : 0;
  const overdue = () => deadlineMs === undefined && performance.now() - started >= target.overdueMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // fetch builds the request from the init once. Nothing a client sends makes that fail: header
    // values come out of the visitor's valid Headers, a GET or HEAD goes without a body (originInit).
    const sent = fetcher ? fetcher.fetch(location, init) : fetch(location, init);
    // A timer, not an abort signal on the fetch: a signal would cut a slow body too.
    const late = deadlineMs === undefined ? undefined : new Promise<never>((_, reject) => (timer = setTimeout(() => reject(TIMED_OUT), deadlineMs)));
    const response = await (late ? Promise.race([sent, late]) : sent);
    return { response: keepVisitorsOnTheRouter(response, url, location, target), failure: overdue() ? "timeout" : undefined };
  } catch (error) {
    if (error === TIMED_OUT) return failed(decision, "timeout", `timed out after ${deadlineMs} ms`);
    if (overdue()) return { ...failed(decision, "unreachable", "could not be reached"), failure: "timeout" };
    return { ...failed(decision, "unreachable", "could not be reached"), abandoned: request.signal.aborted };
  } finally {
    if (timer !== undefined) clearTimeout(timer); // the deadline is for the response headers: the body streams as long as it takes
  }
}

/** The router's own answer when the origin could not be used: 504 or 502 with a one-line reason, never cached. */
function failed(decision: Decision, failure: OriginFailure, why: string): Forwarded {
  const response = new Response(`edge-canary: the ${decision.colour} origin ${why}\n`, {
    status: failure === "timeout" ? 504 : 502,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
  return { response, failure };
}

const TIMED_OUT = Symbol("origin timed out");

/** Origin base URL (a service binding keeps the public one) + request path and query, minus the router's own override parameter. */
export function targetUrl(url: URL, target: OriginTarget): string {
  const search = mayHaveOverride(url.search) ? withoutParam(url.search, OVERRIDE_PARAM) : url.search;
  if (target.origin.service) return `${url.origin}${url.pathname}${search}`;
  if (!target.base) throw new TypeError(`origin URL does not parse: ${target.origin.url}`); // a bad FALLBACK_ORIGIN: 502, never the site itself
  return `${target.base.origin}${target.base.path}${url.pathname}${search}`;
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
 * would send the visitor around the router; such redirects (and a 201's Location) are rewritten to
 * the public URL. Other redirects, and relative ones when the origin has no base path, are left as they are.
 */
function keepVisitorsOnTheRouter(response: Response, url: URL, location: string, target: OriginTarget): Response {
  const base = target.base;
  const status = response.status;
  if (!base || ((status < 300 || status > 399) && status !== 201)) return response;
  const redirect = response.headers.get("location");
  if (!redirect) return response;
  const absolute = /^[a-z][a-z0-9+.-]*:|^\/\//i.test(redirect);
  if (!absolute && !base.path) return response;
  const resolved = URL.parse(redirect, location);
  if (!resolved || resolved.origin !== base.origin) return response;
  if (base.path && resolved.pathname !== base.path && !resolved.pathname.startsWith(`${base.path}/`)) return response;
  const visible = new URL(url.href);
  visible.pathname = resolved.pathname.slice(base.path.length) || "/";
  visible.search = resolved.search;
  visible.hash = resolved.hash;
  const rewritten = new Response(response.body, response);
  rewritten.headers.set("location", visible.toString());
  return rewritten;
}

/**
 * What the origin's request is made of: the visitor's method and streamed body, redirects returned
 * not followed, the visitor's abort signal, and the visitor's headers minus what a client must not
 * control plus the forwarding facts, from the record they were read into once. Not the visitor's
 * Request itself: that would also copy (and make the runtime parse) its `request.cf`, and its
 * headers would need editing call by call. Not a list of pairs either: workerd builds a request
 * from a list several times slower than from a record.
 */
export function originInit(request: Request, incoming: RequestHeaders, url: URL, decision: Decision): RequestInit | typeof UPGRADE {
  const headers = forwardedHeaders(incoming, url, decision);
  if (headers === UPGRADE) return UPGRADE;
  const method = request.method;
  // workerd gives a GET sent with Content-Length a body, and fetch refuses to build a GET or HEAD with one.
  const body = method === "GET" || method === "HEAD" ? null : request.body;
  return { method, headers, body, redirect: "manual", signal: request.signal };
}

/** What originInit says for a WebSocket upgrade, which is forwarded its own way. */
export const UPGRADE = Symbol("websocket upgrade");

/**
 * The client's headers, minus what it must not control, plus the forwarding facts the origin
 * needs; UPGRADE when the client asked for a WebSocket (unless `upgrading`, which keeps it). The
 * record has no prototype, so a header named `__proto__` is forwarded like any other.
 */
function forwardedHeaders(incoming: RequestHeaders, url: URL, decision: Decision, upgrading = false): Record<string, string> | typeof UPGRADE {
  const headers: Record<string, string> = Object.create(null);
  let ip: string | undefined;
  for (const name in incoming) {
    const value = incoming[name]!;
    if (STRIPPED.has(name) || STRIPPED_FAMILY.test(name)) {
      if (name === "upgrade" && !upgrading && value.toLowerCase() === "websocket") return UPGRADE;
      continue;
    }
    if (name === "cookie") {
      const kept = withoutRouterCookies(value);
      if (kept) headers.cookie = kept;
      continue;
    }
    if (name === "cf-connecting-ip") ip = value;
    headers[name] = value;
  }
  if (ip) headers["x-forwarded-for"] = ip;
  headers["x-forwarded-host"] = url.host;
  headers["x-forwarded-proto"] = url.protocol === "https:" ? "https" : "http";
  headers[VERSION_HEADER] = decision.colour;
  return headers;
}

/**
 * A router cookie after `;` or after the ", " that joins two Cookie lines, with blanks, up to the
 * next `;` (where an origin's parser ends the value too); and one that starts the header, with the
 * separator after it. No `=` needed: some parsers take a bare name. Linear: each match runs to a
 * `;` at most and the search goes on from there (an earlier `[^;=]*=` rescanned from every ", ").
 */
const ROUTER_PAIR = new RegExp(`(?:;|,(?=[ \\t]))[ \\t]*${ROUTER_COOKIE_PREFIX}[^;]*`, "g");
const FIRST_ROUTER_PAIR = new RegExp(`^[ \\t]*${ROUTER_COOKIE_PREFIX}[^;]*(?:;[ \\t]*)?`);

/**
 * The router's own cookies are its business, not the origin's. Several Cookie lines reach a Worker
 * joined with ", ", so they are looked for after ", " too. Only router pairs are cut out, each with
 * the separator before it (the first one with the separator after it), and every other byte stays:
 * no ", name=" inside a site cookie's value becomes a cookie of its own at the origin. A site value
 * holding ", __Host-canary…" is cut there: it cannot be told from a second Cookie line.
 */
export function withoutRouterCookies(cookie: string): string {
  if (!cookie.includes(ROUTER_COOKIE_PREFIX)) return cookie;
  return cookie.replace(ROUTER_PAIR, "").replace(FIRST_ROUTER_PAIR, "");
}

/** WebSocket upgrades keep their Upgrade header and the 101 response keeps its socket (no timeout: it lives on). */
async function upgrade(fetcher: Fetcher | undefined, location: string, request: Request, incoming: RequestHeaders, url: URL, decision: Decision): Promise<Response> {
  const headers = forwardedHeaders(incoming, url, decision, true) as Record<string, string>;
  headers.upgrade = "websocket";
  const init = { method: request.method, headers };
  const response = await (fetcher ? fetcher.fetch(location, init) : fetch(location, init));
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
    webSocket: response.webSocket,
  });
}
