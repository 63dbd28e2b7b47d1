import type { Context } from "hono";
import type { Decision } from "../core/decide.ts";
import { logProblem } from "../core/log.ts";
import { originFailureOf } from "./forward.ts";
import type { Rules } from "../core/rules.ts";
import { ANALYSIS_NAME } from "../core/analysis/sink.ts";
import { addOutcome, emptyHealth } from "../core/analysis/health.ts";
import { type SlotReport, slotOf } from "../core/analysis/windows.ts";

/** A flush that has not finished by then is given up (logged), so a hung store never blocks the next one forever. */
const FLUSH_TIMEOUT_MS = 10_000;

/** This isolate's health since its last flush: one report per slot, rollout and colour. */
let buffer = new Map<string, SlotReport>();
let countedSinceFlush = 0;
let lastFlush = Date.now();
let flushing = false;

/**
 * Times the forwarding to the origin and counts the outcome for the colour that served it. The
 * visitor pays a few additions in memory: batches go to the analysis object in the background
 * (waitUntil) every HEALTH_FLUSH_REQUESTS requests or HEALTH_FLUSH_MS, and nothing the health
 * store does (fail, throw, hang) can reach the response.
 */
export async function observe(
  c: Context<{ Bindings: Env }>,
  rules: Rules,
  decision: Decision,
  forward: () => Promise<Response>,
): Promise<Response> {
  const started = performance.now();
  const response = await forward();
  try {
    // A visitor who hung up tells nothing about the origin.
    if (!c.req.raw.signal.aborted) count(rules.rollout.id, decision, response, performance.now() - started);
    if (flushDue(c.env)) c.executionCtx.waitUntil(flush(c.env));
  } catch (error) {
    logProblem("health_record_failed", { error: String(error) });
  }
  return response;
}

function count(rolloutId: string, decision: Decision, response: Response, latencyMs: number): void {
  const slot = slotOf(Date.now());
  const tester = decision.reason === "override"; // shown apart, never judged
  const key = `${slot} ${rolloutId} ${decision.colour} ${tester}`;
  let report = buffer.get(key);
  if (!report) buffer.set(key, (report = { slot, rolloutId, colour: decision.colour, tester, health: emptyHealth() }));
  addOutcome(report.health, response.status, latencyMs, originFailureOf(response));
  countedSinceFlush += 1;
}

function flushDue(env: Env): boolean {
  const everyRequests = Number(env.HEALTH_FLUSH_REQUESTS || 1000);
  const everyMs = Number(env.HEALTH_FLUSH_MS || 5000);
  return !flushing && (countedSinceFlush >= everyRequests || Date.now() - lastFlush >= everyMs);
}

/** Hands the buffer to the analysis object. A failed batch is dropped, not retried: health is a sample, routing is not. */
async function flush(env: Env): Promise<void> {
  const reports = [...buffer.values()];
  buffer = new Map();
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
