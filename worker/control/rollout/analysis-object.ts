import { DurableObject } from "cloudflare:workers";
import { ANALYSIS_NAME } from "../../core/analysis/sink.ts";
import { judgeWindows } from "../analysis/verdict.ts";
import { noEvidence } from "../analysis/evidence.ts";
import { dataPoint } from "../analysis/metrics.ts";
import { addToSlot, healthBetween, MAX_CATCH_UP, nextCheck, type Slot, SLOT_MS, type SlotReport, slotOf, windowsDue } from "../../core/analysis/windows.ts";
import { failure, type Outcome, success } from "../release/outcome.ts";
import { describeChange } from "../../core/diff.ts";
import { logProblem } from "../../core/log.ts";
import { DEFAULT_ANALYSIS, otherColour, parseRules, type Plan, type Rules } from "../../core/rules.ts";
import { joinLink } from "../admin/join-link.ts";
import { releaseAuthority } from "../authority/release-authority.ts";
import { abortAction, isRefusal, type Operator, pauseRun, type Refusal, resumeAction, startAction } from "./commands.ts";
import { type Action, addWindows, afterCommit, changeOf, confirmation, confirmingNow, edit, ENGINE, type EngineState, initialState, type Live, nextAction, reconcile } from "./engine.ts";
import { describeStatus, type RolloutStatus } from "./status.ts";
import { callGate, describeCall, type Gate, GATE_CALLS_KEPT, type GateCall, gateKey, type GatePhase } from "./gate.ts";
import { type Notice, notify, rollbackPayload } from "./webhook.ts";

const STATE_KEY = "state";
const WINDOW_KEY = "windowMs";
const SLOT_PREFIX = "slot:";
const MAX_CLOCK_SKEW_MS = 60_000;
const slotKey = (slot: number) => `${SLOT_PREFIX}${String(slot).padStart(16, "0")}`;

/** The analysis object, reached by name from any isolate. */
export function analysisObject(env: ControlEnv): DurableObjectStub<CanaryAnalysis> {
  return env.CANARY_ANALYSIS.getByName(ANALYSIS_NAME);
}

/**
 * The shell around engine.ts: stores health in 10-second slots, and on each alarm (the end of a
 * window) judges the windows, then commits what the engine decides through the same store and
 * operations as the admin API. Alarms and operator commands run one at a time
 * (blockConcurrencyWhile), so a step and a pause or abort never interleave.
 */
export class CanaryAnalysis extends DurableObject<ControlEnv> {
  /** Adds isolates' health reports to their slots and makes sure an alarm will judge them. */
  async record(reports: SlotReport[]): Promise<void> {
    const latest = Date.now() + MAX_CLOCK_SKEW_MS; // a report from a clock far ahead would sit in storage until its time came
    const accepted = reports.filter((report) => report.slot <= latest);
    this.writeMetrics(accepted);
    const bySlot = Map.groupBy(accepted, (report) => slotOf(report.slot));
    for (const [slot, group] of bySlot) {
      const stored = (await this.ctx.storage.get<Slot>(slotKey(slot))) ?? {};
      await this.ctx.storage.put(slotKey(slot), group.reduce(addToSlot, stored));
    }
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(nextCheck(Date.now(), await this.windowMs()));
  }

  /** With an Analytics Engine binding (optional, see worker/control/wrangler.toml), one data point per report; never in the way of recording. */
  private writeMetrics(reports: SlotReport[]): void {
    const metrics = (this.env as ControlEnv & { CANARY_METRICS?: AnalyticsEngineDataset }).CANARY_METRICS;
    if (!metrics) return;
    try {
      for (const report of reports) metrics.writeDataPoint(dataPoint(report));
    } catch (error) {
      logProblem("metrics_write_failed", { error: String(error) });
    }
  }

