import { clearOverrideCookie, OVERRIDE_COOKIE, overrideCookie, readOverride, readStickyCookie, STICKY_COOKIE, stickyCookie } from "../core/cookies.ts";
import { forcedColour, OVERRIDE_PARAM } from "../core/override.ts";
import type { Colour, Rules } from "../core/rules.ts";
import { type BucketSource, resolveBucket, stickyValue } from "../core/sticky.ts";
import { type Traits, traitsOf } from "../core/traits.ts";

/** Everything the decision needs to know about this visitor, plus the cookies to send back. */
export interface Visitor {
  traits: Traits;
  bucket: number;
  bucketSource: BucketSource;
  forced?: Colour;
  setCookies: string[];
}

/**
 * Reads traits, the sticky bucket and any tester override. The sticky cookie needs CANARY_SECRET
 * (without it, user ID and IP still keep visitors sticky). `mayPin` is false while routing on the
 * fallback: then no cookie is set or cleared, so an outage never reshuffles anyone.
 */
export async function readVisitor(request: Request, rules: Rules, secret: string | undefined, mayPin: boolean): Promise<Visitor> {
  const setCookies: string[] = [];
  const traits = traitsOf(request, rules.stickiness);
  const now = Math.floor(Date.now() / 1000);

  const kept = secret ? await readStickyCookie(traits.cookies[STICKY_COOKIE], secret) : undefined;
  const { bucket, source } = resolveBucket(rules.rollout.id, traits, kept);
  const wanted = stickyValue(rules.rollout.id, bucket);
  if (secret && mayPin && kept !== wanted) setCookies.push(await stickyCookie(wanted, secret));

  const param = traits.url.searchParams.get(OVERRIDE_PARAM);
  const cookie = traits.cookies[OVERRIDE_COOKIE];
  let forced: Colour | undefined;
  if (param === "auto") {
    if (cookie !== undefined) setCookies.push(clearOverrideCookie());
  } else {
    const raw = param ?? cookie;
    const override = await readOverride(raw, secret);
    forced = forcedColour(override, rules.overrides, now);
    if (forced && param && mayPin) {
      const expires = override?.signed ? Number(override.value.split(":")[1]) : undefined;
      setCookies.push(overrideCookie(param, expires, now));
    } else if (!forced && cookie !== undefined && mayPin) {
      setCookies.push(clearOverrideCookie());
    }
  }
  return { traits, bucket, bucketSource: source, forced, setCookies };
}
