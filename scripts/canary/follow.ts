import type { HealthSummary } from "../../worker/core/analysis/health.ts";
import type { RolloutStatus } from "../../worker/control/rollout/status.ts";
import { health } from "./print-rollout.ts";

/** Following a rollout to its end, for a pipeline step: progress as it goes, and an exit code that says how it ended. */

/** The exit codes a pipeline branches on (docs/pipeline.md). */
export const EXIT = { promoted: 0, stopped: 1, usage: 2, timeout: 3, interrupted: 130 } as const;

/** How a followed rollout ended: promoted (0), or rolled back, aborted or replaced by another (1). */
export interface Ending {
  event: "promoted" | "rolled-back" | "aborted" | "superseded";
  code: 0 | 1;
  rolloutId: string;
  /** The run's own words: the verdict's reason and numbers for a rollback, who aborted it and why. */
  reason: string;
}

/** How a followed rollout ended, or null while it is still running or paused (it may still end either way). */
export function ending(status: RolloutStatus, rolloutId: string): Ending | null {
  const run = status.run;
  if (!run) return { event: "aborted", code: 1, rolloutId, reason: "no rollout is recorded any more (the analysis object was reset)" };
  if (run.rolloutId !== rolloutId) {
    return { event: "superseded", code: 1, rolloutId, reason: `rollout ${run.rolloutId} replaced it (${run.status}: ${run.note})` };
  }
  switch (run.status) {
    case "running":
    case "paused":
      return null;
    case "promoted":
      return { event: "promoted", code: 0, rolloutId, reason: `canary promoted: ${status.stable} is stable for everyone` };
    case "rolled-back":
      return { event: "rolled-back", code: 1, rolloutId, reason: run.note };
    case "aborted":
      return { event: "aborted", code: 1, rolloutId, reason: run.note };
  }
}

/** One progress report, as a JSON line (`--json`) or a line of text: where the plan stands and each colour's health in the last judged window. */
export interface Progress {
  event: "progress";
  at: string;
  rolloutId: string;
  status: string;
  step: number;
  steps: number;
  percent: number | null;
  canary: string | null;
  stable: string | null;
  /** Seconds until the next step may be taken (it also waits for a healthy window); null when paused or at the end. */
  nextStepInSeconds: number | null;
  note: string;
  lastWindow: { end: string; verdict: string; canary: HealthSummary; stable: HealthSummary; failures: string[] } | null;
}

export function progress(status: RolloutStatus, now: number): Progress | null {
  const run = status.run;
  if (!run) return null;
  const next = run.nextStepAfter ? Math.max(0, Math.ceil((Date.parse(run.nextStepAfter) - now) / 1000)) : null;
  const last = status.lastWindow;
  return {
    event: "progress",
    at: new Date(now).toISOString(),
    rolloutId: run.rolloutId,
    status: run.status,
    step: run.step,
    steps: run.steps,
    percent: status.percent,
    canary: status.canary,
    stable: status.stable,
    nextStepInSeconds: next,
    note: run.note,
    lastWindow: last && { end: last.end, verdict: last.verdict, canary: last.canary, stable: last.stable, failures: last.failures },
  };
}

/** "release-42 · running · step 1 of 2 · green at 50% · last window healthy: green … | blue … · next step in 8 s". */
export function progressLine(p: Progress): string {
  const share = p.status === "promoted" ? `${p.stable} stable for everyone` : `${p.canary} at ${p.percent}%`;
  const parts = [`${p.rolloutId} · ${p.status} · step ${p.step} of ${p.steps} · ${share}`];
  if (p.lastWindow) {
    const { verdict, canary, stable, end } = p.lastWindow;
    parts.push(`window to ${end.slice(11, 19)} ${verdict}: ${p.canary} ${health(canary)} | ${p.stable} ${health(stable)}`);
  } else {
    parts.push("no window judged yet");
  }
  if (p.status === "paused") parts.push(p.note);
  else if (p.nextStepInSeconds !== null) parts.push(p.nextStepInSeconds > 0 ? `next step in ${p.nextStepInSeconds} s` : "next step after a healthy window");
  return parts.join(" · ");
}

/** What follow() needs from the world: the status, a clock, a pause, and where the reports go. */
export interface Follower {
  read(): Promise<RolloutStatus>;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Each progress report that differs from the last one shown (a terminal may ask for every one). */
  report(progress: Progress): void;
  /** Ask again after this long. */
  intervalMs: number;
  /** Give up (exit 3, the rollout keeps running) at this time; undefined waits for the end. */
  deadline?: number;
  /** Report every poll, not only changes (a terminal's progress line counts down). */
  everyPoll?: boolean;
}

/** Polls the status until the rollout `rolloutId` ends or the deadline passes; the ending, or "timeout" with the last status seen. */
export async function follow(rolloutId: string, first: RolloutStatus, f: Follower): Promise<{ ending: Ending | null; last: RolloutStatus }> {
  let status = first;
  let shown = "";
  for (;;) {
    const now = f.now();
    const report = progress(status, now);
    const done = ending(status, rolloutId);
    if (report && (f.everyPoll || done || key(report) !== shown)) {
      f.report(report);
      shown = key(report);
    }
    if (done) return { ending: done, last: status };
    if (f.deadline !== undefined && now >= f.deadline) return { ending: null, last: status };
    await f.sleep(f.deadline === undefined ? f.intervalMs : Math.max(0, Math.min(f.intervalMs, f.deadline - now)));
    status = await f.read();
  }
}

/** What a report is about, without the countdown: a pipeline's log gets a line when this changes. */
function key(p: Progress): string {
  return JSON.stringify([p.status, p.step, p.percent, p.note, p.lastWindow?.end, p.lastWindow?.verdict]);
}

/** "30m", "90s", "1h", "45" (seconds) → milliseconds; null when it is none of these. */
export function duration(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"]!;
  const ms = Number(match[1]) * unit;
  return ms > 0 ? Math.round(ms) : null;
}

/** The commands that act on a rollout left running: shown on a timeout and on Ctrl-C. */
export function leftRunning(rolloutId: string, site: string): string[] {
  const canary = `npm run canary -- rollout`;
  return [
    `rollout ${rolloutId} keeps running (nothing was paused or reverted); the analysis still guards it:`,
    `  watch:  ${canary} status --watch --url ${site}`,
    `  pause:  ${canary} pause --url ${site}`,
    `  abort:  ${canary} abort --url ${site} --reason "…"`,
  ];
}