  /**
   * The end of a window: judge it, roll back or take the next step; then, with the state saved, call
   * the webhook after a rollback and the plan's after-promote or after-rollback gate (its answer
   * decides nothing: the change is made; it is kept in the gate log and the history).
   */
  override async alarm(): Promise<void> {
    let after = await this.ctx.blockConcurrencyWhile(() => this.tick(Date.now()));
    if (after?.confirm) {
      const call = await this.callGate(after.confirm); // outside the critical section: it may take its whole time-out
      await this.recordGate(call, ENGINE);
      after = await this.ctx.blockConcurrencyWhile(() => this.confirmed(call, Date.now()));
    }
    if (after?.notice) await notify(after.notice.url, after.notice.payload);
    if (after?.gate) {
      const call = await this.callGate(after.gate);
      await this.ctx.blockConcurrencyWhile(async () => this.save(logGate(await this.load(), call)));
      await this.recordGate(call, ENGINE);
    }
  }

  /** A gate's call and its answer, in the history (at the live revision): a failure to record it is logged, never in the way of the release. */
  private async recordGate(call: GateCall, by: string): Promise<void> {
    const change = { action: "gate", by, reason: `${describeCall(call)}: ${call.go ? "go" : "no-go"}` };
    await releaseAuthority(this.env).note(change).catch((error) => logProblem("gate_record_failed", { gate: call.gate, error: String(error) }));
  }

  /** A gate called, signed; without CANARY_SECRET it is not called, and that is its answer (a no-go). */
  private async callGate({ gate, phase, rolloutId, payload }: GateRequest): Promise<GateCall> {
    const secret = this.env.CANARY_SECRET;
    if (secret) return callGate(gate, phase, rolloutId, payload, await gateKey(secret));
    return { gate: phase, rolloutId, url: gate.url, at: new Date().toISOString(), ms: 0, status: null, answer: "not called: CANARY_SECRET is not set, so the call cannot be signed", go: false };
  }

  /**
   * The before-promote gate answered: promote on a go, revert on a no-go, if the promotion it was
   * asked about still stands; the call is logged either way. A failure (KV down) is logged, and the
   * gate asked again once its time-out has passed, as for an object reset mid-call.
   */
  private async confirmed(call: GateCall, now: number): Promise<AfterChange | null> {
    try {
      const live = await readLive(this.env);
      const logged = logGate(await this.load(), call);
      if (!live) {
        await this.save({ ...logged, confirming: null });
        return null;
      }
      const state = reconcile(logged, live);
      const action = confirmation(state, live, call.go, describeCall(call));
      const asked = { ...state, confirming: null };
      const applied = action && (await this.apply(asked, live, action, now));
      await this.save(applied || asked);
      await this.schedule(applied || asked, now, windowMsOf(live.rules));
      return applied && action ? afterChange(live, action, applied) : null;
    } catch (error) {
      logProblem("gate_answer_failed", { gate: call.gate, error: String(error) });
      return null;
    }
  }

  /** The plan, the analysis and each colour's health, for `rollout status`. */
  async status(): Promise<RolloutStatus> {
    const now = Date.now();
    const live = await readLive(this.env);
    const saved = await this.load();
    const state = live ? reconcile(saved, live) : saved; // as the next alarm will see it: a manual revert shows at once
    const settings = live?.rules.rollout.analysis ?? DEFAULT_ANALYSIS;
    const windowMs = settings.windowSeconds * 1000;
    const start = Math.floor(now / windowMs) * windowMs;
    const slots = live && (await this.slots(start, now + SLOT_MS));
    const current = live && slots && {
      start,
      health: healthBetween(slots, live.rules.rollout.id, start, now + SLOT_MS),
      testers: healthBetween(slots, live.rules.rollout.id, start, now + SLOT_MS, "testers"),
      skew: healthBetween(slots, live.rules.rollout.id, start, now + SLOT_MS, "skew"),
    };
    return describeStatus(state, live, settings, current);
  }

