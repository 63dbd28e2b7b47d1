import { addLatency, type Histogram, mergeHistograms, quantiles } from "./histogram.ts";

/** Why the router answered by itself instead of the origin (proxy.ts): no response headers in time, or no connection. */
export type OriginFailure = "timeout" | "unreachable";

/** How one colour's proxied requests went: counts by status class, origin failures and latency. */
export interface Health {
  requests: number;
  /** 5xx answers, including the router's own 502 (origin unreachable) and 504 (origin timed out), and stable answers past the canary's deadline. */
  errors: number;
  timeouts: number;
  unreachable: number;
  classes: Record<string, number>;
  latency: Histogram;
  /** Canary answers that named another build than the rollout's in the build header (rollout.analysis.buildHeader), and one such name ("" for none). */
  otherBuilds?: number;
  otherBuildSeen?: string;
}

/** The numbers a verdict and an operator look at. Rates are percentages; latencies in ms (null without requests). */
export interface HealthSummary {
  requests: number;
  classes: Record<string, number>;
  errors: number;
  errorRate: number;
  timeouts: number;
  unreachable: number;
  p95: number | null;
  p99: number | null;
  /** Answers from another build than the rollout's, and one build they named ("" for none); only when there were any. */
  otherBuilds?: number;
  otherBuildSeen?: string;
}

/** Nothing seen yet. */
export function emptyHealth(): Health {
  return { requests: 0, errors: 0, timeouts: 0, unreachable: 0, classes: {}, latency: {} };
}

/** Counts one response; mutates, because the isolate does this once per request. */
export function addOutcome(health: Health, status: number, latencyMs: number, failure?: OriginFailure): void {
  const statusClass = `${Math.floor(status / 100)}xx`;
  health.requests += 1;
  health.classes[statusClass] = (health.classes[statusClass] ?? 0) + 1;
  if (status >= 500 || failure) health.errors += 1; // a stable answer later than the canary's deadline is an error, as the canary's 504 would be
  if (failure === "timeout") health.timeouts += 1;
  if (failure === "unreachable") health.unreachable += 1;
  addLatency(health.latency, latencyMs);
}

/**
 * Checks a canary answer's build header against the build the rollout delivers (its id): another
 * name, or none on a 2xx answer, is counted (an error page of the platform in front of the origin
 * may not carry the app's header). Mutates, like addOutcome.
 */
export function addBuild(health: Health, status: number, build: string | null, expected: string): void {
  if (build === expected || (build === null && (status < 200 || status > 299))) return;
  health.otherBuilds = (health.otherBuilds ?? 0) + 1;
  health.otherBuildSeen ??= (build ?? "").slice(0, 64);
}

/** Two counts as one: isolates' batches into a slot, slots into a window. */
export function mergeHealth(a: Health, b: Health): Health {
  const classes = { ...a.classes };
  for (const [name, count] of Object.entries(b.classes)) classes[name] = (classes[name] ?? 0) + count;
  return {
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    timeouts: a.timeouts + b.timeouts,
    unreachable: a.unreachable + b.unreachable,
    classes,
    latency: mergeHistograms(a.latency, b.latency),
    ...(a.otherBuilds || b.otherBuilds ? { otherBuilds: (a.otherBuilds ?? 0) + (b.otherBuilds ?? 0), otherBuildSeen: a.otherBuildSeen ?? b.otherBuildSeen } : {}),
  };
}

/** The numbers of a count, rounded for people (error rate to 0.1 points). */
export function summarize(health: Health): HealthSummary {
  const errorRate = health.requests === 0 ? 0 : Math.round((health.errors / health.requests) * 1000) / 10;
  const [p95, p99] = quantiles(health.latency, [0.95, 0.99]);
  return {
    requests: health.requests,
    classes: health.classes,
    errors: health.errors,
    errorRate,
    timeouts: health.timeouts,
    unreachable: health.unreachable,
    p95: p95 ?? null,
    p99: p99 ?? null,
    ...(health.otherBuilds ? { otherBuilds: health.otherBuilds, otherBuildSeen: health.otherBuildSeen ?? "" } : {}),
  };
}
