// The release path's invariants (docs/operating.md, "One writer, heard everywhere"), checked on every routed request and at the end of a schedule.
import { fingerprint } from "../../worker/core/release.ts";
import { checkRulesText } from "../../worker/core/rules-check.ts";
import { parseRulesText } from "../../worker/core/rules.ts";
import type { HistoryEntry, ReleaseStore } from "../../worker/control/release/store.ts";
import type { ActiveRules } from "../../worker/edge/rules-cache.ts";
import type { KvEntry, Scheduler } from "./world.ts";

/** What the checker needs to know of a simulated colo and isolate. */
interface Colo {
  name: string;
  rate: number;
}
interface Isolate {
  id: string;
  colo: Colo;
}

/** An isolate looks at its colo's cache every 500 ms (rules-cache.ts); a look takes a few cache reads. */
export const COLO_BOUND_MS = 500 + 60;
/** A visitor's request waits for colo-local work only: a couple of Cache API reads (at most LOOK_WAIT_MS when the Cache API is slow). */
export const LOCAL_WAIT_MS = 10;
const LOOK_WAIT_MS = 50;
/** An isolate's first request: the 2 s deadline, then one colo-local look. */
const FIRST_WAIT_MS = 2_000 + LOOK_WAIT_MS + 10;
const REVERTS = new Set(["revert", "auto-rollback", "rollout-abort"]);

export interface Ack {
  path: "api" | "dashboard" | "cli" | "step" | "auto-rollback";
  revision: number;
  action: string;
  by: string;
  at: number;
  /** The revision the writer decided on (a dashboard form, a plan step, an automatic rollback). */
  base?: number;
  intent?: string;
}

export interface Violation {
  invariant: string;
  message: string;
  at: number;
}

interface Commit {
  revision: number;
  /** The head it was committed on (the compare-and-swap's expected revision). */
  expected: number;
  text: string;
  entry: HistoryEntry;
  at: number;
}

export class Checker {
  readonly violations: Violation[] = [];
  readonly notes: string[] = [];
  readonly commits = new Map<number, Commit>();
  readonly acks: Ack[] = [];
  /** Per request: colo, time, position, wait, first of its isolate. */
  readonly routes: { colo: string; at: number; position: number; waited: number; first: boolean; quiet: boolean }[] = [];
  readonly #rawPuts: KvEntry[] = [];
  readonly #seen = new Map<KvEntry, number>();
  readonly #refusals: { at: number; why: string }[] = [];
  /** The revision a new authority took over from its predecessor's mirror (its history starts there). */
  #restoredAt = 0;
  readonly #slow = new Map<string, { from: number; until: number }[]>();
  readonly #routed = new Map<Isolate, number>();
  readonly #checked = new Map<Isolate, number>();
  readonly #writer = new Map<Isolate, number>();
  readonly #dips: { colo: string; from: number; to: number; at: number }[] = [];
  /** Per colo: the revision its Cache API holds for its isolates (its beacon names it and it holds its document), and since when. */
  readonly #carried = new Map<string, { revision: number; at: number; byPut?: boolean }[]>();
  readonly #sim: Scheduler;

  constructor(sim: Scheduler) {
    this.#sim = sim;
  }

