import { parse as parseCookies } from "hono/utils/cookie";
import { type Address, parseAddress } from "./ip.ts";
import type { Rules } from "./rules.ts";

/** What targeting rules can look at, read once from the request so matching is pure. */
export interface Traits {
  userId?: string;
  ip?: Address;
  ipText?: string;
  country?: string;
  continent?: string;
  region?: string;
  colo?: string;
  asn?: number;
  url: URL;
  host: string;
  path: string;
  headers: Headers;
  cookies: Record<string, string>;
}

/** Reads the visitor's traits; the client IP is CF-Connecting-IP only, never X-Forwarded-For. */
export function traitsOf(request: Request, stickiness: Rules["stickiness"]): Traits {
  const url = new URL(request.url);
  const cookies = parseCookies(request.headers.get("cookie") ?? "");
  const cf = request.cf as Partial<IncomingRequestCfProperties> | undefined;
  const ipText = request.headers.get("cf-connecting-ip") ?? undefined;
  const userId =
    (stickiness.userIdHeader && request.headers.get(stickiness.userIdHeader)) ||
    (stickiness.userIdCookie && cookies[stickiness.userIdCookie]) ||
    undefined;
  return {
    userId: userId ? userId.trim().slice(0, 256) || undefined : undefined,
    ip: ipText ? parseAddress(ipText) : undefined,
    ipText,
    country: cf?.country ?? undefined,
    continent: cf?.continent ?? undefined,
    region: cf?.regionCode ?? undefined,
    colo: cf?.colo ?? undefined,
    asn: cf?.asn ?? undefined,
    url,
    host: url.hostname.toLowerCase(),
    path: url.pathname,
    headers: request.headers,
    cookies,
  };
}
