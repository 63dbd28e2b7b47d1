// The release path's surroundings, simulated: virtual time, Workers KV with lagging per-colo replicas, each colo's Cache API, and the authority's transport with its faults.
import type { Clock } from "../../worker/core/clock.ts";
import type { ListableKV } from "../../worker/control/release/kv-layout.ts";
import type { ColoStore } from "../../worker/edge/beacon.ts";
import type { Random } from "../simulate/random.ts";

/** Virtual time: events run in time order (ties in the order scheduled); between two, every promise continuation settles. */
export class Scheduler {
  now = 0;
  #seq = 0;
  #heap: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  readonly clock: Clock = { now: () => this.now, after: (ms, fn) => this.after(ms, fn) };

  after(ms: number, fn: () => void): () => void {
    const event = { at: this.now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    const heap = this.#heap;
    heap.push(event);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
    return () => void (event.cancelled = true);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((done) => this.after(ms, done));
  }

  /** Runs every event up to `until`, letting the code they start run between them. */
  async runUntil(until: number): Promise<void> {
    await settle();
    for (let event = this.#peek(); event && event.at <= until; event = this.#peek()) {
      this.#pop();
      if (event.cancelled) continue;
      this.now = event.at;
      event.fn();
      await settle();
    }
    this.now = Math.max(this.now, until);
  }

  #peek() {
    return this.#heap[0];
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (!heap.length) return;
    heap[0] = last;
    for (let i = 0; ; ) {
      const [l, r] = [2 * i + 1, 2 * i + 2];
      let least = i;
      if (l < heap.length && before(heap[l]!, heap[least]!)) least = l;
      if (r < heap.length && before(heap[r]!, heap[least]!)) least = r;
      if (least === i) break;
      [heap[i], heap[least]] = [heap[least]!, heap[i]!];
      i = least;
    }
  }
}

function before(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Every promise continuation that is ready runs before this resolves (a macrotask comes after all microtasks). */
function settle(): Promise<void> {
  return new Promise((done) => setImmediate(done));
}

/** A value as KV stores it; each write is a new object, so a read can be traced to the write it shows. */
export interface KvEntry {
  value: string;
  metadata: unknown;
  writtenAt: number;
  writer: string;
}

/** KV's central store: every write lands here at once. */
export class KvCentral {
  readonly map = new Map<string, KvEntry>();
}

/**
 * One location's view of KV: a value read there is cached for a random time up to `lagMs` (a
 * missing key too), so a far colo sees a write up to `lagMs` late; a write made there is seen
 * there at once. `onRead` tells the simulator which write each read showed, and when that read began.
 */
export class KvReplica implements ListableKV {
  readonly #cache = new Map<string, { entry: KvEntry | null; until: number }>();
  /** Until then every call fails (KV down at this location). */
  downUntil = -1;
  readonly name: string;
  readonly lagMs: number;
  readonly sim: Scheduler;
  readonly central: KvCentral;
  readonly random: Random;
  readonly onRead: (entry: KvEntry | null, startedAt: number) => void;

  constructor(name: string, sim: Scheduler, central: KvCentral, random: Random, lagMs: number, onRead: (entry: KvEntry | null, startedAt: number) => void = () => {}) {
    this.name = name;
    this.sim = sim;
    this.central = central;
    this.random = random;
    this.lagMs = lagMs;
    this.onRead = onRead;
  }

  async getWithMetadata<M>(key: string): Promise<{ value: string | null; metadata: M | null }> {
    const entry = await this.#read(key);
    return { value: entry?.value ?? null, metadata: (entry?.metadata ?? null) as M | null };
  }

  async get(key: string): Promise<string | null> {
    return (await this.#read(key))?.value ?? null;
  }

  async put(key: string, value: string, options?: { metadata?: unknown }): Promise<void> {
    await this.sim.sleep(5 + this.random.next() * 20);
    this.#up();
    const entry: KvEntry = { value, metadata: options?.metadata ?? null, writtenAt: this.sim.now, writer: this.name };
    this.central.map.set(key, entry);
    this.#cache.set(key, { entry, until: this.sim.now + this.random.next() * this.lagMs });
  }

  async delete(key: string): Promise<void> {
    await this.sim.sleep(5 + this.random.next() * 20);
    this.#up();
    this.central.map.delete(key);
    this.#cache.set(key, { entry: null, until: this.sim.now + this.random.next() * this.lagMs });
  }

  async list(options: { prefix: string }): Promise<{ keys: { name: string }[]; list_complete: boolean }> {
    await this.sim.sleep(10 + this.random.next() * 40);
    return { keys: [...this.central.map.keys()].filter((key) => key.startsWith(options.prefix)).map((name) => ({ name })), list_complete: true };
  }

  #up(): void {
    if (this.sim.now < this.downUntil) throw new Error(`KV at ${this.name} is down`);
  }

  async #read(key: string): Promise<KvEntry | null> {
    this.#up();
    const startedAt = this.sim.now;
    const cached = this.#cache.get(key);
    if (cached && this.sim.now < cached.until) {
      await this.sim.sleep(0.5 + this.random.next());
      this.onRead(cached.entry, startedAt);
      return cached.entry;
    }
    await this.sim.sleep(10 + this.random.next() * 60); // from the central store
    const entry = this.central.map.get(key) ?? null;
    this.#cache.set(key, { entry, until: this.sim.now + this.random.next() * this.lagMs });
    this.onRead(entry, startedAt);
    return entry;
  }
}

