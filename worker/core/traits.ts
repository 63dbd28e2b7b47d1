import { readCookies } from "./cookie-reader.ts";
import { type Address, parseAddress } from "./ip.ts";
import type { Rules } from "./rules.ts";

/** What targeting rules can look at, read once from the request so matching is pure. */
export interface Traits {
  userId?: string;
  /** The client IP as parsed for range rules; only when some enabled rule has ipRanges. */
  ip?: Address;
  ipText?: string;
  country?: string;
  continent?: string;
  region?: string;
  colo?: string;
  asn?: number;
  host: string;
  path: string;
  headers: Headers;
  cookies: Record<string, string>;
}

/** Longest user ID used for bucketing and matching: longer ones are cut, so a client cannot make hashing expensive. */
export const MAX_USER_ID_LENGTH = 256;

/** Reads the visitor's traits; the client IP is CF-Connecting-IP only, never X-Forwarded-For. */
export function traitsOf(request: Request, url: URL, stickiness: Rules["stickiness"], needs: { needsAddress: boolean; readsCf: boolean; cookieNames: readonly string[] }): Traits {
  const headers = request.headers;
  const cookies = readCookies(headers.get("cookie"), needs.cookieNames);
  const needsAddress = needs.needsAddress;
  const ipText = headers.get("cf-connecting-ip") ?? undefined;
  const userId =
    (stickiness.userIdHeader && headers.get(stickiness.userIdHeader)) ||
    (stickiness.userIdCookie && cookies[stickiness.userIdCookie]) ||
    undefined;
  const cf = needs.readsCf ? (request.cf as Partial<IncomingRequestCfProperties> | undefined) : undefined; // the runtime parses cf on first use
  return {
    userId: userId ? userId.trim().slice(0, MAX_USER_ID_LENGTH) || undefined : undefined,
    ip: needsAddress && ipText ? parseAddress(ipText) : undefined,
    ipText,
    country: cf?.country ?? undefined,
    continent: cf?.continent ?? undefined,
    region: cf?.regionCode ?? undefined,
    colo: cf?.colo ?? undefined,
    asn: cf?.asn ?? undefined,
    host: url.hostname,
    path: url.pathname,
    headers,
    cookies,
  };
}
