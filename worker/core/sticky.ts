import { BUCKETS, bucketOf, randomBucket } from "./bucketing.ts";
import type { Traits } from "./traits.ts";

/** Where a visitor's bucket came from; shown on the tester page and in the cookie's life cycle. */
export type BucketSource = "user-id" | "cookie" | "ip" | "random";

/** The sticky cookie holds the bucket and its rollout, not a verdict, so ramps move visitors correctly. */
export function stickyValue(rolloutId: string, bucket: number): string {
  return `${rolloutId}:${bucket}`;
}

/** The bucket kept in a (verified) sticky cookie, or undefined when it belongs to another rollout or is junk. */
export function bucketFromCookie(value: string | undefined, rolloutId: string): number | undefined {
  if (!value) return undefined;
  const at = value.lastIndexOf(":");
  if (value.slice(0, at) !== rolloutId) return undefined;
  const text = value.slice(at + 1);
  const bucket = Number(text);
  return /^\d{1,5}$/.test(text) && bucket < BUCKETS ? bucket : undefined;
}

/**
 * A user ID always decides (same bucket on every device); otherwise the cookie keeps the bucket
 * first derived from the client IP, or drawn at random when there is no IP at all.
 */
export function resolveBucket(
  rolloutId: string,
  traits: Pick<Traits, "userId" | "ipText">,
  cookieValue: string | undefined,
): { bucket: number; source: BucketSource } {
  if (traits.userId) return { bucket: bucketOf(rolloutId, `id:${traits.userId}`), source: "user-id" };
  const kept = bucketFromCookie(cookieValue, rolloutId);
  if (kept !== undefined) return { bucket: kept, source: "cookie" };
  if (traits.ipText) return { bucket: bucketOf(rolloutId, `ip:${traits.ipText}`), source: "ip" };
  return { bucket: randomBucket(), source: "random" };
}
