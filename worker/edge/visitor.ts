import { clearOverrideCookie, OVERRIDE_COOKIE, overrideCookie, readOverride, readStickyCookie, STICKY_COOKIE, stickyCookie } from "../core/cookies.ts";
import type { Colour } from "../core/colours.ts";
import type { CompiledRules } from "../core/matching.ts";
import { forcedColour, mayHaveOverride, OVERRIDE_PARAM } from "../core/override.ts";
import { PENDING, Signatures } from "../core/signing.ts";
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
 * fallback: then no cookie is set or cleared, so an outage never reshuffles anyone. A returning
 * visitor's signatures are known in this isolate's memory: then the answer comes at once, without
 * an await (a Promise only when an HMAC must be computed first).
 */
export function readVisitor(request: Request, url: URL, compiled: CompiledRules, secret: string | undefined, mayPin: boolean): Visitor | Promise<Visitor> {
  const traits = traitsOf(request, url, compiled.rules.stickiness, compiled);
  const reading: Reading = { traits, url, compiled, signatures: new Signatures(secret), mayPin };
  return visitorOf(reading) ?? afterSignatures(reading);
}

/** One request's reading, kept across passes: a bucket drawn at random (no IP) is drawn once. */
interface Reading {
  traits: Traits;
  url: URL;
  compiled: CompiledRules;
  signatures: Signatures;
  mayPin: boolean;
  resolved?: { bucket: number; source: BucketSource };
}

/** The HMACs a visitor may need, each waited for at most once: the sticky cookie's check, its signing, the override's check. */
const HMAC_STEPS = 3;

/** Reads the visitor again each time the HMAC it waits for is known (visitorOf stops at the first one not known yet). */
async function afterSignatures(reading: Reading): Promise<Visitor> {
  for (let pass = 0; pass < HMAC_STEPS; pass++) {
    await reading.signatures.ready();
    const visitor = visitorOf(reading);
    if (visitor) return visitor;
  }
  throw new Error(`the visitor's signatures were not known after ${HMAC_STEPS} passes`); // a new HMAC step without HMAC_STEPS raised: the visitor gets the stable site (routeToStable)
}

/** The visitor, or undefined while a signature it needs is being computed. */
function visitorOf(reading: Reading): Visitor | undefined {
  const { traits, url, compiled, signatures, mayPin } = reading;
  const { rules } = compiled;
  const secret = signatures.secret;
  const setCookies: string[] = [];

  const raw = traits.cookies[STICKY_COOKIE];
  // A user ID decides the bucket by itself: the cookie is then only compared with what it should say, never trusted, so not verified.
  const kept = traits.userId ? payloadOf(raw) : readStickyCookie(raw, signatures);
  if (kept === PENDING) return undefined;
  const { bucket, source } = (reading.resolved ??= resolveBucket(rules.rollout.id, traits, kept));
  const wanted = stickyValue(rules.rollout.id, bucket);
  if (secret && mayPin && kept !== wanted) {
    const cookie = stickyCookie(wanted, signatures);
    if (cookie === PENDING) return undefined;
    setCookies.push(cookie);
  }

  const param = mayHaveOverride(url.search) ? url.searchParams.get(OVERRIDE_PARAM) : null;
  const cookie = traits.cookies[OVERRIDE_COOKIE];
  let forced: Colour | undefined;
  if (param === "auto") {
    if (cookie !== undefined) setCookies.push(clearOverrideCookie());
  } else if (param !== null || cookie !== undefined) {
    const override = readOverride(param ?? cookie, signatures);
    if (override === PENDING) return undefined;
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
