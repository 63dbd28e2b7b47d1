// One seeded schedule of the release path: colos, isolates, operators on every path and a faulty authority, run on the real edge rules cache and authority core.
import { ramp, revert } from "../../worker/core/operations.ts";
import { fingerprint, RULES_KEY, type Sealer } from "../../worker/core/release.ts";
import { storedRulesText } from "../../worker/core/rules-definitions.ts";
import { parseRulesText, type Rules } from "../../worker/core/rules.ts";

const parsed = (text: string | null): Rules | null => {
  const result = text === null ? null : parseRulesText(text);
  return result?.ok ? result.rules : null;
};
import type { Outcome } from "../../worker/control/release/outcome.ts";
import type { Written } from "../../worker/control/release/actions.ts";
import { ReleaseCore } from "../../worker/control/release/authority.ts";
import { MemoryReleaseStore } from "../../worker/control/release/store-memory.ts";
import type { HistoryEntry, ReleaseStore } from "../../worker/control/release/store.ts";
import { type AuthorityClient, RulesCache, type RulesSources } from "../../worker/edge/rules-cache.ts";
import { deliver, putIntent } from "../canary/local.ts";
import { type Random, seeded } from "../simulate/random.ts";
import { Checker, type Ack } from "./checker.ts";
import { ColoCacheModel, KvCentral, type KvEntry, KvReplica, Scheduler } from "./world.ts";

/** How long a schedule runs (virtual ms), and how long it then settles with no new operator write. */
export const DURATION_MS = 30_000;
const SETTLE_MS = 8_000;
const FALLBACK = "https://fallback.example";
/** CANARY_SECRET of the simulated deployment: the authority seals its mirror with it, the edge checks the seal. */
const SECRET = "simulated-canary-secret";
/** The seal as a deterministic stand-in for Web Crypto's HMAC (whose answers come on the real event loop, outside virtual time). */
const SEALER: Sealer = { seal: async (revision, text) => `sim.${fingerprint(`${SECRET}:${revision}:${text}`)}` };
const ENGINE = "edge-canary analysis";

export interface Options {
  /** Schedules vary in everything below; `calm` keeps the authority healthy (for the latency and reach figures). */
  calm?: boolean;
}

export interface Colo {
  name: string;
  rttMs: number;
  /** Visitors per second. */
  rate: number;
  kv: KvReplica;
  cache: ColoCacheModel;
  isolates: Isolate[];
}

export interface Isolate {
  id: string;
  colo: Colo;
  cache: RulesCache;
  sources: RulesSources;
  started: boolean;
}

/** The release authority, its storage kept across restarts, reached over a network that can be slow, fail or hang. */
class Authority {
  store = new MemoryReleaseStore();
  generation = 0;
  /** When the instance now running began: calls in flight before then died with the one before it. */
  restartedAt = 0;
  core!: ReleaseCore;
  slowUntil = -1;
  slowMs = 0;
  throwUntil = -1;
  hangUntil = -1;
  readonly calls = new Map<string, number[]>();
  readonly sim: Scheduler;
  readonly kv: KvReplica;
  readonly record: (store: ReleaseStore) => ReleaseStore;

  constructor(sim: Scheduler, kv: KvReplica, record: (store: ReleaseStore) => ReleaseStore) {
    this.sim = sim;
    this.kv = kv;
    this.record = record;
    this.restart();
  }

