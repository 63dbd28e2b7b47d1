import type { HealthSummary } from "../../worker/core/analysis/health.ts";
import { describeCall } from "../../worker/control/rollout/gate.ts";
import type { RolloutStatus } from "../../worker/control/rollout/status.ts";
import { type AnalysisSettings, maxErrorRateOf } from "../../worker/core/rules.ts";

/** Human output of the rollout engine's status: where the plan stands and how each colour is doing. */

/** The run and its plan, the analysis, the latch, and each colour's health in the last judged window and the current one. */
export function rolloutStatus(status: RolloutStatus): string[] {
  const { run, plan, analysis, lastWindow, currentWindow } = status;
  const next = run?.nextStepAfter ? ` · next step after ${run.nextStepAfter} if healthy` : "";
  const lines = [
    !run
      ? `rollout  none started${plan.length ? ` (the rules carry a ${plan.length}-step plan: rollout start)` : ""}`
      : run.status === "running" || run.status === "paused"
        ? `rollout  ${run.status} · step ${run.step} of ${run.steps} since ${run.since}${next} · ${run.note}`
        : `rollout  last run (rollout ${run.rolloutId}) ${run.status} at step ${run.step} · ${run.note === analysis.latch?.reason ? "see latch" : run.note}`,
  ];
  if (plan.length) lines.push(`plan     ${plan.map((step, i) => `${i + 1}. ${step.percent}% for ${step.dwellSeconds} s ${step.state}`).join(" → ")}`);
  lines.push(
    analysis.enabled
      ? `analysis ${thresholds(analysis.settings)} · failing streak ${analysis.failingStreak} of ${analysis.settings.failingWindows}`
      : "analysis off: the rules have no rollout.analysis (health is counted, nothing is rolled back)",
    analysis.latch
      ? `latch    rolled back at ${analysis.latch.at} (revision ${analysis.latch.revision}); nothing ramps by itself until rollout start: ${analysis.latch.reason}`
      : "latch    none",
  );
  type ByRole = { canary: HealthSummary; stable: HealthSummary };
  const apart = (group: ByRole | undefined, who: string, describe: (summary: HealthSummary) => string) =>
    (["canary", "stable"] as const)
      .filter((role) => (group?.[role].requests ?? 0) > 0)
      .map((role) => `  ${`${status[role] ?? "?"} (${who})`.padEnd(15)} ${describe(group![role])} · not judged`);
  const colours = (window: ByRole & { testers?: ByRole; skew?: ByRole }) => [
    `  ${`${status.canary ?? "?"} (canary)`.padEnd(15)} ${health(window.canary)}`,
    `  ${`${status.stable ?? "?"} (stable)`.padEnd(15)} ${health(window.stable)}`,
    ...apart(window.testers, "testers", health),
    ...apart(window.skew, "skew", fallbacks),
  ];
  if (lastWindow) {
    lines.push(`last window ${lastWindow.start} – ${lastWindow.end.slice(11)}: ${lastWindow.verdict}`, ...colours(lastWindow));
    lines.push(...lastWindow.failures.map((failure) => `  ✗ ${failure}`));
  } else {
    lines.push("last window: none judged yet");
  }
  if (currentWindow) lines.push(`this window since ${currentWindow.start}, so far:`, ...colours(currentWindow));
  for (const call of (status.gates ?? []).slice(-3)) lines.push(`gate     ${call.at} ${describeCall(call)}: ${call.go ? "go" : "no-go"}`);
  return lines;
}

/** When a window fails, in the settings' own terms. */
function thresholds(settings: AnalysisSettings): string {
  const { windowSeconds, minRequests, maxErrorRateAboveStable, failingWindows } = settings;
  const maxErrorRate = maxErrorRateOf(settings);
  const fails = maxErrorRate === undefined ? [] : [`errors > ${maxErrorRate}%`];
  if (maxErrorRateAboveStable !== undefined) fails.push(`errors > stable + ${maxErrorRateAboveStable} points`);
  const latency = [["p95", settings.maxP95Ms, settings.maxP95Ratio], ["p99", settings.maxP99Ms, settings.maxP99Ratio]] as const;
  for (const [name, ms, ratio] of latency) {
    if (ms !== undefined) fails.push(`${name} > ${ms} ms`);
    if (ratio !== undefined) fails.push(`${name} > ${ratio} × stable`);
  }
  if (settings.method !== "sequential") {
    return `${windowSeconds} s windows of ≥ ${minRequests} canary requests fail on ${fails.join(", ")}; ${failingWindows} in a row roll back`;
  }
  const sequential =
    `${windowSeconds} s windows compared with stable at ${settings.confidence}% confidence ` +
    `(errors ≤ ${settings.errorRatio} × stable's rate, latency ≤ ${settings.slowRatio} × stable's after a ${settings.warmupSeconds} s warm-up): rolls back when sure`;
  const hard = fails.length > 0 ? fails.join(", ") : `errors > ${maxErrorRateOf(settings, false)}% only while stable has fewer than ${minRequests} requests to compare with`;
  return `${sequential}; windows of ≥ ${minRequests} canary requests also fail on ${hard}; ${failingWindows} in a row roll back`;
}

/** Skew fallbacks asked of a colour: how many, and how many it could serve (an open page's asset it still had). */
function fallbacks(summary: HealthSummary): string {
  const served = (summary.classes["2xx"] ?? 0) + (summary.classes["3xx"] ?? 0);
  return `${summary.requests} asset requests asked after a 404 from the other colour, ${served} served`;
}

/** "120 requests, 0 errors (0%), p95 12 ms, p99 20 ms". */
export function health(summary: HealthSummary): string {
  const { requests, errors, errorRate, timeouts, unreachable, p95, p99, otherBuilds, otherBuildSeen } = summary;
  const errorParts = [`${errorRate}%`, timeouts && `${timeouts} timed out`, unreachable && `${unreachable} unreachable`].filter(Boolean);
  const latency = p95 === null ? "" : `, p95 ${p95} ms, p99 ${p99} ms`;
  const builds = otherBuilds ? `, ${otherBuilds} from another build (${otherBuildSeen ? `"${otherBuildSeen}"` : "none named"})` : "";
  return `${requests} requests, ${errors} errors (${errorParts.join(", ")})${latency}${builds}`;
}
