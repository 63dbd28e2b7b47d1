import { describe, expect, it } from "vitest";
import { budget, canary, file, greenShare, ok, releaseDoc, rolloutStatus, scaled, TRANSPORTS } from "./helpers.ts";

/** The rollout commands and `status` against the real worker: its admin API reaches the analysis Durable Object. */

const http = () => TRANSPORTS.http();
const run = (...args: string[]) => canary([...args, ...http().flags], http().env);

/** The demo release with fast analysis settings and, unless `plan` is false, a two-step plan. */
function analysedDoc(rolloutId: string, { percent = 0, plan = true } = {}) {
  const steps = [{ percent: 30, dwellSeconds: 600 }, { percent: 100, dwellSeconds: 600 }];
  return { ...releaseDoc(percent, rolloutId), rollout: { id: rolloutId, percent, analysis: { windowSeconds: 10, minRequests: 5 }, ...(plan && { plan: { steps } }) } };
}

describe("rollout commands over HTTP", () => {
  it("start, pause, resume and abort the plan; status shows the run, the plan, the step and the latch", async () => {
    ok(await run("rules", "set", await file("planned.json", analysedDoc("e2e-plan-0")), "--reason", "release 42 on green"));

    const start = ok(await run("rollout", "start", "--rollout-id", "e2e-plan", "--reason", "release 42"));
    expect(start.stdout).toMatch(/^rollout start: canary green at 30%, rules at revision \d+$/m);
    expect(start.stdout).toMatch(/^rollout {2}running · step 1 of 2 since \S+ · next step after \S+ if healthy · started by admin-token$/m);
    expect(start.stdout).toContain("plan     1. 30% for 600 s current → 2. 100% for 600 s next");
    const share = await greenShare();
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.5);

    const status = ok(await run("status"));
    expect(status.stdout).toMatch(/^canary\s+green .* 30% of visitors \(rollout e2e-plan\)$/m);
    expect(status.stdout).toMatch(/^rollout {2}running · step 1 of 2 /m);
    expect(status.stdout).toContain(
      "analysis 10 s windows compared with stable at 99.997% confidence (errors ≤ 1 × stable's rate, latency ≤ 1 × stable's after a 120 s warm-up): rolls back when sure; " +
        "windows of ≥ 5 canary requests also fail on errors > 5% only while stable has fewer than 5 requests to compare with; 2 in a row roll back · failing streak 0 of 2",
    );
    expect(status.stdout).toMatch(/^latch {4}none$/m);
    expect(status.stdout).toMatch(/^this window since \S+, so far:\n {2}green \(canary\) +\d+ requests.*\n {2}blue \(stable\) +\d+ requests/m);

    const paused = ok(await run("rollout", "pause", "--reason", "checking the dashboards"));
    expect(paused.stdout).toMatch(/^rollout {2}paused · step 1 of 2 since \S+ · paused by admin-token: checking the dashboards$/m);
    expect(ok(await run("rollout", "resume")).stdout).toMatch(/^rollout {2}running · step 1 of 2 .* resumed by admin-token$/m);

    const aborted = ok(await run("rollout", "abort", "--reason", "wrong build")).stdout;
    expect(aborted).toMatch(/^rollout abort: canary green at 0%, rules at revision \d+$/m);
    expect(aborted).toMatch(/^rollout {2}last run \(rollout e2e-plan\) aborted at step 1 · aborted by admin-token$/m);
    expect(await greenShare()).toBe(0);
    const { entries } = JSON.parse(ok(await run("history", "--limit", "2", "--json")).stdout);
    expect(entries.map((e: { action: string; reason: string }) => `${e.action}: ${e.reason}`)).toEqual(["rollout-abort: wrong build", "rollout-start: release 42"]);

    const again = await run("rollout", "pause");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^canary: cannot pause: the rollout is aborted \(aborted by admin-token\) \(rollout_not_running\)$/m);
  }, budget({ otherMs: 20_000 }));

  it("status shows each colour's health in the last judged window, as the analysis object judged it", async () => {
    ok(await run("rules", "set", await file("analysed.json", analysedDoc("e2e-health", { percent: 50, plan: false }))));
    const within = scaled(40_000);
    let judged = (await rolloutStatus()).lastWindow;
    for (const deadline = Date.now() + within; !judged && Date.now() < deadline; judged = (await rolloutStatus()).lastWindow) {
      await greenShare(); // visitors keep coming (and their isolate keeps sending health) until a 10 s window has been judged
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(judged, `no window judged within ${within / 1000} s`).not.toBeNull();
    const { start, end, verdict, canary, stable } = judged!;
    expect(canary.requests).toBeGreaterThan(0);
    expect(stable.requests).toBeGreaterThan(0);

    const status = ok(await run("status")).stdout; // within a few seconds: the next window is judged 10 s after this one
    expect(status).toContain(`last window ${start} – ${end.slice(11)}: ${verdict}`);
    expect(status).toMatch(new RegExp(`^ {2}green \\(canary\\) +${canary.requests} requests, 0 errors \\(0%\\), p95 ${canary.p95} ms, p99 ${canary.p99} ms$`, "m"));
    expect(status).toMatch(new RegExp(`^ {2}blue \\(stable\\) +${stable.requests} requests, 0 errors \\(0%\\), p95 ${stable.p95} ms`, "m"));
  }, budget({ otherMs: 50_000 }));
});

describe("rollout commands over wrangler", () => {
  it("are refused at once with a one-line reason that says to use --url, and change nothing", async () => {
    const before = JSON.parse(ok(await run("status", "--json")).stdout);
    const wrangler = TRANSPORTS.wrangler();
    for (const verb of ["start", "pause", "resume", "abort"]) {
      const refused = await canary(["rollout", verb, ...wrangler.flags], wrangler.env);
      expect(refused.code, verb).toBe(1);
      expect(refused.stdout).toBe("");
      const [where, reason, ...more] = refused.stderr.trim().split("\n");
      expect(where).toMatch(/^→ local KV/);
      expect(reason).toMatch(new RegExp(`^canary: rollout ${verb} needs the worker: .*Durable Object.* use --url .*\\(needs_http\\)$`));
      expect(more).toEqual([]);
    }
    const after = JSON.parse(ok(await run("status", "--json")).stdout);
    expect({ revision: after.revision, run: after.rollout.run }).toEqual({ revision: before.revision, run: before.rollout.run });
  }, budget({ otherMs: 10_000 }));
});
