import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addOutcome, emptyHealth } from "../worker/core/analysis/health.ts";
import { addToSlot, healthBetween, MAX_CATCH_UP, nextCheck, SETTLE_MS, type Slot, SLOT_MS, windowsDue } from "../worker/core/analysis/windows.ts";

const windowMs = fc.integer({ min: 1, max: 360 }).map((n) => n * SLOT_MS);
const time = fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 });

describe("analysis windows", () => {
  it("judges only whole, settled windows after the last judged one, in order, at most MAX_CATCH_UP", () => {
    fc.assert(
      fc.property(windowMs, time, fc.integer({ min: 0, max: 100 * 3_600_000 }), (w, now, back) => {
        const judgedUntil = Math.floor((now - back) / w) * w;
        const due = windowsDue(judgedUntil, now, w);
        expect(due.length).toBeLessThanOrEqual(MAX_CATCH_UP);
        due.forEach((start, i) => {
          expect(start % w).toBe(0);
          expect(start).toBeGreaterThanOrEqual(judgedUntil);
          expect(start + w + SETTLE_MS).toBeLessThanOrEqual(now);
          if (i > 0) expect(start - due[i - 1]!).toBe(w);
        });
        const settledEnd = Math.floor((now - SETTLE_MS) / w) * w;
        if (settledEnd > judgedUntil) expect(due.at(-1)! + w).toBe(settledEnd);
        const after = due.length ? due.at(-1)! + w : judgedUntil;
        expect(windowsDue(after, now, w)).toEqual([]);
      }),
    );
  });

  it("schedules the next check for the moment the next window has settled", () => {
    fc.assert(
      fc.property(windowMs, time, (w, now) => {
        const at = nextCheck(now, w);
        expect(at).toBeGreaterThan(now);
        const judgedUntil = Math.floor((now - SETTLE_MS) / w) * w;
        expect(windowsDue(judgedUntil, at - 1, w)).toEqual([]);
        expect(windowsDue(judgedUntil, at, w)).toEqual([at - SETTLE_MS - w]);
      }),
    );
  });

  it("sums one rollout's slots inside the window, per colour", () => {
    const health = (n: number) => {
      const h = emptyHealth();
      for (let i = 0; i < n; i++) addOutcome(h, 200, 10);
      return h;
    };
    let slots = new Map<number, Slot>();
    const add = (slot: number, rolloutId: string, colour: "blue" | "green", n: number) =>
      slots.set(slot, addToSlot(slots.get(slot) ?? {}, { slot, rolloutId, colour, health: health(n) }));
    add(0, "r1", "blue", 1);
    add(10_000, "r1", "blue", 2);
    add(10_000, "r1", "blue", 4); // a second isolate's batch for the same slot
    add(10_000, "r1", "green", 3);
    add(10_000, "r2", "green", 100);
    add(60_000, "r1", "green", 50);
    slots.set(10_000, addToSlot(slots.get(10_000)!, { slot: 10_000, rolloutId: "r1", colour: "green", tester: true, health: health(9) }));
    const window = healthBetween(slots, "r1", 0, 60_000);
    expect(window.blue.requests).toBe(7);
    expect(window.green.requests).toBe(3); // testers apart: never in the judged counts
    const testers = healthBetween(slots, "r1", 0, 60_000, "testers");
    expect([testers.green.requests, testers.blue.requests]).toEqual([9, 0]);
    slots = new Map();
    expect(healthBetween(slots, "r1", 0, 60_000).blue).toEqual(emptyHealth());
  });
});