  /**
   * `rollout start`: step 1 of the plan in the live rules (or of the plan given, which replaces
   * theirs), after its before-start gate, if it has one, said go. `site` is where a join link leads.
   */
  async start(operator: Operator & { rolloutId?: string; plan?: Plan }, site?: string): Promise<Outcome<RolloutStatus>> {
    const gated = await this.beforeStart(operator, site);
    if (!gated.ok) return gated;
    return this.command((state, live) => startAction(state, live.rules, gated.body));
  }

  /**
   * The plan's before-start gate (a smoke test), called outside the object's critical section (it may
   * take its whole time-out) with a signed join link to the canary, so the test goes through the real
   * edge. The call is kept in the gate log and the history; a go is also named in the start's entry; a no-go
   * starts nothing. A start that would be refused anyway is refused before the gate is called.
   */
  private async beforeStart<T extends Operator & { rolloutId?: string; plan?: Plan }>(operator: T, site: string | undefined): Promise<Outcome<T>> {
    const live = await readLive(this.env);
    const gate = live && (operator.plan ?? live.rules.rollout.plan)?.gates?.beforeStart;
    if (!live || !gate) return success(operator);
    const decision = startAction(reconcile(await this.load(), live), live.rules, operator);
    if (isRefusal(decision)) return failure(409, decision.error, decision.message);
    const secret = this.env.CANARY_SECRET;
    if (!secret) return failure(409, "no_secret", "the plan has a before-start gate, but CANARY_SECRET is not set, so its call cannot be signed: nothing was started");
    const rolloutId = operator.rolloutId ?? live.rules.rollout.id;
    const canary = otherColour(live.rules.stable);
    const link = site ? await joinLink(secret, site, { colour: canary, ttlSeconds: JOIN_LINK_SECONDS }) : null;
    const payload = { canary, stable: live.rules.stable, firstStepPercent: decision.kind === "start" ? decision.percent : null, revision: live.revision, joinLink: link?.ok ? link.body : null };
    const call = await callGate(gate, "before-start", rolloutId, payload, await gateKey(secret));
    await this.ctx.blockConcurrencyWhile(async () => this.save(logGate(await this.load(), call)));
    await this.recordGate(call, operator.by);
    if (!call.go) return failure(409, "gate_no_go", `${describeCall(call)}: no-go, nothing was started (the canary stays at ${live.rules.rollout.percent}%)`);
    return success({ ...operator, reason: [operator.reason, `${describeCall(call)}: go`].filter(Boolean).join("; ") });
  }

  /** `rollout pause`: the plan stays at its step until resumed. */
  pause(operator: Operator): Promise<Outcome<RolloutStatus>> {
    return this.command((state) => pauseRun(state, operator));
  }

  /** `rollout resume`: back to the paused step's percentage. */
  resume(operator: Operator): Promise<Outcome<RolloutStatus>> {
    return this.command((state, live) => resumeAction(state, live.rules, operator));
  }

  /** `rollout abort`: revert now and stop the plan. */
  abort(operator: Operator): Promise<Outcome<RolloutStatus>> {
    return this.command(() => abortAction(operator));
  }

  private async command(decide: (state: EngineState, live: Live) => Action | EngineState | Refusal): Promise<Outcome<RolloutStatus>> {
    const refusal = await this.ctx.blockConcurrencyWhile(async (): Promise<Refusal | null> => {
      const now = Date.now();
      const live = await readLive(this.env);
      if (!live) return { error: "no_valid_rules", message: "KV has no valid rules document: put one first" };
      let state = reconcile(await this.load(), live);
      const decision = decide(state, live);
      if (isRefusal(decision)) return decision;
      if ("kind" in decision) {
        const applied = await this.apply(state, live, decision, now);
        if (!applied) return { error: "revision_conflict", message: "the rules changed while this command ran: check them and retry" };
        state = applied;
      } else {
        state = decision;
      }
      await this.save(state);
      await this.schedule(state, now, windowMsOf(live.rules));
      return null;
    });
    return refusal ? failure(409, refusal.error, refusal.message) : success(await this.status());
  }

