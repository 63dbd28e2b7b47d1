import { type Histogram, upperBound } from "../../core/analysis/histogram.ts";
import type { SlotReport } from "../../core/analysis/windows.ts";

/**
 * Health as Workers Analytics Engine data points, so operators can chart it where they already
 * look (the SQL API, Grafana): one point per colour, slot and rollout of every batch that reaches
 * the analysis object. Pure: the object writes what this returns, only when the binding exists.
 */

/** Latency bands of the points (upper bounds in ms; the last is everything slower): coarse, fixed, comparable over time. */
export const LATENCY_BANDS_MS = [50, 100, 250, 500, 1000, 2500, 5000, Number.POSITIVE_INFINITY] as const;

/**
 * blob1 rollout id, blob2 colour, blob3 "visitor", "tester" or "skew" (fallbacks asked of that colour, edge/skew.ts); double1 slot start (ms since the
 * epoch), double2 requests, double3 errors (5xx and timeouts), double4 timeouts, double5 unreachable,
 * double6–double13 requests per latency band. Indexed (sampled) by rollout id.
 */
export function dataPoint(report: SlotReport): AnalyticsEngineDataPoint {
  const { health } = report;
  return {
    indexes: [report.rolloutId.slice(0, 96)],
    blobs: [report.rolloutId, report.colour, report.tester ? "tester" : report.skew ? "skew" : "visitor"],
    doubles: [report.slot, health.requests, health.errors, health.timeouts, health.unreachable, ...bands(health.latency)],
  };
}

function bands(histogram: Histogram): number[] {
  const counts = LATENCY_BANDS_MS.map(() => 0);
  for (const bucket in histogram) {
    const ms = upperBound(Number(bucket));
    counts[LATENCY_BANDS_MS.findIndex((band) => ms <= band)]! += histogram[bucket]!;
  }
  return counts;
}
