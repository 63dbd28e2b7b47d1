import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { rolloutRoutes } from "../worker/rollout/routes.ts";
import { canaryDoc, commitDoc, fakeClock, historyActions, liveRules, resetAnalysis } from "./analysis-helpers.ts";

/** The routes mounted the way the admin API mounts them: behind its auth, which sets the actor. */
const admin = new Hono<{ Bindings: Env; Variables: { actor?: string } }>();
admin.use("*", async (c, next) => {
  c.set("actor", "alice (token)");
  await next();
});
admin.route("/api/rollout", rolloutRoutes);

function call(method: string, path: string, body?: string) {
  return admin.fetch(new Request(`https://www.example.test/api/rollout${path}`, { method, body, headers: { "content-type": "application/json" } }), env);
}

const PLANNED = { id: "routes", percent: 0, analysis: {}, plan: { steps: [{ percent: 5, dwellSeconds: 600 }, { percent: 100, dwellSeconds: 600 }] } };

describe("rollout routes", () => {
  beforeEach(async () => {
    await resetAnalysis();
    fakeClock();
  });
  afterEach(() => vi.restoreAllMocks());

  it("starts, pauses, resumes and aborts a plan, signed with the caller's name", async () => {
    await commitDoc(canaryDoc(PLANNED));
    const started = await call("POST", "/start", JSON.stringify({ reason: "release 42", rolloutId: "release-42" }));
    expect(started.status).toBe(200);
    expect(await started.json()).toMatchObject({ percent: 5, run: { status: "running", step: 1, steps: 2 }, plan: [{ state: "current" }, { state: "next" }] });
    expect((await liveRules()).rules.rollout.id).toBe("release-42");

    expect(await (await call("POST", "/pause", "")).json()).toMatchObject({ run: { status: "paused", note: "paused by alice (token)" } });
    expect(await (await call("POST", "/resume")).json()).toMatchObject({ run: { status: "running" } });
    expect(await (await call("POST", "/abort", JSON.stringify({ reason: "enough" }))).json()).toMatchObject({ percent: 0, run: { status: "aborted" } });
    expect(await historyActions()).toEqual(["replace by alice", "rollout-start by alice (token)", "rollout-abort by alice (token)"]);
  });

  it("shows the status: plan, analysis settings with their defaults, and the health of each colour", async () => {
    await commitDoc(canaryDoc(PLANNED));
    const response = await call("GET", "");
    expect(response.status).toBe(200);
    const status = await response.json<Record<string, unknown>>();
    expect(status).toMatchObject({
      stable: "blue",
      canary: "green",
      run: null,
      analysis: { enabled: true, settings: { windowSeconds: 60, minRequests: 50, maxErrorRate: 5, failingWindows: 2 }, failingStreak: 0, latch: null },
      lastWindow: null,
      currentWindow: { canary: { requests: 0 }, stable: { requests: 0 } },
    });
  });

  it("answers bad input with 400 and a reason, and writes nothing", async () => {
    await commitDoc(canaryDoc(PLANNED));
    const notJson = await call("POST", "/start", "{");
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: "invalid_json" });
    const badId = await call("POST", "/start", JSON.stringify({ rolloutId: "no spaces allowed", extra: 1 }));
    expect(badId.status).toBe(400);
    expect(await badId.json()).toMatchObject({ error: "invalid_request", issues: [{ path: "$.rolloutId" }, { path: "$" }] });
    expect(await historyActions()).toEqual(["replace by alice"]);
  });

  it("answers a command that does not fit with 409 and why", async () => {
    await commitDoc(canaryDoc({ id: "no-plan", percent: 0 }));
    const start = await call("POST", "/start");
    expect(start.status).toBe(409);
    expect(await start.json()).toMatchObject({ error: "no_plan" });
    const pause = await call("POST", "/pause");
    expect(pause.status).toBe(409);
    expect(await pause.json()).toEqual({ error: "rollout_not_running", message: "cannot pause: no rollout has been started" });
    await env.CANARY_KV.delete("rules");
    expect(await (await call("POST", "/abort")).json()).toMatchObject({ error: "no_valid_rules" });
  });
});
