import type { Colour } from "../rules.ts";
import { emptyHealth, type Health, mergeHealth } from "./health.ts";

/**
 * Time arithmetic of the analysis. Health is stored in 10-second slots stamped by the isolate that
 * saw the requests; an analysis window (any multiple of 10 s, aligned to the clock) is the sum of
 * its slots, so changing the window length never needs the stored data rewritten.
 */

export const SLOT_MS = 10_000;
/** Isolates flush every few seconds: a window is judged this long after it ended, once its batches are in. */
export const SETTLE_MS = 10_000;
/** After a quiet spell, at most this many past windows are judged at once. */
export const MAX_CATCH_UP = 10;

/** Health per colour. */
export type ByColour = Partial<Record<Colour, Health>>;

/**
 * One rollout's health in a slot: visitors per colour; testers (sent by the override cookie) apart,
 * never judged; and skew fallbacks apart, never judged: asset requests the visitor's colour answered
 * 404 that were asked of the other colour, by the colour asked (edge/skew.ts).
 */
export type RolloutHealth = ByColour & { testers?: ByColour; skew?: ByColour };

/** One slot's health: per rollout id (a new cohort starts from nothing), per colour. */
export type Slot = Record<string, RolloutHealth>;

/** What an isolate sends: one colour's health during one slot of one rollout, of testers or of everyone else. */
export interface SlotReport {
  slot: number;
  rolloutId: string;
  colour: Colour;
  /** Served because of a tester's override cookie: shown, but kept out of the canary's judgment. */
  tester?: boolean;
  /** Skew fallbacks asked of this colour: shown, never judged. */
  skew?: boolean;
  health: Health;
}

/** The slot a moment belongs to. */
export function slotOf(time: number): number {
  return Math.floor(time / SLOT_MS) * SLOT_MS;
}

/** Adds a report to its slot (reports from many isolates land in the same one). */
export function addToSlot(slot: Slot, report: SlotReport): Slot {
  const rollout = slot[report.rolloutId] ?? {};
  const add = (group: ByColour): ByColour => ({ ...group, [report.colour]: mergeHealth(group[report.colour] ?? emptyHealth(), report.health) });
  const next = report.tester
    ? { ...rollout, testers: add(rollout.testers ?? {}) }
    : report.skew
      ? { ...rollout, skew: add(rollout.skew ?? {}) }
      : { ...rollout, ...add(rollout) };
  return { ...slot, [report.rolloutId]: next };
}

/** The windows that have ended and settled since `judgedUntil`, oldest first (start times). */
export function windowsDue(judgedUntil: number, now: number, windowMs: number): number[] {
  const lastEnd = Math.floor((now - SETTLE_MS) / windowMs) * windowMs;
  const first = Math.max(Math.ceil(judgedUntil / windowMs) * windowMs, lastEnd - MAX_CATCH_UP * windowMs);
  const starts: number[] = [];
  for (let start = first; start + windowMs <= lastEnd; start += windowMs) starts.push(start);
  return starts;
}

/** When the next window will have ended and settled: the time of the engine's next alarm. */
export function nextCheck(now: number, windowMs: number): number {
  return Math.floor((now - SETTLE_MS) / windowMs) * windowMs + windowMs + SETTLE_MS;
}

/**
 * One rollout's health per colour from `from` (inclusive) to `to` (exclusive), summed from the slots:
 * of visitors, of testers, or of skew fallbacks. A colour seen in one slot only is that slot's own
 * count, not a copy: read it, never change it.
 */
export function healthBetween(slots: Map<number, Slot>, rolloutId: string, from: number, to: number, who: "visitors" | "testers" | "skew" = "visitors"): Record<Colour, Health> {
  let blue: Health | undefined;
  let green: Health | undefined;
  const add = (sum: Health | undefined, health: Health | undefined) => (health === undefined ? sum : sum === undefined ? health : mergeHealth(sum, health));
  for (const [time, slot] of slots) {
    if (time < from || time >= to) continue;
    const rollout = who === "visitors" ? slot[rolloutId] : slot[rolloutId]?.[who];
    blue = add(blue, rollout?.blue);
    green = add(green, rollout?.green);
  }
  return { blue: blue ?? emptyHealth(), green: green ?? emptyHealth() };
}
