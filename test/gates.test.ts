import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { callGate, gateKey, gateSignature } from "../worker/control/rollout/gate.ts";
import type { HistoryEntry } from "../worker/control/release/store.ts";
import type { RolloutStatus } from "../worker/control/rollout/status.ts";
import { admin, kvSnapshot } from "./admin-helpers.ts";
import { analysisEnv, canaryDoc, commitDoc, fakeClock, greenFails, historyActions, liveRules, resetAnalysis, trafficWindow, visitAndFlush, webhookCalls } from "./analysis-helpers.ts";

/**
 * The plan's before-start gate: a smoke-test hook the control plane calls, signed, with a join link
 * to the canary, before the first step. Its answer (or its silence) decides: a no-go starts nothing.
 */

const steps = [{ percent: 20, dwellSeconds: 600 }, { percent: 100, dwellSeconds: 600 }];
const gated = (path: string, timeoutSeconds = 5) => canaryDoc({ id: "gated-0", percent: 0, analysis: {}, plan: { gates: { beforeStart: { url: `${analysisEnv.WEBHOOK_URL}${path}`, timeoutSeconds } }, steps } });

async function status(): Promise<RolloutStatus> {
  return (await admin("/rollout")).json();
}

describe("gates: before the first step", { timeout: 20_000 }, () => {
  beforeEach(async () => {
    await resetAnalysis();
    fakeClock();
  });
  afterEach(() => vi.restoreAllMocks());

  it("a go: the call is signed with the gate key and carries a join link that pins a browser to the canary; the start names the gate in the history", async () => {
    await commitDoc(gated("/gate"));
    const started = await admin("/rollout/start", { method: "POST", body: { rolloutId: "build-3", reason: "release build-3" } });
    expect(started.status).toBe(200);
    expect((await liveRules()).rules.rollout).toMatchObject({ id: "build-3", percent: 20 });

    const [call] = await webhookCalls();
    expect(call).toMatchObject({ path: "/gate", headers: { gate: "before-start" }, body: { event: "before-start", rolloutId: "build-3", canary: "green", stable: "blue", firstStepPercent: 20 } });
    const { key } = await (await admin("/rollout/gate-key")).json<{ key: string }>();
    expect(key).toBe(await gateKey("test-secret"));
    expect(call!.headers.signature).toBe(`v1=${await gateSignature(key, Number(call!.headers.timestamp), call!.raw)}`);
    const link = new URL((call!.body.joinLink as { url: string }).url);
    expect(link.origin).toBe("https://www.example.test");
    const pinned = await visitAndFlush(`${link.pathname}${link.search}`, { ip: "203.0.113.9", redirect: "manual" });
    expect(pinned.headers.get("x-canary-version")).toBe("green"); // through the real edge, on the canary, whatever its bucket
    expect(pinned.headers.getSetCookie().join("; ")).toContain("__Host-canary-force=");

    const [entry, gateCall] = (await (await admin("/history?limit=2")).json<{ entries: HistoryEntry[] }>()).entries;
    expect(entry).toMatchObject({ action: "rollout-start" });
    expect(entry!.reason).toMatch(/^release build-3; before-start gate http:\/\/127\.0\.0\.1:\d+\/gate answered 200 in \d+ ms: \{"ok":true\}: go$/);
    // The call itself is in the history too, before the start, at the revision that was live: it made none.
    expect(gateCall).toMatchObject({ action: "gate", event: true, revision: entry!.revision - 1, changes: [] });
    expect(gateCall!.reason).toMatch(/^before-start gate http:\/\/127\.0\.0\.1:\d+\/gate answered 200 in \d+ ms: \{"ok":true\}: go$/);
    expect((await status()).gates).toMatchObject([{ gate: "before-start", rolloutId: "build-3", status: 200, go: true }]);
  });

  it("a no-go (an error answer, or none in time) starts nothing: 409 with the gate's answer, the canary stays at 0%, the call is in the gate log and the history", async () => {
    for (const [path, timeout, answer] of [["/gate/status/503", 5, 'answered 503 in \\d+ ms: \\{"ok":false,"why":"smoke test failed: /checkout answered 500"\\}'], ["/gate/delay/3000", 1, "gave no answer in \\d+ ms: no answer within 1 s"]] as const) {
      await commitDoc(gated(path, timeout));
      const before = await kvSnapshot();
      const refused = await admin("/rollout/start", { method: "POST", body: { rolloutId: "build-4" } });
      expect(refused.status).toBe(409);
      const body = await refused.json<{ error: string; message: string }>();
      expect(body.error).toBe("gate_no_go");
      expect(body.message).toMatch(new RegExp(`^before-start gate http://127\\.0\\.0\\.1:\\d+${path} ${answer}: no-go, nothing was started \\(the canary stays at 0%\\)$`));
      expect(await kvSnapshot()).toEqual(before);
      expect((await liveRules()).rules.rollout).toMatchObject({ id: "gated-0", percent: 0 });
      expect((await status()).gates.at(-1)).toMatchObject({ gate: "before-start", rolloutId: "build-4", go: false });
    }
    expect(await historyActions()).toEqual(["replace by alice", "gate by admin-token", "replace by alice", "gate by admin-token"]); // each no-go in the history, no revision
    const { entries } = await (await admin("/history?limit=1")).json<{ entries: HistoryEntry[] }>();
    expect(entries[0]).toMatchObject({ action: "gate", event: true, reason: expect.stringMatching(/^before-start gate .*\/gate\/delay\/3000 gave no answer in \d+ ms: no answer within 1 s: no-go$/) });
  });

  it("never calls the gate for a start that would be refused anyway", async () => {
    await commitDoc(gated("/gate"));
    expect((await admin("/rollout/start", { method: "POST", body: {} })).status).toBe(200);
    await fetch(analysisEnv.WEBHOOK_URL, { method: "DELETE" });
    const again = await admin("/rollout/start", { method: "POST", body: {} });
    expect(await again.json()).toMatchObject({ error: "rollout_active" });
    expect(await webhookCalls()).toEqual([]);
  });

  it("after a promotion and after an automatic rollback, the plan's notify gates are called, signed, and their answers logged", async () => {
    const clock = fakeClock();
    const notify = (path: string) => ({ url: `${analysisEnv.WEBHOOK_URL}${path}`, timeoutSeconds: 5 });
    const gates = { afterPromote: notify("/promoted"), afterRollback: notify("/rolled-back/status/500") };
    const plan = { gates, steps: [{ percent: 50, dwellSeconds: 10 }] };
    await commitDoc(canaryDoc({ id: "notify-0", percent: 0, analysis: { minRequests: 5 }, plan }));
    clock.set(clock.start + 1000);
    expect((await admin("/rollout/start", { method: "POST", body: { rolloutId: "build-7" } })).status).toBe(200);
    await trafficWindow(clock, 1); // the first window wholly within the step: healthy, so the plan promotes
    expect((await liveRules()).rules).toMatchObject({ stable: "green", rollout: { percent: 0 } });
    const key = await gateKey("test-secret");
    const [promoted] = await webhookCalls();
    expect(promoted).toMatchObject({ path: "/promoted", headers: { gate: "after-promote" }, body: { event: "after-promote", rolloutId: "build-7", stable: "green" } });
    expect(promoted!.headers.signature).toBe(`v1=${await gateSignature(key, Number(promoted!.headers.timestamp), promoted!.raw)}`);

    await commitDoc(canaryDoc({ id: "notify-1", percent: 50, analysis: { minRequests: 5 }, plan })); // blue stable again, the flaky green the canary
    await greenFails(1);
    await fetch(`${analysisEnv.WEBHOOK_URL}`, { method: "DELETE" });
    for (let n = 2; (await liveRules()).rules.rollout.percent > 0 && n < 6; n++) await trafficWindow(clock, n);
    const calls = await webhookCalls();
    expect(calls.map((call) => call.path)).toEqual(["/rolled-back/status/500"]);
    expect(calls[0]!.body).toMatchObject({ event: "after-rollback", rolloutId: "notify-1", canary: "green", stable: "blue" });
    expect(calls[0]!.body.reason).toMatch(/^canary green /);
    expect((await status()).gates.map((call) => [call.gate, call.status, call.go])).toEqual([["after-promote", 200, true], ["after-rollback", 500, false]]);
    // …and in the history, each after the revision it followed
    const trail = (await historyActions()).slice(-5);
    expect(trail).toEqual(["rollout-promote by edge-canary analysis", "gate by edge-canary analysis", "replace by alice", "auto-rollback by edge-canary analysis", "gate by edge-canary analysis"]);
    const { entries } = await (await admin("/history?limit=4")).json<{ entries: HistoryEntry[] }>();
    expect(entries[0]!.reason).toMatch(/^after-rollback gate .*\/rolled-back\/status\/500 answered 500 in \d+ ms: .*: no-go$/);
    expect(entries[3]!.reason).toMatch(/^after-promote gate .*\/promoted answered 200 in \d+ ms: .*: go$/);
    expect([entries[0]!.revision, entries[3]!.revision]).toEqual([entries[1]!.revision, entries[3]!.revision]);
    expect((await liveRules()).rules.rollout.percent).toBe(0); // a notify gate decides nothing: the rollback stands
  });

  it("before promotion: a go promotes (the gate's answer in the history), a no-go reverts the canary instead; asked once, with the last window's numbers", async () => {
    const clock = fakeClock();
    const cases = [["/confirm", "rollout-promote", /^last plan step healthy: canary promoted; before-promote gate http:\/\/127\.0\.0\.1:\d+\/confirm answered 200 in \d+ ms: \{"ok":true\}: go$/], ["/confirm/status/409", "auto-rollback", /^before-promote gate http:\/\/127\.0\.0\.1:\d+\/confirm\/status\/409 answered 409 in \d+ ms: .*: no-go, the canary is reverted instead of promoted$/]] as const;
    for (const [i, [path, action, reason]] of cases.entries()) {
      const window = 3 * i;
      await fetch(analysisEnv.WEBHOOK_URL, { method: "DELETE" });
      const plan = { gates: { beforePromote: { url: `${analysisEnv.WEBHOOK_URL}${path}`, timeoutSeconds: 5 } }, steps: [{ percent: 50, dwellSeconds: 10 }] };
      await commitDoc(canaryDoc({ id: `confirm-${i}`, percent: 0, analysis: { minRequests: 5 }, plan }));
      clock.set(clock.start + window * 60_000 + 5000);
      expect((await admin("/rollout/start", { method: "POST", body: { rolloutId: `build-${i}` } })).status).toBe(200);
      await trafficWindow(clock, window + 1); // healthy, wholly within the step: the plan would promote, and asks the gate first
      const [entry, gateCall] = (await (await admin("/history?limit=2")).json<{ entries: HistoryEntry[] }>()).entries;
      expect(entry!.action).toBe(action);
      expect(entry!.reason).toMatch(reason);
      expect(gateCall).toMatchObject({ action: "gate", event: true, revision: entry!.revision - 1, reason: expect.stringMatching(new RegExp(`^before-promote gate .*${path} answered ${i === 0 ? 200 : 409} in \\d+ ms: .*: ${i === 0 ? "go" : "no-go"}$`)) });
      expect((await liveRules()).rules).toMatchObject({ stable: i === 0 ? "green" : "blue", rollout: { percent: 0 } });
      const calls = await webhookCalls();
      expect(calls).toHaveLength(1);
      expect(calls[0]!.body).toMatchObject({ event: "before-promote", rolloutId: `build-${i}`, canary: "green", percent: 50, lastWindow: { verdict: "healthy" } });
      expect((await status()).gates.at(-1)).toMatchObject({ gate: "before-promote", go: i === 0 });
    }
  });

  it("callGate: a redirect is a no-go, not followed", async () => {
    const call = await callGate({ url: `${analysisEnv.WEBHOOK_URL}/gate/status/302`, timeoutSeconds: 5 }, "before-start", "r1", {}, "k");
    expect(call).toMatchObject({ status: 302, go: false });
  });
});
