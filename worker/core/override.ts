import { COLOURS, type Colour } from "./colours.ts";
import type { Rules } from "./rules.ts";

/** Query parameter that sets (or, with "auto", clears) the tester override cookie. */
export const OVERRIDE_PARAM = "__canary";

/** Whether a query string may carry the override parameter (plainly or percent-encoded): the cheap test before parsing it. */
export function mayHaveOverride(search: string): boolean {
  return search.includes("canary") || search.includes("%");
}

/** An override cookie or token as read: its payload and whether its HMAC signature checked out. */
export interface OverrideValue {
  value: string;
  signed: boolean;
}

/**
 * The colour a tester forced, if the policy allows it. Plain "green" works only under the open
 * policy; a signed "green:<expiry seconds>" works under open and signed until it expires.
 */
export function forcedColour(
  override: OverrideValue | undefined,
  policy: Rules["overrides"],
  nowSeconds: number,
): Colour | undefined {
  if (!override || policy === "off") return undefined;
  const [colour, expires, extra] = override.value.split(":");
  if (!COLOURS.includes(colour as Colour) || extra !== undefined) return undefined;
  if (override.signed) return Number(expires) > nowSeconds ? (colour as Colour) : undefined;
  return policy === "open" && expires === undefined ? (colour as Colour) : undefined;
}

/** Payload of a signed "join the canary" token: the colour and when the link stops working. */
export function overridePayload(colour: Colour, expiresSeconds: number): string {
  return `${colour}:${Math.floor(expiresSeconds)}`;
}
