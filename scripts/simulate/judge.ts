import { judgeWindows } from "../../worker/control/analysis/verdict.ts";
import { addWindows, afterCommit, type EngineState, initialState, nextAction } from "../../worker/control/rollout/engine.ts";
import type { Health } from "../../worker/core/analysis/health.ts";
import type { Slot } from "../../worker/core/analysis/windows.ts";
import { parseRules, type Rules } from "../../worker/core/rules.ts";

/**
 * One verdict under test, driven through the real windows, verdict and engine code exactly as the
 * analysis object drives them: slots in, judged windows, the engine's next action. A rollback is
 * committed as the engine would (streak and evidence start again), but the canary keeps its traffic,
 * so false trips can be counted over long healthy runs.
 */
export class Judge {
  readonly rules: Rules;
  private state: EngineState;

  constructor(analysis: Record<string, unknown>, percent: number) {
    const parsed = parseRules({
      stable: "blue",
      origins: { blue: { url: "https://blue.example" }, green: { url: "https://green.example" } },
      rollout: { id: "sim", percent, analysis },
    });
    if (!parsed.ok) throw new Error(`simulator settings: ${JSON.stringify(parsed.issues)}`);
    this.rules = parsed.rules;
    this.state = this.fresh();
  }

  /** Back to a just-started rollout. */
  reset(): void {
    this.state = this.fresh();
  }

  /** One window of traffic; true when the engine rolls back at its end. */
  window(start: number, windowMs: number, canary: Health, stable: Health): boolean {
    const slots = new Map<number, Slot>([[start, { sim: { green: canary, blue: stable } }]]);
    const reports = judgeWindows(slots, this.rules, [start], windowMs, this.state.evidence!);
    this.state = addWindows(this.state, reports.filter((r) => r.canary.requests + r.stable.requests > 0), start + windowMs);
    const now = start + windowMs + 10_000;
    const action = nextAction(this.state, this.rules, now);
    if (action?.kind !== "rollback") return false;
    this.state = afterCommit(this.state, action, { rules: this.rules, revision: 1, meta: null }, now);
    return true;
  }

  private fresh(): EngineState {
    return { ...initialState(), watching: { rolloutId: "sim", canary: "green" } };
  }
}
