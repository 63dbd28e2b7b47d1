import { clearOverrideCookie, OVERRIDE_COOKIE, overrideCookie, readOverride, readStickyCookie, STICKY_COOKIE, stickyCookie } from "../core/cookies.ts";
import type { Colour } from "../core/colours.ts";
import type { CompiledRules } from "../core/matching.ts";
import { forcedColour, mayHaveOverride, OVERRIDE_PARAM } from "../core/override.ts";
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
export async function readVisitor(request: Request, url: URL, compiled: CompiledRules, secret: string | undefined, mayPin: boolean): Promise<Visitor> {
  const { rules } = compiled;
  const setCookies: string[] = [];
  const traits = traitsOf(request, url, rules.stickiness, compiled);

  const raw = traits.cookies[STICKY_COOKIE];
  // A user ID decides the bucket by itself: the cookie is then only compared with what it should say, never trusted, so not verified.
  const kept = traits.userId ? payloadOf(raw) : secret && raw ? await readStickyCookie(raw, secret) : undefined;
  const { bucket, source } = resolveBucket(rules.rollout.id, traits, kept);
  const wanted = stickyValue(rules.rollout.id, bucket);
  if (secret && mayPin && kept !== wanted) setCookies.push(await stickyCookie(wanted, secret));

  const param = mayHaveOverride(url.search) ? url.searchParams.get(OVERRIDE_PARAM) : null;
  const cookie = traits.cookies[OVERRIDE_COOKIE];
  let forced: Colour | undefined;
  if (param === "auto") {
    if (cookie !== undefined) setCookies.push(clearOverrideCookie());
  } else if (param !== null || cookie !== undefined) {
    const override = await readOverride(param ?? cookie, secret);
    forced = forcedColour(override, rules.overrides, Math.floor(Date.now() / 1000));
    if (forced && param && mayPin) {
      const expires = override?.signed ? Number(override.value.split(":")[1]) : undefined;
      setCookies.push(overrideCookie(param, expires, Math.floor(Date.now() / 1000)));
    } else if (!forced && cookie !== undefined && mayPin) {
      setCookies.push(clearOverrideCookie());
    }
  }
  return { traits, bucket, bucketSource: source, forced, setCookies };
}

/** The unverified payload of a `value.signature` cookie. */
function payloadOf(raw: string | undefined): string | undefined {
  const dot = raw?.lastIndexOf(".") ?? -1;
  return dot > 0 ? raw!.slice(0, dot) : undefined;
}
