import { expect, it } from "vitest";
import { HISTORY_LIMIT, type HistoryEntry, type ReleaseStore, trail } from "../../worker/control/release/store.ts";

/**
 * What every backend of the release authority's store must mean (the Durable Object's SQLite, and
 * the memory store the release simulator runs the authority on): the commit is a compare-and-swap,
 * a revision is stored with its history record (and the intent it carries out) or not at all,
 * numbers are never reused, the oldest are forgotten past HISTORY_LIMIT, and text comes back byte
 * for byte. `withStore` gives each case a fresh, empty store.
 */
export function releaseStoreConformance(withStore: (run: (store: ReleaseStore) => void) => Promise<void>): void {
  const entry = (revision: number, by = "alice"): HistoryEntry => ({ revision, updatedBy: by, action: "ramp", changes: [`rollout.percent: ${revision - 1} → ${revision}`] });

  it("starts empty", () =>
    withStore((store) => {
      expect([store.head(), store.text(1), store.entry(1), store.history(), store.fact("x"), store.intent("i")]).toEqual([0, null, null, [], null, null]);
    }));

  it("commits only on the head it was given: a writer that read an older head changes nothing", () =>
    withStore((store) => {
      expect(store.append(0, "one", entry(1))).toBe(true);
      expect(store.append(0, "other one", entry(1, "bob"))).toBe(false);
      expect(store.append(1, "two", entry(2))).toBe(true);
      expect(store.append(1, "late", entry(2, "bob"))).toBe(false);
      expect(store.append(1, "late, numbered after the head", entry(3, "bob"))).toBe(false); // the head is 2, not the 1 it read
      expect(store.head()).toBe(2);
      expect([store.text(1), store.text(2)]).toEqual(["one", "two"]);
      expect(store.history().map((e) => [e.revision, e.updatedBy])).toEqual([[2, "alice"], [1, "alice"]]);
    }));

  it("never reuses a number: a revision at or below the head is refused", () =>
    withStore((store) => {
      expect(store.append(0, "first", entry(57))).toBe(true); // an existing deployment's number is kept on import
      expect(store.append(57, "again", entry(57))).toBe(false);
      expect(store.append(57, "lower", entry(3))).toBe(false);
      expect(store.append(57, "next", entry(58))).toBe(true);
      expect(store.history().map((e) => e.revision)).toEqual([58, 57]);
    }));

  it("records the intent a commit carries out in the same commit, and not when the commit is refused", () =>
    withStore((store) => {
      expect(store.append(0, "one", entry(1), { id: "a", outcome: '{"ok":true}', at: 10 })).toBe(true);
      expect(store.append(0, "stale", entry(1), { id: "b", outcome: '{"ok":true}', at: 11 })).toBe(false);
      expect([store.intent("a"), store.intent("b")]).toEqual(['{"ok":true}', null]);
      store.recordIntent("c", '{"ok":false}', 20, 15); // records c, forgets intents older than 15
      expect([store.intent("a"), store.intent("c")]).toEqual([null, '{"ok":false}']);
    }));

  it(`keeps the newest ${HISTORY_LIMIT} revisions and their records, and forgets the older ones`, () =>
    withStore((store) => {
      for (let revision = 1; revision <= HISTORY_LIMIT + 5; revision++) expect(store.append(revision - 1, `doc ${revision}`, entry(revision))).toBe(true);
      expect(store.history()).toHaveLength(HISTORY_LIMIT);
      expect(store.history().at(-1)!.revision).toBe(6);
      expect([store.text(5), store.entry(5), store.text(6)]).toEqual([null, null, "doc 6"]);
      expect(store.history(3).map((e) => e.revision)).toEqual([HISTORY_LIMIT + 5, HISTORY_LIMIT + 4, HISTORY_LIMIT + 3]);
    }));

  it("keeps records that made no revision (a gate's call) apart: never a head, forgotten with their revision or past the limit, shown after it in the trail", () =>
    withStore((store) => {
      const note = (revision: number, reason: string): HistoryEntry => ({ revision, action: "gate", updatedBy: "ci", reason, changes: [], event: true });
      expect(store.append(0, "one", entry(1))).toBe(true);
      store.note(note(1, "a"));
      store.note(note(1, "b"));
      expect(store.append(1, "two", entry(2))).toBe(true);
      store.note(note(2, "c"));
      expect([store.head(), store.history().map((e) => e.revision)]).toEqual([2, [2, 1]]);
      expect(store.notes().map((e) => e.reason)).toEqual(["c", "b", "a"]);
      expect(trail(store.history(), store.notes()).map((e) => e.reason ?? `#${e.revision}`)).toEqual(["c", "#2", "b", "a", "#1"]);
      expect(trail(store.history(), store.notes(), 2).map((e) => e.reason ?? `#${e.revision}`)).toEqual(["c", "#2"]);
      for (let revision = 3; revision <= HISTORY_LIMIT + 1; revision++) expect(store.append(revision - 1, `doc ${revision}`, entry(revision))).toBe(true);
      expect(store.notes().map((e) => e.reason)).toEqual(["c"]); // revision 1 is forgotten, and the records made at it
      for (let n = 0; n < HISTORY_LIMIT + 3; n++) store.note(note(HISTORY_LIMIT + 1, `n${n}`));
      expect(store.notes()).toHaveLength(HISTORY_LIMIT);
      expect(store.notes(2).map((e) => e.reason)).toEqual([`n${HISTORY_LIMIT + 2}`, `n${HISTORY_LIMIT + 1}`]);
    }));

  it("stores a large document byte for byte, characters outside the BMP included", () =>
    withStore((store) => {
      const text = `{"ids":[${Array.from({ length: 80_000 }, (_, i) => `"🚀${i}ü"`).join(",")}]}`;
      expect(text.length).toBeGreaterThan(800_000);
      expect(store.append(0, text, entry(1))).toBe(true);
      expect(store.text(1)).toBe(text);
      expect(store.entry(1)).toEqual(entry(1));
    }));

  it("keeps facts, and forgets one set to null", () =>
    withStore((store) => {
      store.setFact("kvRefused", "why");
      store.setFact("mirrored", "3");
      store.setFact("kvRefused", null);
      expect([store.fact("kvRefused"), store.fact("mirrored")]).toEqual([null, "3"]);
    }));

  it("knows when each colo first reported a revision or a newer one, and which colos it heard from lately", () =>
    withStore((store) => {
      store.seen("AMS", 1, 100);
      store.seen("FRA", 1, 150);
      store.seen("AMS", 2, 300);
      store.seen("AMS", 2, 400);
      const byColo = (revision: number) => Object.fromEntries(store.arrivals(revision).map((a) => [a.colo, a.at]));
      expect(byColo(1)).toEqual({ AMS: 100, FRA: 150 });
      expect(byColo(2)).toEqual({ AMS: 300 });
      expect(store.colos(200).map((c) => [c.colo, c.revision])).toEqual([["AMS", 2]]);
      expect(store.colos(0).map((c) => c.colo)).toEqual(["AMS", "FRA"]);
    }));
}