  /** A new instance of the object (an eviction or a deploy): storage stays, memory and calls in flight are lost. */
  restart(): void {
    this.restartedAt = this.sim.now;
    const generation = ++this.generation;
    const alive = () => generation === this.generation;
    const dead = () => new Error("the Durable Object was reset");
    const guard = <T extends object>(target: T): T =>
      new Proxy(target, {
        get: (object, name) => {
          const value = Reflect.get(object, name, object);
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            if (!alive()) throw dead();
            return value.apply(object, args);
          };
        },
      });
    this.core = new ReleaseCore({ store: guard(this.record(this.store)), kv: guard(this.kv), clock: this.sim.clock, waitUntil: (work) => void work.catch(() => {}), sealer: SEALER });
  }

  /** Its storage lost (a new object after a migration or a deletion): only KV's mirror remembers the numbering. */
  wipe(): void {
    this.store = new MemoryReleaseStore();
    this.restart();
  }

  /** A call from `colo` (RTT), through the faults in force when it arrives. */
  async call<T>(colo: { name: string; rttMs: number }, what: string, run: (core: ReleaseCore) => Promise<T>): Promise<T> {
    if (what === "beacon") (this.calls.get(colo.name) ?? this.calls.set(colo.name, []).get(colo.name)!).push(this.sim.now);
    const generation = this.generation;
    await this.sim.sleep(colo.rttMs / 2 + (this.sim.now < this.slowUntil ? this.slowMs : 0));
    if (this.sim.now < this.hangUntil) return new Promise<T>(() => {});
    if (this.sim.now < this.throwUntil) throw new Error("the authority threw");
    const result = await run(this.core);
    await this.sim.sleep(colo.rttMs / 2);
    if (generation !== this.generation) throw new Error("the Durable Object was reset");
    return result;
  }

  client(colo: Colo): AuthorityClient {
    return { beacon: (report) => this.call(colo, "beacon", (core) => core.beacon(report)), document: () => this.call(colo, "document", (core) => core.document()) };
  }
}

