// What one schedule contributes to a run's figures: small enough to send between threads a million times.
import type { Violation } from "./checker.ts";
import { DURATION_MS, runSchedule } from "./schedule.ts";

export interface Summary {
  index: number;
  violations: Violation[];
  faults: string[];
  calm: boolean;
  /** Per revert and busy colo: ms from the acknowledgement until the colo last routed below it; -1: never reached it. */
  reach: number[];
  /** Waits of visitors that were not an isolate's first (quiet colos, busy colos), and of first requests. */
  quietWaits: number[];
  busyWaits: number[];
  firstWaits: number[];
  /** Per colo: beacon requests per second over the schedule, and the most in any one second. */
  beaconRate: number[];
  beaconPeak: number[];
  commits: number;
  acks: Record<string, number>;
  notes: number;
}

export async function summarise(seed: number, index: number, calm = false): Promise<Summary> {
  const { checker, authorityCalls, colos, faults } = await runSchedule(seed, index, { calm });
  const end = DURATION_MS + 8_000;
  const acks: Record<string, number> = {};
  for (const ack of checker.acks) acks[ack.path] = (acks[ack.path] ?? 0) + 1;
  const waits = (quiet: boolean) => checker.routes.filter((r) => !r.first && r.quiet === quiet).map((r) => r.waited);
  const beaconRate: number[] = [];
  const beaconPeak: number[] = [];
  for (const colo of colos) {
    const calls = authorityCalls.get(colo.name) ?? [];
    beaconRate.push(calls.length / (end / 1000));
    let peak = 0;
    for (let i = 0, j = 0; j < calls.length; j++) {
      while (calls[j]! - calls[i]! >= 1000) i++;
      peak = Math.max(peak, j - i + 1);
    }
    beaconPeak.push(peak);
  }
  return {
    index,
    violations: checker.violations.slice(0, 5),
    faults,
    calm: calm || faults.every((fault) => fault.startsWith("flush")),
    reach: checker.revertReach(end).map((r) => (r.ms === null ? -1 : Math.round(r.ms))),
    quietWaits: waits(true),
    busyWaits: waits(false),
    firstWaits: checker.routes.filter((r) => r.first).map((r) => r.waited),
    beaconRate,
    beaconPeak,
    commits: checker.commits.size,
    acks,
    notes: checker.notes.length,
  };
}
