import type { Decision } from "./decide.ts";
import { VERSION_HEADER } from "./proxy.ts";

/**
 * Tells the visitor which version answered and pins them with any changed cookies. The version
 * depends on cookies, so shared caches must key on them (Vary: Cookie) and never mix versions.
 */
export function stamp(response: Response, decision: Decision, setCookies: string[]): Response {
  const headers = response.headers;
  headers.set(VERSION_HEADER, decision.colour);
  const vary = headers.get("vary") ?? "";
  if (!/(^|,)\s*(cookie|\*)\s*(,|$)/i.test(vary)) headers.set("vary", vary ? `${vary}, Cookie` : "Cookie");
  for (const cookie of setCookies) headers.append("set-cookie", cookie);
  return response;
}
