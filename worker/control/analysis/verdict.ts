import { type AnalysisSettings, DEFAULT_ANALYSIS, otherColour, type Rules } from "../../core/rules.ts";
import { type Health, type HealthSummary, summarize } from "../../core/analysis/health.ts";
import { healthBetween, type Slot } from "../../core/analysis/windows.ts";

/**
 * The canary analysis proper, with no I/O: one window's health of the canary and of stable in,
 * a verdict with its numbers out. Everything that rolls back or advances a plan starts here.
 */

export type VerdictKind = "healthy" | "failing" | "not-enough-data";

export interface Verdict {
  verdict: VerdictKind;
  canary: HealthSummary;
  stable: HealthSummary;
  /** Each threshold the canary broke, with the numbers: "error rate 42.0% (21 of 50) > 5%". */
  failures: string[];
}

/** A verdict on one analysis window, [start, end) in ms since the epoch. */
export interface WindowReport extends Verdict {
  start: number;
  end: number;
}

/** One window's verdict for the live rollout: its canary against its stable, summed from the stored slots. */
export function judgeWindow(slots: Map<number, Slot>, rules: Rules, start: number, windowMs: number): WindowReport {
  const health = healthBetween(slots, rules.rollout.id, start, start + windowMs);
  const settings = rules.rollout.analysis ?? DEFAULT_ANALYSIS;
  return { start, end: start + windowMs, ...judge(health[otherColour(rules.stable)], health[rules.stable], settings) };
}

/**
 * Too few canary requests is never a failure (no flapping on noise). Comparisons with stable are
 * made only when stable also had enough requests in the same window; otherwise the absolute
 * thresholds decide alone.
 */
export function judge(canary: Health, stable: Health, settings: AnalysisSettings): Verdict {
  const summaries = { canary: summarize(canary), stable: summarize(stable) };
  if (canary.requests < settings.minRequests) return { verdict: "not-enough-data", ...summaries, failures: [] };

  const failures: string[] = [];
  const comparable = stable.requests >= settings.minRequests;
  const rate = percentOf(canary.errors, canary.requests);
  const stableRate = percentOf(stable.errors, stable.requests);
  if (rate > settings.maxErrorRate) {
    failures.push(`error rate ${show(rate)}% (${canary.errors} of ${canary.requests}) > ${settings.maxErrorRate}%`);
  }
  const above = settings.maxErrorRateAboveStable;
  if (comparable && above !== undefined && rate - stableRate > above) {
    failures.push(`error rate ${show(rate)}% > stable ${show(stableRate)}% + ${above} points`);
  }
  for (const [name, maxMs, maxRatio] of [
    ["p95", settings.maxP95Ms, settings.maxP95Ratio],
    ["p99", settings.maxP99Ms, settings.maxP99Ratio],
  ] as const) {
    const value = summaries.canary[name]!;
    const stableValue = summaries.stable[name];
    if (maxMs !== undefined && value > maxMs) failures.push(`${name} ${value} ms > ${maxMs} ms`);
    if (comparable && maxRatio !== undefined && stableValue !== null && value > maxRatio * stableValue) {
      failures.push(`${name} ${value} ms > ${maxRatio} × stable ${name} ${stableValue} ms`);
    }
  }
  return { verdict: failures.length > 0 ? "failing" : "healthy", ...summaries, failures };
}

function percentOf(part: number, whole: number): number {
  return whole === 0 ? 0 : (part / whole) * 100;
}

function show(percent: number): string {
  return percent.toFixed(1);
}
