import type { Health, HealthSummary } from "../../core/analysis/health.ts";
import { summarize } from "../../core/analysis/health.ts";
import { type AnalysisSettings, type Colour, otherColour } from "../../core/rules.ts";
import type { WindowReport } from "../analysis/verdict.ts";
import type { EngineState, Live, RunStatus } from "./engine.ts";

/** What `rollout status` shows: the plan and where it stands, the analysis and each colour's health. */
export interface RolloutStatus {
  revision: number | null;
  stable: Colour | null;
  canary: Colour | null;
  percent: number | null;
  run: {
    status: RunStatus;
    rolloutId: string;
    step: number;
    steps: number;
    since: string;
    nextStepAfter: string | null;
    note: string;
  } | null;
  plan: { percent: number; dwellSeconds: number; state: "done" | "current" | "next" }[];
  analysis: {
    enabled: boolean;
    settings: AnalysisSettings;
    failingStreak: number;
    latch: { at: string; revision: number; reason: string } | null;
  };
  /** The last judged window: verdict and each colour's numbers. */
  lastWindow: (Omit<WindowReport, "start" | "end"> & { start: string; end: string }) | null;
  /** The window in progress, not judged yet; testers (override cookie) and skew fallbacks (by the colour asked) apart. */
  currentWindow: { start: string; canary: HealthSummary; stable: HealthSummary; testers: ByRole; skew: ByRole } | null;
  /** The last judged windows (up to 30), oldest first, for the dashboard's chart. */
  windows: ChartWindow[];
  recentWindows: { start: string; verdict: WindowReport["verdict"]; canaryRequests: number; canaryErrorRate: number; canaryP95: number | null }[];
}

type ByRole = { canary: HealthSummary; stable: HealthSummary };

/** One judged window as the chart draws it: each colour's error rate and p95, the verdict and the canary's share. */
export interface ChartWindow {
  start: number;
  end: number;
  verdict: WindowReport["verdict"];
  percent: number | null;
  colours: Record<Colour, { role: "canary" | "stable"; requests: number; errorRate: number; p95: number | null }>;
}

/** Builds the status from the engine's state, the live rules and the current window's health (pure). */
export function describeStatus(
  state: EngineState,
  live: Live | null,
  settings: AnalysisSettings,
  current: { start: number; health: Record<Colour, Health>; testers: Record<Colour, Health>; skew: Record<Colour, Health> } | null,
): RolloutStatus {
  const rules = live?.rules;
  const run = state.run;
  const steps = rules?.rollout.plan?.steps ?? [];
  const dwell = run ? steps[run.step]?.dwellSeconds : undefined;
  const last = state.windows.at(-1);
  const iso = (time: number) => new Date(time).toISOString();
  return {
    revision: live?.revision ?? null,
    stable: rules?.stable ?? null,
    canary: rules ? otherColour(rules.stable) : null,
    percent: rules?.rollout.percent ?? null,
    run: run && {
      status: run.status,
      rolloutId: run.rolloutId,
      step: run.step + 1,
      steps: steps.length,
      since: iso(run.stepSince),
      nextStepAfter: run.status === "running" && dwell !== undefined ? iso(run.stepSince + dwell * 1000) : null,
      note: run.note,
    },
    plan: steps.map((step, i) => ({
      ...step,
      state: !run || i > run.step ? "next" : i < run.step || run.status === "promoted" ? "done" : "current",
    })),
    analysis: {
      enabled: Boolean(rules?.rollout.analysis),
      settings,
      failingStreak: state.streak,
      latch: state.latch && { ...state.latch, at: iso(state.latch.at) },
    },
    lastWindow: last ? { ...last, start: iso(last.start), end: iso(last.end) } : null,
    currentWindow:
      rules && current
        ? {
            start: iso(current.start),
            canary: summarize(current.health[otherColour(rules.stable)]),
            stable: summarize(current.health[rules.stable]),
            testers: { canary: summarize(current.testers[otherColour(rules.stable)]), stable: summarize(current.testers[rules.stable]) },
            skew: { canary: summarize(current.skew[otherColour(rules.stable)]), stable: summarize(current.skew[rules.stable]) },
          }
        : null,
    windows: state.windows.map(chartWindow),
    recentWindows: state.windows.slice(-10).map((w) => ({
      start: iso(w.start),
      verdict: w.verdict,
      canaryRequests: w.canary.requests,
      canaryErrorRate: w.canary.errorRate,
      canaryP95: w.canary.p95,
    })),
  };
}

function chartWindow(w: WindowReport): ChartWindow {
  const canary = w.canaryColour ?? "green"; // windows judged before the colour was recorded
  const point = (role: "canary" | "stable") => ({ role, requests: w[role].requests, errorRate: w[role].errorRate, p95: w[role].p95 });
  const colours = { [canary]: point("canary"), [otherColour(canary)]: point("stable") } as ChartWindow["colours"];
  return { start: w.start, end: w.end, verdict: w.verdict, percent: w.percent ?? null, colours };
}