/** A response the colo cache hands back: what the beacon code reads of one. */
function cachedResponse(body: string, headers: Headers): Response {
  return { text: async () => body, json: async () => JSON.parse(body), headers, body: null } as unknown as Response;
}

/** One colo's Cache API: entries live for their max-age; `flush` loses them all (the platform may evict); `onPut` hears of every change. */
export class ColoCacheModel implements ColoStore {
  readonly #entries = new Map<string, { body: string; headers: Headers; until: number }>();
  /** Entries the platform lost (evicted, flushed) and nobody has put again since. */
  readonly #lost = new Set<string>();
  /** Until then every operation takes 60-200 ms (a Cache API that is slow to answer). */
  slowUntil = -1;
  readonly sim: Scheduler;
  readonly random: Random;
  readonly onPut: (url: string, body: string) => void;

  constructor(sim: Scheduler, random: Random, onPut: (url: string, body: string) => void) {
    this.sim = sim;
    this.random = random;
    this.onPut = onPut;
  }

  async match(url: string): Promise<Response | undefined> {
    await this.sim.sleep(this.#latency());
    const entry = this.#entries.get(url);
    return entry && this.sim.now < entry.until ? cachedResponse(entry.body, entry.headers) : undefined;
  }

  async put(url: string, response: Response): Promise<void> {
    const body = await response.text();
    const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get("cache-control") ?? "")?.[1] ?? 0);
    await this.sim.sleep(this.#latency());
    this.#entries.set(url, { body, headers: response.headers, until: this.sim.now + maxAge * 1000 });
    this.#lost.delete(url);
    this.onPut(url, body);
  }

  /** The platform evicts one entry (a document, the beacon, the lease…). */
  evictOne(random: Random): void {
    const urls = [...this.#entries.keys()];
    if (!urls.length) return;
    const url = urls[Math.floor(random.next() * urls.length)]!;
    this.#entries.delete(url);
    this.#lost.add(url);
    this.onPut("", "");
  }

  #latency(): number {
    return this.sim.now < this.slowUntil ? 60 + this.random.next() * 140 : 0.2 + this.random.next() * 1.8;
  }

  flush(): void {
    for (const url of this.#entries.keys()) this.#lost.add(url);
    this.#entries.clear();
    this.onPut("", "");
  }

  /** Whether what the colo holds is less than its beacon names because the platform lost the document (a beacon put after an eviction names one). */
  lostNamed(): boolean {
    const beacon = this.#entries.get("https://edge-canary.internal/beacon");
    if (!beacon) return false;
    const { revision } = JSON.parse(beacon.body) as { revision: number };
    return this.#lost.has(`https://edge-canary.internal/rules/${revision}`);
  }

  /** The revision the colo holds for its isolates: the one its beacon names, if it also holds that revision's document (0 otherwise). */
  holds(): number {
    const beacon = this.#entries.get("https://edge-canary.internal/beacon");
    if (!beacon || this.sim.now >= beacon.until) return 0;
    const { revision } = JSON.parse(beacon.body) as { revision: number };
    const doc = this.#entries.get(`https://edge-canary.internal/rules/${revision}`);
    return doc && this.sim.now < doc.until ? revision : 0;
  }
}