/** A valid rules document for the simulated origins. */
function baseRules(random: Random): Rules {
  const parsed = parseRulesText(
    JSON.stringify({
      stable: "blue",
      origins: { blue: { url: "https://blue.example" }, green: { url: "https://green.example" } },
      rollout: { id: `r${Math.floor(random.next() * 1000)}`, percent: Math.floor(random.next() * 5) * 25 },
      rules: random.next() < 0.5 ? [{ name: "beta", when: { header: { name: "x-tier", values: ["beta"] } }, serve: "canary" }] : [],
    }),
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.rules;
}

/** A random v4 UUID from the schedule's own random source (replays are exact). */
function uuid(random: Random): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random.next() * 16).toString(16)).join("");
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[Math.floor(random.next() * 4)]}${hex(3)}-${hex(12)}`;
}

export interface ScheduleResult {
  checker: Checker;
  authorityCalls: Map<string, number[]>;
  colos: Colo[];
  faults: string[];
}

/** Runs schedule `index` of `seed`: same numbers, same run. */
export async function runSchedule(seed: number, index: number, options: Options = {}): Promise<ScheduleResult> {
  const random = seeded(seed, index);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random.next() * items.length)]!;
  const between = (a: number, b: number) => a + random.next() * (b - a);
  const sim = new Scheduler();
  const central = new KvCentral();
  const checker = new Checker(sim);
  const faults: string[] = [];

  // The authority's own location and view of KV, and every read it makes traced (which raw put did it see?).
  // A read begun by an instance that was reset before it returned was never judged by anyone: only the live instance's reads count as seen.
  const authorityKv = new KvReplica("AUTH", sim, central, random, between(0, 60_000), (entry, startedAt) => startedAt >= authority.restartedAt && checker.authoritySaw(entry));
  const authority = new Authority(sim, authorityKv, (store) => checker.recording(store));
  const operatorKv = new KvReplica("API", sim, central, random, 0); // wrangler's REST API: the central store, no cache

  // Colos: a few busy, some quiet (one visitor every 2 s), each with its own KV lag, Cache API and 1-4 isolates.
  const colos: Colo[] = Array.from({ length: 2 + Math.floor(random.next() * 4) }, (_, i) => {
    const name = `C${i}`;
    const colo: Colo = {
      name,
      rttMs: between(20, 300),
      rate: random.next() < 0.35 ? 0.5 : between(2, 6),
      kv: new KvReplica(name, sim, central, random, between(0, 60_000)),
      cache: new ColoCacheModel(sim, random, (url) => checker.colocached(colo, colo.cache.holds(), url === "" || colo.cache.lostNamed())),
      isolates: [],
    };
    return colo;
  });
  let isolates = 0;
  const newIsolate = (colo: Colo): Isolate => {
    const isolate: Isolate = {
      id: `${colo.name}.i${isolates++}`,
      colo,
      cache: new RulesCache(async () => colo.cache),
      sources: {
        kv: colo.kv,
        authority: authority.client(colo),
        clock: sim.clock,
        rulesTtlMs: pick([1_000, 5_000, 5_000, 60_000]),
        fallbackOrigin: FALLBACK,
        fallbackColour: "blue",
        services: [],
        secret: SECRET,
        sealer: SEALER,
      },
      started: false,
    };
    colo.isolates.push(isolate);
    return isolate;
  };
  for (const colo of colos) for (let n = 1 + Math.floor(random.next() * 4); n > 0; n--) newIsolate(colo);

  // The starting document: taken over from KV on first use (as `npm start` seeds it), or already committed.
  const seedText = storedRulesText(baseRules(random));
  if (random.next() < 0.5) central.map.set(RULES_KEY, { value: seedText, metadata: null, writtenAt: 0, writer: "seed" });
  else sim.after(0, () => void authority.core.replace({ actor: "setup" }, JSON.parse(seedText)).catch(() => {}));

  // Visitors: Poisson arrivals per colo; each picks a live isolate. Isolates start and die.
  const visit = async (colo: Colo) => {
    const isolate = pick(colo.isolates);
    const first = !isolate.cache.started(); // no rules at all yet: the only requests that may wait
    isolate.started = true;
    const started = sim.now;
    const got = isolate.cache.activeRules(isolate.sources, (work) => void work.catch(() => {}), colo.name);
    const active = got instanceof Promise ? await got : got;
    checker.routed(isolate, active, sim.now - started, first);
  };
  for (const colo of colos) {
    for (let t = between(0, 1000 / colo.rate); t < DURATION_MS + SETTLE_MS; t += -Math.log(1 - random.next()) * (1000 / colo.rate)) {
      sim.after(t, () => void visit(colo).catch((error) => checker.fail("crash", `a visitor's request threw: ${error}`)));
    }
    for (let t = between(2_000, 60_000); t < DURATION_MS; t += between(5_000, 60_000)) {
      sim.after(t, () => {
        const dying = pick(colo.isolates);
        colo.isolates = colo.isolates.filter((isolate) => isolate !== dying);
        newIsolate(colo);
      });
    }
  }

  // The authority's faults, and a colo's Cache API losing its entries.
  if (!options.calm) {
    for (const kind of ["slow", "throw", "hang", "restart", "flush", "evict", "slow-cache", "kv-down", "wipe"] as const) {
      if (random.next() > 0.3) continue;
      const at = between(0, DURATION_MS);
      const until = at + between(1_000, 8_000);
      faults.push(`${kind}@${Math.round(at)}`);
      sim.after(at, () => {
        if (kind === "slow") [authority.slowUntil, authority.slowMs] = [until, between(300, 1_500)];
        if (kind === "throw") authority.throwUntil = until;
        if (kind === "hang") authority.hangUntil = until;
        if (kind === "restart") authority.restart();
        if (kind === "wipe" && Number(authority.store.fact("mirrored") ?? 0) === authority.store.head()) {
          authority.wipe(); // a migration: KV has its last revision
          if (random.next() < 0.5) authorityKv.downUntil = Math.max(authorityKv.downUntil, at + between(500, 3_000)); // …during a KV outage
        }
        if (kind === "kv-down") authorityKv.downUntil = until;
        if (kind === "flush") pick(colos).cache.flush();
        if (kind === "evict") pick(colos).cache.evictOne(random);
        if (kind === "slow-cache") {
          const colo = pick(colos);
          colo.cache.slowUntil = until;
          checker.slowCache(colo, at, until);
        }
      });
    }
  }

  // Operators on every path, at random times; each acknowledged write is checked against the history.
  const via = () => pick(pick(colos).isolates);
  const handOver = async <T>(isolate: Isolate, run: (core: ReleaseCore) => Promise<Outcome<T>>): Promise<Outcome<T>> => {
    const outcome = await authority.call(isolate.colo, "write", run);
    const revision = outcome.ok ? (outcome.body as { revision?: number; unchanged?: boolean }) : undefined;
    if (revision?.revision && !revision.unchanged) {
      // The operator waits for this, no visitor does; when the authority cannot be reached right after the write, the beacon brings it.
      if (await isolate.cache.learn(revision.revision, isolate.sources, isolate.colo.name)) checker.handedOver(isolate, revision.revision);
      else checker.note(`${isolate.id} could not fetch revision ${revision.revision} after handing it over`);
    }
    return outcome;
  };
  /** A write answered "now revision N": checked at the end against what the writer asked for (its action, its name). */
  const acked = (path: Ack["path"], asked: { action: string; by: string }, outcome: Outcome<Written>, extra: Partial<Ack> = {}) => {
    if (outcome.ok && !outcome.body.unchanged) checker.acknowledged({ path, revision: outcome.body.revision, ...asked, at: sim.now, ...extra });
  };
  const edit = (live: Rules): { action: "ramp" | "promote" | "revert"; input: object } => {
    const roll = random.next();
    if (roll < 0.45) return { action: "ramp", input: { percent: pick([0, 1, 5, 25, 50, 100]), ...(random.next() < 0.2 ? { rolloutId: `r${Math.floor(random.next() * 1000)}` } : {}) } };
    if (roll < 0.6 && live.rollout.percent > 0) return { action: "promote", input: {} };
    return { action: "revert", input: { reason: "errors" } };
  };
  const live = async () => (await authority.core.read()).rules ?? baseRules(random);

  const writers = {
    /** The admin API (curl, the CLI with --url): through an edge isolate; If-Match from an earlier read, sometimes. */
    api: async () => {
      const isolate = via();
      const seen = await authority.call(isolate.colo, "read", (core) => core.read()).catch(() => null);
      await sim.sleep(between(0, 3_000));
      const { action, input } = edit(seen?.rules ?? (await live()));
      const caller = { actor: "api", ...(seen && random.next() < 0.5 ? { ifMatch: seen.revision } : {}) };
      // Sometimes a whole document (PUT /rules, `rules set`), the only write that needs no document to edit.
      const whole = random.next() < 0.25 ? ramp(seen?.rules ?? baseRules(random), pick([0, 5, 50])) : undefined;
      const outcome = await handOver(isolate, (core) => (whole ? core.replace(caller, JSON.parse(JSON.stringify(whole))) : core[action](caller, input)));
      acked("api", { action: whole ? "replace" : action, by: "api" }, outcome, caller.ifMatch === undefined ? {} : { base: caller.ifMatch });
    },
    /** A dashboard tab: rendered, then submitted seconds later; ramp and promote carry the rendered revision. */
    dashboard: async () => {
      const isolate = via();
      const page = await authority.call(isolate.colo, "read", (core) => core.read());
      await sim.sleep(between(500, 15_000));
      const { action, input } = edit(page.rules ?? (await live()));
      const caller = action === "revert" ? { actor: "dashboard" } : { actor: "dashboard", ifMatch: page.revision };
      const outcome = await handOver(isolate, (core) => core[action](caller, input));
      acked("dashboard", { action, by: "dashboard" }, outcome, action === "revert" ? {} : { base: page.revision });
    },
    /** The CLI over wrangler: its real intent put in KV, then delivered through an edge isolate; an answer is sometimes lost, and asked for again. */
    cli: async () => {
      const isolate = via();
      const seen = await live();
      const { action, input } = edit(seen);
      const intent = uuid(random);
      const by = `intent ${intent.slice(0, 8)}`;
      const id = await putIntent(operatorKv, { action, input, by }, sim.now, intent);
      const post = async (url: string) => {
        const outcome = await handOver(isolate, (core) => core.applyIntent(url.split("/").pop()!));
        if (random.next() < 0.15) {
          await sim.sleep(between(1_000, 10_000)); // the answer was lost: the CLI's request times out, and it asks again
          throw new TypeError("fetch failed: the answer was lost");
        }
        return new Response(JSON.stringify(outcome.body), { status: outcome.ok ? 200 : outcome.status });
      };
      const outcome = await deliver(`https://site.example/__canary/intents/${id}`, post, (ms) => sim.sleep(ms)).catch((error) => ({ ok: false as const, status: 500 as const, body: { error: "crash", message: String(error) } }));
      acked("cli", { action, by: `${by} (wrangler)` }, outcome, { intent: id });
    },
    /**
     * A raw `wrangler kv key put rules`: a new document; a stale writer's (built from an older head,
     * numbered as if it came next); an older revision's bytes (numbered or not); a copied or forged
     * mark of the authority; one the edge would refuse; or the head's own bytes.
     */
    raw: async () => {
      const head = authority.store.head();
      const older = Math.max(1, head - 1 - Math.floor(random.next() * 3));
      const olderRules = parsed(authority.store.text(older)) ?? baseRules(random);
      const roll = random.next();
      let value: string;
      let metadata: unknown = null;
      if (roll < 0.25) value = storedRulesText(ramp(await live(), pick([0, 10, 100])));
      else if (roll < 0.45) {
        value = storedRulesText(ramp(olderRules, pick([10, 50, 100])));
        metadata = { revision: head + pick([0, 1]), updatedBy: "late cli" };
      } else if (roll < 0.6 && head > 1) {
        value = authority.store.text(older) ?? seedText;
        if (random.next() < 0.5) metadata = { revision: older, updatedBy: "late cli" };
      } else if (roll < 0.75) {
        value = storedRulesText(ramp(olderRules, 100));
        metadata = { revision: head + pick([0, 1, 5]), authority: true, ...(random.next() < 0.5 ? { seal: "copied.from-elsewhere=" } : {}) };
      } else if (roll < 0.88) value = JSON.stringify({ stable: "purple" });
      else value = authority.store.text(head) ?? seedText;
      await operatorKv.put(RULES_KEY, value, { metadata });
      checker.rawPut(central.map.get(RULES_KEY)!);
    },
    /** A plan step the rollout engine decided on the revision it read. */
    step: async () => {
      const seen = await authority.call({ name: "AUTH", rttMs: 2 }, "read", (core) => core.read());
      if (!seen.rules) return;
      await sim.sleep(between(0, 500));
      const outcome = await authority.call({ name: "AUTH", rttMs: 2 }, "write", (core) => core.commit(ramp(seen.rules!, pick([1, 5, 25, 100])), { action: "rollout-step", by: ENGINE }, seen.revision));
      acked("step", { action: "rollout-step", by: ENGINE }, outcome, { base: seen.revision });
    },
    /** An automatic rollback: a revert of the revision it judged, tried again a window later when the rules moved on. */
    rollback: async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const seen = await authority.call({ name: "AUTH", rttMs: 2 }, "read", (core) => core.read()).catch(() => null);
        if (seen?.rules) {
          await sim.sleep(between(0, 300));
          const outcome = await authority.call({ name: "AUTH", rttMs: 2 }, "write", (core) => core.commit(revert(seen.rules!), { action: "auto-rollback", by: ENGINE }, seen.revision)).catch(() => null);
          if (outcome) acked("auto-rollback", { action: "auto-rollback", by: ENGINE }, outcome, { base: seen.revision });
          if (outcome?.ok) return;
        }
        await sim.sleep(10_000);
      }
    },
  };
  const paths = Object.keys(writers) as (keyof typeof writers)[];
  for (let n = 4 + Math.floor(random.next() * 9); n > 0; n--) {
    const path = pick(paths);
    sim.after(between(500, DURATION_MS), () => void writers[path]().catch((error) => checker.note(`${path} write failed: ${error}`)));
  }

  await sim.runUntil(DURATION_MS + SETTLE_MS);
  await checker.finish(authority.store);
  return { checker, authorityCalls: authority.calls, colos, faults };
}

export type { KvEntry, HistoryEntry };