  /** One alarm's work. A failure (KV down) is logged and retried at the next window, never left to reset the object. */
  private async tick(now: number): Promise<AfterChange | null> {
    let windowMs = await this.windowMs();
    let after: AfterChange | null = null;
    try {
      const live = await readLive(this.env);
      if (live) {
        windowMs = windowMsOf(live.rules);
        after = await this.analyse(live, now, windowMs);
      }
    } catch (error) {
      logProblem("analysis_tick_failed", { error: String(error) });
    }
    await this.ctx.storage.put(WINDOW_KEY, windowMs);
    await this.schedule(await this.load(), now, windowMs);
    return after;
  }

  /** Judges the windows that are due, then does what the engine decides; returns the calls a promotion or a rollback asks for. */
  private async analyse(live: Live, now: number, windowMs: number): Promise<AfterChange | null> {
    let state = reconcile(await this.load(), live);
    const due = windowsDue(state.judgedUntil, now, windowMs);
    if (due.length > 0) {
      const slots = await this.slots(due[0]!, due.at(-1)! + windowMs);
      const reports = judgeWindows(slots, live.rules, due, windowMs, state.evidence ?? noEvidence());
      state = addWindows(state, reports.filter((report) => report.canary.requests + report.stable.requests > 0), due.at(-1)! + windowMs);
    }
    await this.prune(now - (MAX_CATCH_UP + 2) * windowMs);
    const action = nextAction(state, live.rules, now);
    const confirm = action?.kind === "promote" ? live.rules.rollout.plan?.gates?.beforePromote : undefined;
    if (confirm && state.run) {
      // The promotion waits for the before-promote gate, asked once (alarm() calls it and acts on the answer).
      if (confirmingNow(state, confirm.timeoutSeconds, now)) {
        await this.save(state);
        return null;
      }
      const { rolloutId, step } = state.run;
      await this.save({ ...state, confirming: { rolloutId, step, revision: live.revision, since: now } });
      const last = state.windows.at(-1);
      const payload = { canary: otherColour(live.rules.stable), stable: live.rules.stable, percent: live.rules.rollout.percent, revision: live.revision, lastWindow: last && { verdict: last.verdict, canary: last.canary, stable: last.stable } };
      return { confirm: { gate: confirm, phase: "before-promote", rolloutId, payload } };
    }
    const applied = action && (await this.apply(state, live, action, now));
    await this.save(applied || state);
    return applied && action ? afterChange(live, action, applied) : null;
  }

  /**
   * Commits an action's rules with the revision they were decided on (expectedRevision): if anyone
   * wrote in between, nothing is written and null comes back. The action is saved as pending
   * first, so an alarm retried after the write recognises it instead of applying it twice.
   */
  private async apply(state: EngineState, live: Live, action: Action, now: number): Promise<EngineState | null> {
    const parsed = parseRules(edit(action, live.rules));
    if (!parsed.ok) {
      logProblem("rollout_edit_invalid", { action: action.kind, issues: parsed.issues });
      return null;
    }
    if (describeChange(live.rules, parsed.rules).length === 0) return afterCommit(state, action, live, now);
    await this.save({ ...state, pending: { action, expected: live.revision, at: now } });
    const result = await releaseAuthority(this.env).commit(parsed.rules, changeOf(action), live.revision);
    if (!result.ok) {
      if (result.status !== 412) logProblem("rollout_commit_refused", { action: action.kind, error: result.body.error, issues: result.body.issues });
      await this.save(state);
      return null;
    }
    return afterCommit(state, action, { rules: parsed.rules, revision: result.body.revision, meta: result.body.meta }, now);
  }

