import { addBuild, addOutcome, emptyHealth } from "../core/analysis/health.ts";
import { ANALYSIS_NAME } from "../core/analysis/sink.ts";
import { type SlotReport, slotOf } from "../core/analysis/windows.ts";
import type { Colour } from "../core/colours.ts";
import type { Decision } from "../core/decide.ts";
import type { Rules } from "../core/rules.ts";
import { logProblem } from "../core/log.ts";
import type { EdgeConfig } from "./config.ts";
import type { Forwarded } from "./forward.ts";

/** A flush that has not finished by then is given up (logged), so a hung store never blocks the next one forever. */
const FLUSH_TIMEOUT_MS = 10_000;

/** This isolate's health since its last flush: one report per slot, rollout and colour. */
let buffer = new Map<string, SlotReport>();
let countedSinceFlush = 0;
let lastFlush = Date.now();
let flushing = false;
/** The report each colour's previous request counted into: most requests count into it again, without building a key. */
let last: Partial<Record<Colour, SlotReport>> = {};

/**
 * Counts a forwarded request's outcome for the colour that served it (`skew`: a skew fallback,
 * apart from both colours' health). The visitor pays a few additions in memory: batches go to the
 * analysis object in the background (waitUntil) every HEALTH_FLUSH_REQUESTS requests or
 * HEALTH_FLUSH_MS, and nothing the health store does (fail, throw, hang) can reach the response. With a build header in the analysis settings, a canary
 * answer's header is read (the response is already here) and one that names another build counted.
 */
export function observe(env: Env, ctx: ExecutionContext, config: EdgeConfig, rollout: Rules["rollout"], decision: Decision, forwarded: Forwarded, latencyMs: number, skew?: true): void {
  try {
    // The visitor hung up and so cancelled the origin's request: that says nothing about the origin.
    if (forwarded.abandoned) return;
    const now = Date.now();
    if (skew) countSkew(now, rollout.id, decision, forwarded, latencyMs);
    else count(now, rollout, decision, forwarded, latencyMs);
    if (!flushing && (countedSinceFlush >= config.healthFlushRequests || now - lastFlush >= config.healthFlushMs)) ctx.waitUntil(flush(env));
  } catch (error) {
    logProblem("health_record_failed", { error: String(error) });
  }
}

function count(now: number, rollout: Rules["rollout"], decision: Decision, forwarded: Forwarded, latencyMs: number): void {
  const rolloutId = rollout.id;
  const slot = slotOf(now);
  const tester = decision.reason === "override"; // shown apart, never judged
  const previous = last[decision.colour];
  let report = previous?.slot === slot && previous.rolloutId === rolloutId && previous.tester === tester ? previous : undefined;
  if (!report) {
    const key = `${slot} ${rolloutId} ${decision.colour} ${tester}`;
    report = buffer.get(key);
    if (!report) buffer.set(key, (report = { slot, rolloutId, colour: decision.colour, tester, health: emptyHealth() }));
    last[decision.colour] = report;
  }
  const response = forwarded.response;
  addOutcome(report.health, response.status, latencyMs, forwarded.failure);
  const buildHeader = rollout.analysis?.buildHeader; // the response's headers are read only when a build header is set
  if (buildHeader && decision.role === "canary" && !forwarded.failure) addBuild(report.health, response.status, response.headers.get(buildHeader), rolloutId);
  countedSinceFlush += 1;
}

/**
 * A skew fallback (skew.ts), for the colour that was asked: apart from both colours' health, never
 * judged. Rare (an asset's 404), so no short cut: a keyed look-up, and `last` is left alone.
 */
function countSkew(now: number, rolloutId: string, decision: Decision, forwarded: Forwarded, latencyMs: number): void {
  const slot = slotOf(now);
  const key = `${slot} ${rolloutId} ${decision.colour} skew`;
  let report = buffer.get(key);
  if (!report) buffer.set(key, (report = { slot, rolloutId, colour: decision.colour, skew: true, health: emptyHealth() }));
  addOutcome(report.health, forwarded.response.status, latencyMs, forwarded.failure);
  countedSinceFlush += 1;
}

/** Hands the buffer to the analysis object. A failed batch is dropped, not retried: health is a sample, routing is not. */
async function flush(env: Env): Promise<void> {
  const reports = [...buffer.values()];
  buffer = new Map();
  last = {};
  countedSinceFlush = 0;
  lastFlush = Date.now();
  flushing = true;
  let timer: ReturnType<typeof setTimeout> | null = null;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${FLUSH_TIMEOUT_MS} ms`)), FLUSH_TIMEOUT_MS);
    });
    await Promise.race([env.CANARY_ANALYSIS.getByName(ANALYSIS_NAME).record(reports), timeout]);
  } catch (error) {
    logProblem("health_flush_failed", { error: String(error), reports: reports.length });
  } finally {
    if (timer !== null) clearTimeout(timer);
    flushing = false;
  }
}
