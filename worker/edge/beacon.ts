import { AUTHORITY_NAME, type Beacon, type ReleaseDocument } from "../core/release.ts";

/**
 * The per-colo beacon: the release authority's current revision, kept for about a second in the
 * colo's Cache API, so the authority hears about once per colo per second whatever the traffic;
 * and each revision's document, kept there too (a revision never changes), so one isolate per colo
 * fetches it. Without a Cache API (workers.dev) every call goes to the authority.
 */

/** How long a colo's beacon stands before an isolate asks the authority again. */
export const BEACON_LIFETIME_MS = 1_000;
/** An authority that has not answered by then is treated as down for this check. */
const AUTHORITY_TIMEOUT_MS = 1_000;
const CACHE_NAME = "edge-canary-release";
const BEACON_URL = "https://edge-canary.internal/beacon";
const documentUrl = (revision: number) => `https://edge-canary.internal/rules/${revision}`;

/** The colo's cache: the runtime's, or another one (a test simulates several colos). Undefined: no Cache API here. */
export type ColoCache = () => Promise<Cache | undefined>;

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

/** The authority's revision as this colo knows it, asking the authority only when the colo's copy is over a second old. */
export async function readBeacon(env: Env, cache: Cache | undefined, colo: string | null): Promise<Beacon> {
  const cached = await cache?.match(BEACON_URL).catch(() => undefined);
  if (cached) {
    const beacon = (await cached.json()) as Beacon;
    if (Date.now() - beacon.at < BEACON_LIFETIME_MS) return beacon;
  }
  const beacon = await withTimeout(authority(env).beacon({ colo, services: serviceNames(env) }), "beacon");
  if (cache) await shareBeacon(cache, beacon);
  return beacon;
}

/** Tells the colo's other isolates a revision this isolate learnt first-hand (it handed the write over). */
export async function shareBeacon(cache: Cache, beacon: Beacon): Promise<void> {
  const response = Response.json(beacon, { headers: { "cache-control": `max-age=${Math.ceil(BEACON_LIFETIME_MS / 1000)}` } });
  await cache.put(BEACON_URL, response).catch(() => undefined);
}

/** The authority's current document, from the colo's cache when another isolate already fetched this revision. */
export async function readDocument(env: Env, cache: Cache | undefined, revision: number): Promise<ReleaseDocument | null> {
  const cached = await cache?.match(documentUrl(revision)).catch(() => undefined);
  if (cached) return { revision, text: await cached.text() };
  const doc = await withTimeout(authority(env).document(), "document");
  if (doc && cache) {
    const response = new Response(doc.text, { headers: { "cache-control": "max-age=3600, immutable" } });
    await cache.put(documentUrl(doc.revision), response).catch(() => undefined);
  }
  return doc;
}

/** The bindings a document's `service` origin may name: the authority refuses any other at write time. */
function serviceNames(env: Env): string[] {
  const bindings = env as unknown as Record<string, { fetch?: unknown } | undefined>;
  return Object.keys(bindings).filter((name) => typeof bindings[name]?.fetch === "function");
}

function authority(env: Env) {
  return env.RELEASE_AUTHORITY.getByName(AUTHORITY_NAME);
}

async function withTimeout<T>(call: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the release authority did not answer the ${what} within ${AUTHORITY_TIMEOUT_MS} ms`)), AUTHORITY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([call, late]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