  /** Alarms keep coming while a plan runs or health keeps arriving; a quiet object sleeps until the next batch. */
  private async schedule(state: EngineState, now: number, windowMs: number): Promise<void> {
    const recent = await this.ctx.storage.list({ prefix: SLOT_PREFIX, start: slotKey(now - 2 * windowMs), limit: 1 });
    if (state.run?.status === "running" || recent.size > 0) await this.ctx.storage.setAlarm(nextCheck(now, windowMs));
    else await this.ctx.storage.deleteAlarm();
  }

  private async slots(from: number, to: number): Promise<Map<number, Slot>> {
    const stored = await this.ctx.storage.list<Slot>({ start: slotKey(from), end: slotKey(to) });
    return new Map([...stored].map(([key, slot]) => [Number(key.slice(SLOT_PREFIX.length)), slot]));
  }

  private async prune(before: number): Promise<void> {
    const old = await this.ctx.storage.list({ prefix: SLOT_PREFIX, end: slotKey(before), limit: 128 });
    if (old.size > 0) await this.ctx.storage.delete([...old.keys()]);
  }

  private async load(): Promise<EngineState> {
    return (await this.ctx.storage.get<EngineState>(STATE_KEY)) ?? initialState();
  }

  private async save(state: EngineState): Promise<void> {
    await this.ctx.storage.put(STATE_KEY, state);
  }

  private async windowMs(): Promise<number> {
    return (await this.ctx.storage.get<number>(WINDOW_KEY)) ?? DEFAULT_ANALYSIS.windowSeconds * 1000;
  }
}

/** A gate to call, and with what. */
interface GateRequest {
  gate: Gate;
  phase: GatePhase;
  rolloutId: string;
  payload: object;
}

/** What an alarm asks for once its state is saved: the before-promote gate's answer, the webhook after a rollback, a notify gate after a promotion or a rollback. */
interface AfterChange {
  confirm?: GateRequest;
  notice?: Notice;
  gate?: GateRequest;
}

/** The calls a committed promotion or rollback asks for: the webhook after a rollback, and the plan's notify gate. */
function afterChange(live: Live, action: Action, applied: EngineState): AfterChange | null {
  if (action.kind !== "rollback" && action.kind !== "promote") return null;
  const gates = live.rules.rollout.plan?.gates;
  const rolloutId = live.rules.rollout.id;
  if (action.kind === "promote") {
    return gates?.afterPromote ? { gate: { gate: gates.afterPromote, phase: "after-promote", rolloutId, payload: { stable: otherColour(live.rules.stable), revision: applied.run?.revision ?? null } } } : null;
  }
  const webhook = live.rules.rollout.analysis?.webhook;
  const latch = applied.latch!;
  const payload = { canary: otherColour(live.rules.stable), stable: live.rules.stable, revision: latch.revision, reason: latch.reason };
  return {
    notice: webhook ? { url: webhook, payload: rollbackPayload(live.rules, latch) } : undefined,
    gate: gates?.afterRollback ? { gate: gates.afterRollback, phase: "after-rollback", rolloutId, payload } : undefined,
  };
}

/** How long the join link a before-start gate gets stays good: long enough for a smoke test. */
const JOIN_LINK_SECONDS = 3600;

/** The state with a gate call added to its log (the newest GATE_CALLS_KEPT). */
function logGate(state: EngineState, call: GateCall): EngineState {
  return { ...state, gates: [...(state.gates ?? []), call].slice(-GATE_CALLS_KEPT) };
}

function windowMsOf(rules: Rules): number {
  return (rules.rollout.analysis ?? DEFAULT_ANALYSIS).windowSeconds * 1000;
}

/** The live rules, read from the release authority as the admin API reads them; null when missing or invalid (nothing to analyse or change). */
async function readLive(env: ControlEnv): Promise<Live | null> {
  const { rules, revision, meta } = await releaseAuthority(env).read();
  return rules ? { rules, revision, meta } : null;
}