  fail(invariant: string, message: string): void {
    this.violations.push({ invariant, message, at: this.#sim.now });
  }

  note(message: string): void {
    this.notes.push(message);
  }

  /** The authority's store, with every commit and refusal written down as it happens. */
  recording(store: ReleaseStore): ReleaseStore {
    return new Proxy(store, {
      get: (target, name) => {
        if (name === "append") {
          return (expected: number, text: string, entry: HistoryEntry, intent?: { id: string; outcome: string; at: number }) => {
            const ok = target.append(expected, text, entry, intent);
            const restored = this.commits.get(entry.revision)?.text === text && expected === 0; // a new authority taking over its predecessor's mirror
            if (ok && restored) this.#restoredAt = Math.max(this.#restoredAt, entry.revision);
            if (ok && !restored) {
              if (this.commits.has(entry.revision)) this.fail("history", `revision ${entry.revision} was committed twice`);
              if ([...this.commits.keys()].some((revision) => revision >= entry.revision)) this.fail("history", `revision ${entry.revision} was committed after a higher one`);
              this.commits.set(entry.revision, { revision: entry.revision, expected, text, entry, at: this.#sim.now });
            }
            return ok;
          };
        }
        if (name === "setFact") {
          return (key: string, value: string | null) => {
            if (key === "kvRefused" && value !== null) this.#refusals.push({ at: this.#sim.now, why: value });
            target.setFact(key, value);
          };
        }
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  /** The colo's Cache API answers slowly from `from` to `until`: invariant 3 holds only where it answers within 50 ms. */
  slowCache(colo: Colo, from: number, until: number): void {
    (this.#slow.get(colo.name) ?? this.#slow.set(colo.name, []).get(colo.name)!).push({ from, until });
  }

  authoritySaw(entry: KvEntry | null): void {
    if (entry && !this.#seen.has(entry)) this.#seen.set(entry, this.#sim.now);
  }

  rawPut(entry: KvEntry): void {
    this.#rawPuts.push(entry);
  }

  /** The colo's Cache API changed: what it now holds for its isolates (a beacon and the document it names; a flush loses both). */
  colocached(colo: Colo, holds: number, lost: boolean): void {
    const list = this.#carried.get(colo.name) ?? this.#carried.set(colo.name, []).get(colo.name)!;
    const before = list.at(-1)?.revision ?? 0;
    // Only the platform losing entries takes a colo back; an isolate's put never does (two isolates racing to share must not),
    // as long as the Cache API answers within 50 ms (a slow put can land after a newer one: invariant 3's condition).
    const now = this.#sim.now;
    const slow = (this.#slow.get(colo.name) ?? []).some((w) => now >= w.from && now <= w.until + COLO_BOUND_MS);
    // Two isolates putting the beacon back after the colo lost it can cross; the newer one puts it again at once. A dip longer than a look's wait is a violation.
    if (holds < before && !lost && !slow) this.#dips.push({ colo: colo.name, from: before, to: holds, at: now });
    if (holds !== before) list.push({ revision: holds, at: this.#sim.now, byPut: !lost });
  }

  handedOver(isolate: Isolate, revision: number): void {
    this.#writer.set(isolate, Math.max(revision, this.#writer.get(isolate) ?? 0));
  }

  acknowledged(ack: Ack): void {
    this.acks.push(ack);
  }

  /** One visitor's request, as the isolate routed it. */
  routed(isolate: Isolate, active: ActiveRules, waited: number, first: boolean): void {
    const now = this.#sim.now;
    const position = active.source === "fallback" ? 0 : (active.revision ?? 0);
    const where = `${isolate.id} at ${Math.round(now)} ms`;
    this.routes.push({ colo: isolate.colo.name, at: now, position, waited, first, quiet: isolate.colo.rate < 1 });
    if (position > 0 && this.#checked.get(isolate) !== position) {
      const commit = this.commits.get(position);
      if (!commit) this.fail("order", `${where} routes revision ${position}, which the authority never committed`);
      else {
        const expected = checkRulesText(commit.text);
        if (!expected.ok || JSON.stringify(expected.rules) !== JSON.stringify(active.compiled.rules)) this.fail("order", `${where} routes a document as revision ${position} that is not revision ${position}`);
      }
      this.#checked.set(isolate, position);
    }
    const before = this.#routed.get(isolate) ?? 0;
    if (position < before) this.fail("monotone", `${where} routes revision ${position} after revision ${before}`);
    this.#routed.set(isolate, Math.max(before, position));
    const handed = this.#writer.get(isolate) ?? 0;
    if (position < handed) this.fail("writer", `${where} routes revision ${position} after handing over the write that made revision ${handed}`);
    const floor = this.#heldThrough(isolate.colo.name, now - COLO_BOUND_MS, now);
    const slow = (this.#slow.get(isolate.colo.name) ?? []).some((w) => now >= w.from && now <= w.until + COLO_BOUND_MS);
    if (position < floor && !slow) this.fail("colo", `${where} routes revision ${position}, ${COLO_BOUND_MS} ms after its colo's cache named revision ${floor}`);
    if (!first && waited > (slow ? LOOK_WAIT_MS + 5 : LOCAL_WAIT_MS)) this.fail("no-wait", `${where}: a visitor waited ${Math.round(waited)} ms (not the isolate's first request)`);
    if (first && waited > FIRST_WAIT_MS) this.fail("no-wait", `${where}: an isolate's first request waited ${Math.round(waited)} ms`);
  }

  /** The newest revision the colo's cache named all the time from `from` to `to` (a flush in between: 0). */
  #heldThrough(colo: string, from: number, to: number): number {
    const steps = this.#carried.get(colo) ?? [];
    let held = 0;
    steps.forEach((step, i) => {
      if (this.#healed(steps, i)) return; // a put that crossed another for a moment: not what the colo held
      if (step.at <= from) held = step.revision;
      else if (step.at <= to) held = Math.min(held, step.revision);
    });
    return held;
  }

  /** Whether step `i` is a dip by an isolate's put that a later step undid within a look's wait. */
  #healed(steps: { revision: number; at: number; byPut?: boolean }[], i: number): boolean {
    const step = steps[i]!;
    const before = steps[i - 1]?.revision ?? 0;
    if (!step.byPut || step.revision >= before) return false;
    return steps.slice(i + 1).some((later) => later.at - step.at <= LOOK_WAIT_MS && later.revision >= before);
  }

  /** What can only be judged once the schedule is over: the history against what was acknowledged, and every raw put. */
  async finish(store: ReleaseStore): Promise<void> {
    for (const dip of this.#dips) {
      const steps = this.#carried.get(dip.colo) ?? [];
      const i = steps.findIndex((step) => step.at === dip.at && step.revision === dip.to);
      if (i >= 0 && !this.#healed(steps, i)) this.fail("colo", `${dip.colo}'s cache went back from revision ${dip.from} to ${dip.to} on an isolate's put, for longer than ${LOOK_WAIT_MS} ms`);
    }
    const revisions = new Set<string>();
    for (const ack of this.acks) {
      const key = `${ack.revision}`;
      const commit = this.commits.get(ack.revision);
      if (!commit) this.fail("history", `${ack.path} was told revision ${ack.revision}, which was never committed`);
      else if (commit.entry.action !== ack.action || commit.entry.updatedBy !== ack.by) {
        this.fail("history", `${ack.path} was told revision ${ack.revision} (${ack.action} by ${ack.by}), but it is ${commit.entry.action} by ${commit.entry.updatedBy}`);
      }
      if (revisions.has(key) && !ack.intent) this.fail("history", `two writes were told revision ${ack.revision}`);
      revisions.add(key);
      if (ack.base !== undefined && commit && commit.expected !== ack.base) this.fail("based", `${ack.path} decided on revision ${ack.base} but was committed on ${commit.expected} (as ${ack.revision}): it ran on rules it had not seen`);
    }
    const byWriter = new Map<string, number>();
    for (const commit of this.commits.values()) byWriter.set(commit.entry.updatedBy ?? "", (byWriter.get(commit.entry.updatedBy ?? "") ?? 0) + 1);
    for (const [writer, count] of byWriter) if (writer.startsWith("intent ") && count > 1) this.fail("history", `the CLI intent of ${writer} was carried out ${count} times`);
    const kept = store.history();
    for (const entry of kept) {
      const commit = this.commits.get(entry.revision);
      if (commit && entry.revision > this.#restoredAt && JSON.stringify(commit.entry) !== JSON.stringify(entry)) this.fail("history", `the history's revision ${entry.revision} is not what was committed`);
    }
    for (const put of this.#rawPuts) {
      const seen = this.#seen.get(put);
      if (seen === undefined) continue; // overwritten before the authority read it: KV has no compare-and-swap (docs/operating.md)
      const commits = [...this.commits.values()];
      const adopted = commits.some((commit) => commit.at >= seen && (commit.entry.action === "kv-put" || commit.entry.action === "import") && sameDocument(commit.text, put.value));
      const digest = fingerprint(put.value);
      const refused = this.#refusals.some((refusal) => refusal.at >= seen && refusal.why.includes(digest));
      const headThen = commits.filter((commit) => commit.at <= seen).at(-1);
      const already = headThen !== undefined && sameDocument(headThen.text, put.value) && !(put.metadata as { authority?: true } | null)?.authority; // the same document as the head: nothing to adopt
      if (!adopted && !refused && !already) this.fail("raw-put", `a raw put the authority read at ${Math.round(seen)} ms (${digest}) was neither adopted nor refused`);
    }
  }

  /** Per revert: how long after its acknowledgement each busy colo last routed below it (null: never got there). */
  revertReach(endAt: number): { ms: number | null; colo: string }[] {
    const out: { ms: number | null; colo: string }[] = [];
    for (const commit of this.commits.values()) {
      if (!REVERTS.has(commit.entry.action ?? "") || commit.at > endAt - 8_000) continue;
      const colos = new Set(this.routes.filter((r) => !r.quiet).map((r) => r.colo));
      for (const colo of colos) {
        const after = this.routes.filter((r) => r.colo === colo && r.at >= commit.at);
        if (!after.length) continue;
        const stale = after.filter((r) => r.position < commit.revision);
        const reached = after.some((r) => r.position >= commit.revision);
        out.push({ colo, ms: !reached ? null : stale.length ? stale.at(-1)!.at - commit.at : 0 });
      }
    }
    return out;
  }
}

/** Two texts that are the same rules document (a raw put is adopted in the authority's stored form). */
function sameDocument(a: string, b: string): boolean {
  const x = parseRulesText(a);
  const y = parseRulesText(b);
  return x.ok && y.ok && JSON.stringify(x.rules) === JSON.stringify(y.rules);
}
