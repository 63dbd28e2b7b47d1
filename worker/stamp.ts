import type { Decision } from "./decide.ts";
import { VERSION_HEADER } from "./proxy.ts";

/**
 * Tells the visitor which version answered and pins them with any changed cookies. The version
 * depends on cookies and some headers, so shared caches must key on them (Vary) and must never
 * store a response that pins a visitor (it would pin everyone who gets the cached copy).
 */
export function stamp(response: Response, decision: Decision, setCookies: string[], vary: string[]): Response {
  const headers = response.headers;
  headers.set(VERSION_HEADER, decision.colour);
  addVary(headers, vary);
  if (setCookies.length) keepOutOfSharedCaches(headers);
  for (const cookie of setCookies) headers.append("set-cookie", cookie);
  return response;
}

function addVary(headers: Headers, names: string[]): void {
  const current = headers.get("vary") ?? "";
  const have = new Set(current.split(",").map((name) => name.trim().toLowerCase()));
  if (have.has("*")) return;
  const missing = names.filter((name) => !have.has(name.toLowerCase()));
  if (missing.length) headers.set("vary", [current, ...missing].filter(Boolean).join(", "));
}

/** `public` and `s-maxage` become `private`: browsers may still cache, CDNs and proxies may not. */
function keepOutOfSharedCaches(headers: Headers): void {
  const cacheControl = headers.get("cache-control");
  if (!cacheControl || !/public|s-maxage/i.test(cacheControl)) return;
  const kept = cacheControl.split(",").map((d) => d.trim()).filter((d) => d && !/^(public|s-maxage=.*|private)$/i.test(d));
  headers.set("cache-control", ["private", ...kept].join(", "));
}
