/**
 * The colo's share of what its isolates learnt from the release authority, kept in the colo's
 * Cache API so one isolate asks and the others read locally: the beacon (the newest revision an
 * isolate of this colo holds, written only to move it forward), each revision's document (put
 * before any beacon naming it), and the lease (when an isolate last asked the authority: one
 * question per colo and second). Without a Cache API (workers.dev) every isolate asks itself.
 */

/** How long after an isolate of the colo asked the authority the next one asks again. */
export const BEACON_LIFETIME_MS = 1_000;
const CACHE_NAME = "edge-canary-release";
const BEACON_URL = "https://edge-canary.internal/beacon";
const LEASE_URL = "https://edge-canary.internal/asking";
const SEAL_HEADER = "x-canary-seal";
const documentUrl = (revision: number) => `https://edge-canary.internal/rules/${revision}`;
/** Entries stay long: a quiet colo's next isolate still reads the newest revision the colo had. */
const KEEP_SECONDS = 3600;

/** The part of the Cache API the beacon uses. */
export interface ColoStore {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
}

/** The colo's cache for a deployment (named from its CANARY_SECRET): the runtime's, or another one (a test or the simulator models several colos). Undefined: no Cache API here. */
export type ColoCache = (secret: string | undefined) => Promise<ColoStore | undefined>;

/** The newest revision an isolate of this colo holds (its document is in the colo's cache too). */
export interface ColoBeacon {
  revision: number;
}

/**
 * The runtime's Cache API under `name`, or (by default) under a name of this deployment's own: the
 * Cache API is shared by every Worker of a zone, and two deployments (staging and production) must
 * not read each other's beacons.
 */
export function runtimeCache(name?: string): ColoCache {
  return async (secret) => {
    try {
      return await (globalThis as { caches?: CacheStorage }).caches?.open(name ?? (await deploymentCacheName(secret)));
    } catch {
      return undefined;
    }
  };
}

const names = new Map<string, Promise<string>>();
function deploymentCacheName(secret: string | undefined): Promise<string> {
  let name = names.get(secret ?? "");
  if (!name) {
    name = crypto.subtle.digest("SHA-256", new TextEncoder().encode(`edge-canary:${secret ?? ""}`)).then((bytes) => {
      const hex = Array.from(new Uint8Array(bytes).slice(0, 8), (byte) => byte.toString(16).padStart(2, "0")).join("");
      return `${CACHE_NAME}-${hex}`;
    });
    names.set(secret ?? "", name);
  }
  return name;
}

export async function readColoBeacon(cache: ColoStore): Promise<ColoBeacon | undefined> {
  try {
    const cached = await cache.match(BEACON_URL);
    return cached ? ((await cached.json()) as ColoBeacon) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Moves the colo's beacon forward to `revision`, never back (only isolates that hold a newer revision
 * write it, so two puts race only when two isolates move it forward at once; a put that took it back
 * is put again over). True when it put the beacon.
 */
export async function advanceBeacon(cache: ColoStore, revision: number): Promise<boolean> {
  let put = false;
  for (let tries = 0; tries < 2; tries++) {
    const known = await readColoBeacon(cache);
    if (known && known.revision >= revision) return put;
    const response = new Response(JSON.stringify({ revision } satisfies ColoBeacon), { headers: { "content-type": "application/json", "cache-control": `max-age=${KEEP_SECONDS}` } });
    await cache.put(BEACON_URL, response).catch(() => undefined);
    put = true;
  }
  return put;
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

/** A revision's document and its seal, if an isolate of this colo already fetched it (a revision never changes). */
export async function readColoDocument(cache: ColoStore, revision: number): Promise<{ text: string; seal: string | null } | undefined> {
  try {
    const cached = await cache.match(documentUrl(revision));
    return cached ? { text: await cached.text(), seal: cached.headers.get(SEAL_HEADER) } : undefined;
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

export async function shareDocument(cache: ColoStore, revision: number, text: string, seal: string | undefined): Promise<void> {
  const headers: Record<string, string> = { "cache-control": `max-age=${KEEP_SECONDS}, immutable` };
  if (seal) headers[SEAL_HEADER] = seal;
  await cache.put(documentUrl(revision), new Response(text, { headers })).catch(() => undefined);
}
