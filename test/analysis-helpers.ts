import { createExecutionContext, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { SETTLE_MS } from "../worker/core/analysis/windows.ts";
import app from "../worker/edge/index.ts";
import { analysisObject } from "../worker/control/rollout/analysis-object.ts";
import { parseRules, type RulesInput } from "../worker/core/rules.ts";
import { releaseAuthority } from "../worker/control/authority/release-authority.ts";
import { resetRelease, rulesDoc, testEnv } from "./helpers.ts";

/** The test bindings for the analysis: a green origin with a demo switch of its own, and a webhook receiver. */
export const analysisEnv = testEnv as typeof testEnv & { FLAKY_GREEN_ORIGIN: string; WEBHOOK_URL: string };

/** The analysis object the router reports to (the same one in every test: resetAnalysis() wipes it). */
export const analysis = () => analysisObject(env);

let lastStart = 0;

/**
 * Takes over Date.now() for the router and the analysis object (they run in the test's isolate).
 * The clock starts a day ahead on a whole hour, so the windows are predictable and the object's
 * alarms (set on this clock) never fire on their own: the tests run them with runAlarm(). Each
 * test's clock starts a day after the last one's, so time never runs backwards between tests.
 */
export function fakeClock() {
  lastStart = Math.max(Math.ceil((Date.now() + 86_400_000) / 3_600_000) * 3_600_000, lastStart + 86_400_000);
  let now = lastStart;
  const start = now;
  vi.spyOn(Date, "now").mockImplementation(() => now);
  return {
    start,
    get now() {
      return now;
    },
    set(time: number) {
      now = time;
    },
  };
}

/**
 * A visitor's request through the worker; returns once its background work is done. With `flush`
 * the isolate sends its health batch after this request; without, it keeps counting.
 */
export async function visitAndFlush(path: string, init: RequestInit & { ip?: string; flush?: boolean } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.ip) headers.set("cf-connecting-ip", init.ip);
  const ctx = createExecutionContext();
  const flushEvery = init.flush === false ? { HEALTH_FLUSH_REQUESTS: "1000000", HEALTH_FLUSH_MS: "3600000" } : { HEALTH_FLUSH_REQUESTS: "1" };
  const response = await app.fetch(new Request(`https://www.example.test${path}`, { ...init, headers }), { ...env, ...flushEvery }, ctx);
  await response.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return response;
}

/** `count` visitors with distinct IPs, one request each, ten at a time, health flushed at the end; how many each colour served. */
export async function visitors(count: number, path = "/"): Promise<{ blue: number; green: number }> {
  const served = { blue: 0, green: 0 };
  const visit = async (i: number, flush: boolean) => {
    const response = await visitAndFlush(path, { ip: `198.51.${Math.floor(i / 250)}.${(i % 250) + 1}`, flush });
    served[response.headers.get("x-canary-version") as "blue" | "green"] += 1;
  };
  for (let i = 0; i < count - 1; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, count - 1 - i) }, (_, j) => visit(i + j, false)));
  }
  await visit(count - 1, true);
  return served;
}

/** The window length the analysis tests use (windowSeconds: 60). */
export const WINDOW_MS = 60_000;

/**
 * Traffic during window `n` (counted from the clock's start): `count` visitors a second into it,
 * then the clock moves to the window's end plus the settle time and the alarm runs, as it would
 * (unless `alarm: false`, for a test that runs it its own way).
 */
export async function trafficWindow(clock: ReturnType<typeof fakeClock>, n: number, count = 40, { alarm = true } = {}) {
  clock.set(clock.start + n * WINDOW_MS + 1000);
  const served = await visitors(count);
  clock.set(clock.start + (n + 1) * WINDOW_MS + SETTLE_MS);
  if (alarm) expect(await runAlarm()).toBe(true);
  return served;
}

/** Runs the analysis object's scheduled alarm now, as the runtime would at the end of a window. */
export function runAlarm(): Promise<boolean> {
  return runDurableObjectAlarm(analysis());
}

/** Each test starts from nothing: no rules, no history, an empty analysis object, a healthy flaky origin, no webhook calls. */
export async function resetAnalysis(): Promise<void> {
  await resetRelease();
  await runInDurableObject(analysis(), async (_, state) => {
    await state.storage.deleteAlarm();
    await state.storage.deleteAll();
  });
  await greenFails(0);
  await greenBuild("");
  await fetch(analysisEnv.WEBHOOK_URL, { method: "DELETE" });
}

/** Flips the flaky green origin's demo switch (POST /__demo/fail?rate=), as an operator would with curl. */
export async function greenFails(rate: number): Promise<void> {
  const response = await fetch(`${analysisEnv.FLAKY_GREEN_ORIGIN}/__demo/fail?rate=${rate}`, { method: "POST" });
  if (!response.ok) throw new Error(`demo switch refused: ${await response.text()}`);
}

/** "Deploys" a build to the flaky green origin: its answers name it in x-app-version (POST /__demo/build?version=; "" removes the header). */
export async function greenBuild(version: string): Promise<void> {
  const response = await fetch(`${analysisEnv.FLAKY_GREEN_ORIGIN}/__demo/build?version=${encodeURIComponent(version)}`, { method: "POST" });
  if (!response.ok) throw new Error(`demo switch refused: ${await response.text()}`);
}

/** What the webhook receiver got, oldest first. */
export async function webhookCalls(): Promise<{ path: string; contentType: string; headers: Record<string, string | undefined>; raw: string; body: Record<string, unknown> }[]> {
  return (await fetch(analysisEnv.WEBHOOK_URL)).json();
}

/** A rules document with blue stable, the flaky green as canary and the given rollout; `over` replaces other top-level fields. */
export function canaryDoc(rollout: RulesInput["rollout"], over: Partial<RulesInput> = {}): RulesInput {
  return rulesDoc({ origins: { blue: { url: analysisEnv.BLUE_ORIGIN }, green: { url: analysisEnv.FLAKY_GREEN_ORIGIN } }, rollout, ...over });
}

/** Commits a document as an operator would (a revision and a history entry); returns the revision. */
export async function commitDoc(doc: RulesInput, by = "alice"): Promise<number> {
  const parsed = parseRules(doc);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const result = await releaseAuthority(env).replace({ actor: by }, parsed.rules);
  if (!result.ok) throw new Error(JSON.stringify(result.body));
  return result.body.revision;
}

/** The live rules document and its revision, as the release authority holds them. */
export async function liveRules() {
  const { rules, revision } = await releaseAuthority(env).read();
  if (!rules) throw new Error("live rules invalid");
  return { rules, revision };
}

/** The history's actions, oldest first, as "action by who". */
export async function historyActions(): Promise<string[]> {
  const history = await releaseAuthority(env).history({});
  if (!history.ok) throw new Error(JSON.stringify(history.body));
  return history.body.entries.map((entry) => `${entry.action} by ${entry.updatedBy}`).reverse();
}
