import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:workers";
import { readHistory } from "../worker/control/release/kv-layout.ts";
import { ENGINE } from "../worker/control/rollout/engine.ts";
import { analysis, canaryDoc, commitDoc, fakeClock, greenBuild, liveRules, resetAnalysis, trafficWindow, visitors } from "./analysis-helpers.ts";

/**
 * Build identity: the rollout id names the build it delivers, and the router reads the canary's
 * build header (rollout.analysis.buildHeader) on the answers it proxies anyway. A canary seen
 * serving another build (someone redeployed green mid-release) is rolled back, with the reason.
 */

const ANALYSIS = { windowSeconds: 60, minRequests: 10, buildHeader: "x-app-version" };

describe("build identity", { timeout: 20_000 }, () => {
  let clock: ReturnType<typeof fakeClock>;
  beforeEach(async () => {
    await resetAnalysis();
    clock = fakeClock();
  });
  afterEach(() => vi.restoreAllMocks());

  it("keeps a canary that serves the rollout's build, and rolls back one redeployed with another build mid-release, naming both", async () => {
    await greenBuild("build-7");
    await commitDoc(canaryDoc({ id: "build-7", percent: 50, analysis: ANALYSIS }));
    await trafficWindow(clock, 0);
    let status = await analysis().status();
    expect(status.lastWindow).toMatchObject({ verdict: "healthy" });
    expect(status.lastWindow!.canary.otherBuilds).toBeUndefined();
    expect((await liveRules()).rules.rollout.percent).toBe(50);

    await greenBuild("build-6"); // someone redeploys green with another build during the release
    const served = await trafficWindow(clock, 1);
    const { rules, revision } = await liveRules();
    expect(rules.rollout.percent).toBe(0);
    const [entry] = await readHistory(env.CANARY_KV);
    expect(entry).toMatchObject({ action: "auto-rollback", updatedBy: ENGINE, revision });
    expect(entry!.reason).toBe(
      `canary green served another build: ${served.green} of ${served.green} answers in [${time(clock.start + 60_000)}-${time(clock.start + 120_000)}] had x-app-version "build-6", ` +
        `not "build-7" (the build this rollout delivers): was it redeployed during the release?`,
    );
    status = await analysis().status();
    expect(status.analysis.latch?.reason).toBe(entry!.reason);
    expect(status.lastWindow!.canary).toMatchObject({ otherBuilds: served.green, otherBuildSeen: "build-6" });
    expect(await visitors(20)).toEqual({ blue: 20, green: 0 });
  });

  it("counts a canary answer without the header as another build, and checks nothing without a build header in the settings", async () => {
    await commitDoc(canaryDoc({ id: "build-8", percent: 50, analysis: { ...ANALYSIS, buildHeader: undefined } }));
    await trafficWindow(clock, 0);
    expect((await liveRules()).rules.rollout.percent).toBe(50);
    expect((await analysis().status()).lastWindow!.canary.otherBuilds).toBeUndefined();

    await commitDoc(canaryDoc({ id: "build-8", percent: 50, analysis: ANALYSIS }));
    await trafficWindow(clock, 1);
    expect((await liveRules()).rules.rollout.percent).toBe(0);
    expect((await analysis().status()).analysis.latch?.reason).toMatch(/^canary green served another build: \d+ of \d+ answers in \[.*\] had no x-app-version, not "build-8"/);
  });
});

const time = (ms: number) => new Date(ms).toISOString().slice(11, 19);
