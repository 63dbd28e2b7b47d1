import type { Decision } from "../core/decide.ts";
import { VERSION_HEADER } from "./forward.ts";

/**
 * Tells the visitor which version answered and pins them with any changed cookies. The version
 * depends on cookies and some headers, so shared caches must key on them (Vary) and must never
 * store a response that pins a visitor (it would pin everyone who gets the cached copy).
 * The origin's response is copied once, here, to make its headers writable.
 */
export function stamp(response: Response, decision: Decision, setCookies: string[], varyText: string): Response {
  const stamped = response.status === 101 ? response : new Response(response.body, response);
  const headers = stamped.headers;
  headers.set(VERSION_HEADER, decision.colour);
  addVary(headers, varyText);
  if (setCookies.length) keepOutOfSharedCaches(headers);
  for (const cookie of setCookies) headers.append("set-cookie", cookie);
  return stamped;
}

function addVary(headers: Headers, varyText: string): void {
  const current = headers.get("vary");
  if (!current) return headers.set("vary", varyText);
  const have = new Set(current.split(",").map((name) => name.trim().toLowerCase()));
  if (have.has("*")) return;
  const missing = varyText.split(", ").filter((name) => !have.has(name.toLowerCase()));
  if (missing.length) headers.set("vary", [current, ...missing].join(", "));
}

/** `private` (dropping `public` and `s-maxage`) unless already private or no-store: browsers may cache, CDNs and proxies may not. */
function keepOutOfSharedCaches(headers: Headers): void {
  const directives = (headers.get("cache-control") ?? "").split(",").map((d) => d.trim()).filter(Boolean);
  if (directives.some((d) => /^(private|no-store)$/i.test(d))) return;
  const kept = directives.filter((d) => !/^(public|s-maxage=.*)$/i.test(d));
  headers.set("cache-control", ["private", ...kept].join(", "));
}
