/** 10,000 buckets: one bucket is 0.01% of traffic, the finest step a rollout can take. */
export const BUCKETS = 10_000;

/** Same rollout and key always give the same bucket; a new rollout id reshuffles everyone. */
export function bucketOf(rolloutId: string, key: string): number {
  return hash32(`${rolloutId}\u0000${key}`) % BUCKETS;
}

/** A bucket is canary when it sits below the line, so raising the percentage only ever adds buckets. */
export function inCanary(bucket: number, percent: number): boolean {
  return bucket < Math.round(percent * 100);
}

/** A random bucket for a visitor with no ID and no IP; their cookie keeps it from then on. */
export function randomBucket(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! % BUCKETS;
}

/** FNV-1a with a murmur3 finaliser: synchronous, fast, and well spread over the low digits. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
