import { type AnalysisSettings, type Colour, DEFAULT_ANALYSIS, maxErrorRateOf, otherColour, type Rules } from "../../core/rules.ts";
import { type Health, type HealthSummary, summarize } from "../../core/analysis/health.ts";
import { healthBetween, type Slot } from "../../core/analysis/windows.ts";
import { addEvidence, type Evidence, type Metric, noEvidence, score, threshold, type Track } from "./evidence.ts";

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
  /** The sequential test's evidence after this window (method "sequential"). */
  evidence: Evidence;
  /** The sequential test is sure the canary is worse than stable: roll back now, whatever the streak. */
  conclusive: boolean;
}

/** A verdict on one analysis window, [start, end) in ms since the epoch. */
export interface WindowReport extends Verdict {
  start: number;
  end: number;
  /** Which colour was the canary, and its share of visitors, when the window was judged (for the chart). */
  canaryColour: Colour;
  percent: number;
  /** Requests sent by the tester override cookie: shown, never judged. */
  testers: { canary: HealthSummary; stable: HealthSummary };
  /** Skew fallbacks (an open page's asset asked of the other colour), by the colour asked: shown, never judged. Absent in windows judged before them. */
  skew?: { canary: HealthSummary; stable: HealthSummary };
}

/**
 * The verdicts of consecutive windows for the live rollout, each its canary against its stable,
 * summed from the stored slots; the sequential test's evidence runs on from `evidence`.
 */
export function judgeWindows(slots: Map<number, Slot>, rules: Rules, starts: number[], windowMs: number, evidence: Evidence): WindowReport[] {
  const settings = rules.rollout.analysis ?? DEFAULT_ANALYSIS;
  const reports: WindowReport[] = [];
  const canaryColour = otherColour(rules.stable);
  for (const start of starts) {
    const health = healthBetween(slots, rules.rollout.id, start, start + windowMs);
    const testers = healthBetween(slots, rules.rollout.id, start, start + windowMs, "testers");
    const skew = healthBetween(slots, rules.rollout.id, start, start + windowMs, "skew");
    const report = {
      start,
      end: start + windowMs,
      canaryColour,
      percent: rules.rollout.percent,
      testers: { canary: summarize(testers[canaryColour]), stable: summarize(testers[rules.stable]) },
      skew: { canary: summarize(skew[canaryColour]), stable: summarize(skew[rules.stable]) },
      ...judge(health[canaryColour], health[rules.stable], settings, evidence),
    };
    evidence = report.evidence;
    reports.push(report);
  }
  return reports;
}

/**
 * Too few canary requests never fail a threshold (no flapping on noise), but they still add to the
 * sequential evidence, which can fail a window on its own. Comparisons with stable on the
 * thresholds are made only when stable also had enough requests in the same window; otherwise the
 * absolute thresholds decide alone.
 */
export function judge(canary: Health, stable: Health, settings: AnalysisSettings, before: Evidence = noEvidence()): Verdict {
  const summaries = { canary: summarize(canary), stable: summarize(stable) };
  const evidence = settings.method === "sequential" ? addEvidence(before, canary, stable, settings) : before;
  const sure = conclusiveMetrics(evidence, settings);
  const failures = sure.map((metric) => describeEvidence(metric, evidence[metric], settings));
  const conclusive = failures.length > 0;
  if (canary.requests < settings.minRequests) {
    return { verdict: conclusive ? "failing" : "not-enough-data", ...summaries, failures, evidence, conclusive };
  }

  const comparable = stable.requests >= settings.minRequests;
  const rate = percentOf(canary.errors, canary.requests);
  const stableRate = percentOf(stable.errors, stable.requests);
  const maxErrorRate = maxErrorRateOf(settings, comparable);
  if (maxErrorRate !== undefined && rate > maxErrorRate) {
    failures.push(`error rate ${show(rate)}% (${canary.errors} of ${canary.requests}) > ${maxErrorRate}%`);
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
  return { verdict: failures.length > 0 ? "failing" : "healthy", ...summaries, failures, evidence, conclusive };
}

/** The sequential tests that have reached their threshold (none when the method is thresholds alone). */
export function conclusiveMetrics(evidence: Evidence, settings: AnalysisSettings): Metric[] {
  if (settings.method !== "sequential") return [];
  const h = threshold(settings.confidence);
  return (["errors", "slow"] as const).filter((metric) => score(evidence[metric]) >= h);
}

function describeEvidence(metric: Metric, track: Track, settings: AnalysisSettings): string {
  const rate = (side: { bad: number; requests: number }) => `${show(percentOf(side.bad, side.requests))}% (${side.bad} of ${side.requests})`;
  if (metric === "errors") {
    const tolerated = settings.errorRatio === 1 ? "stable's" : `${settings.errorRatio} × stable's`;
    return `errors: canary ${rate(track.canary)} vs stable ${rate(track.stable)}, above ${tolerated} at ${settings.confidence}% confidence`;
  }
  const tolerated = settings.slowRatio === 1 ? "stable" : `${settings.slowRatio} × stable`;
  return `latency: canary ${rate(track.canary)} vs stable ${rate(track.stable)} above the median, slower than ${tolerated} at ${settings.confidence}% confidence (permutation test)`;
}

function percentOf(part: number, whole: number): number {
  return whole === 0 ? 0 : (part / whole) * 100;
}

function show(percent: number): string {
  return percent.toFixed(1);
}
