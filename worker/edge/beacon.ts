/**
 * The colo's share of what its isolates learnt from the release authority, kept in the colo's
 * Cache API so one isolate asks and the others read locally: the beacon (the newest revision an
 * isolate of this colo heard of, and when it asked) and each revision's document, put before any
 * beacon naming it. Without a Cache API (workers.dev) every isolate asks the authority itself.
 */

/** How long a colo's beacon stands before an isolate asks the authority again. */
export const BEACON_LIFETIME_MS = 1_000;
const CACHE_NAME = "edge-canary-release";
const BEACON_URL = "https://edge-canary.internal/beacon";
const LEASE_URL = "https://edge-canary.internal/asking";
const documentUrl = (revision: number) => `https://edge-canary.internal/rules/${revision}`;
/** The beacon entry outlives its freshness: a quiet colo's next isolate still reads the newest revision it had. */
const KEEP_SECONDS = 3600;

/** The part of the Cache API the beacon uses. */
export interface ColoStore {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
}

/** The colo's cache: the runtime's, or another one (a test or the simulator models several colos). Undefined: no Cache API here. */
export type ColoCache = () => Promise<ColoStore | undefined>;

/** The newest revision an isolate of this colo heard of, and when (the colo's clock, ms). */
export interface ColoBeacon {
  revision: number;
  at: number;
}

/** The runtime's Cache API under `name` (tests take a fresh name for a fresh colo). */
export function runtimeCache(name = CACHE_NAME): ColoCache {
  return async () => {
    try {
      return await (globalThis as { caches?: CacheStorage }).caches?.open(name);
    } catch {
      return undefined;
    }
  };
}

export async function readColoBeacon(cache: ColoStore): Promise<ColoBeacon | undefined> {
  try {
    const cached = await cache.match(BEACON_URL);
    return cached ? ((await cached.json()) as ColoBeacon) : undefined;
  } catch {
    return undefined;
  }
}

/** Tells the colo's other isolates about `beacon`, unless the colo already knows a newer revision. */
export async function shareBeacon(cache: ColoStore, beacon: ColoBeacon): Promise<void> {
  const known = await readColoBeacon(cache);
  if (known && known.revision > beacon.revision) return;
  const response = new Response(JSON.stringify(beacon), { headers: { "content-type": "application/json", "cache-control": `max-age=${KEEP_SECONDS}` } });
  await cache.put(BEACON_URL, response).catch(() => undefined);
}

/** Tells the colo's other isolates that this one is asking the authority now, so they do not ask too (until BEACON_LIFETIME_MS has passed). */
export async function leaseAsk(cache: ColoStore, at: number): Promise<void> {
  const response = new Response(String(at), { headers: { "cache-control": `max-age=${Math.ceil(BEACON_LIFETIME_MS / 1000)}` } });
  await cache.put(LEASE_URL, response).catch(() => undefined);
}

/** Whether an isolate of this colo is asking the authority (it said so less than BEACON_LIFETIME_MS ago). */
export async function askedLately(cache: ColoStore, now: number): Promise<boolean> {
  try {
    const at = Number(await (await cache.match(LEASE_URL))?.text());
    return now - at < BEACON_LIFETIME_MS;
  } catch {
    return false;
  }
}

/** A revision's document, if an isolate of this colo already fetched it (a revision never changes). */
export async function readColoDocument(cache: ColoStore, revision: number): Promise<string | undefined> {
  try {
    return await (await cache.match(documentUrl(revision)))?.text();
  } catch {
    return undefined;
  }
}

/** Whether the colo's cache holds a revision's document (it may have evicted it since it was put). */
export async function holdsDocument(cache: ColoStore, revision: number): Promise<boolean> {
  try {
    const cached = await cache.match(documentUrl(revision));
    void cached?.body?.cancel().catch(() => undefined);
    return cached !== undefined;
  } catch {
    return false;
  }
}

export async function shareDocument(cache: ColoStore, revision: number, text: string): Promise<void> {
  const response = new Response(text, { headers: { "cache-control": `max-age=${KEEP_SECONDS}, immutable` } });
  await cache.put(documentUrl(revision), response).catch(() => undefined);
}
