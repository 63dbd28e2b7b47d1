import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { rolloutStatus as printStatus } from "../scripts/canary/print-rollout.ts";
import { demoApp } from "../scripts/demo-app.ts";
import app from "../worker/edge/index.ts";
import { CanaryAnalysis } from "../worker/control/rollout/analysis-object.ts";
import { analysis, analysisEnv, canaryDoc, commitDoc, fakeClock, resetAnalysis, visitAndFlush } from "./analysis-helpers.ts";

/** The current window's numbers per colour, as `rollout status` shows them. */
async function recorded() {
  const current = (await analysis().status()).currentWindow!;
  return { blue: current.stable, green: current.canary };
}

describe("health recording", () => {
  let clock: ReturnType<typeof fakeClock>;
  beforeEach(async () => {
    await resetAnalysis();
    clock = fakeClock();
    clock.set(clock.start + 1000);
  });
  afterEach(() => vi.restoreAllMocks());

  it("counts every proxied request for the colour that served it: status classes, origin timeouts and failures, latency", async () => {
    await commitDoc(
      canaryDoc(
        { id: "counts", percent: 0 },
        { origins: { blue: { url: analysisEnv.BLUE_ORIGIN, timeoutMs: 1000 }, green: { url: "http://127.0.0.1:1" } } },
      ),
    );
    // A 1 s origin timeout: a quick answer stays far under it on a busy machine too (100 ms did not), a 2.5 s one far over it.
    const statuses = [];
    for (const path of ["/", "/", "/redirect", "/status/404", "/slow?ms=2500", "/slow?ms=2500", "/?__canary=green", "/?__canary=green"]) {
      statuses.push((await visitAndFlush(path, { ip: "192.0.2.1" })).status);
    }
    expect(statuses).toEqual([200, 200, 302, 404, 504, 504, 502, 502]);

    const { blue, green } = await recorded();
    expect(blue).toMatchObject({ requests: 6, classes: { "2xx": 2, "3xx": 1, "4xx": 1, "5xx": 2 }, errors: 2, timeouts: 2, unreachable: 0 });
    expect(blue.p99).toBeGreaterThanOrEqual(1000);
    // The two green requests came from the tester override: counted apart, never for the canary's judgment.
    expect(green.requests).toBe(0);
    const testers = (await analysis().status()).currentWindow!.testers.canary;
    expect(testers).toMatchObject({ requests: 2, classes: { "5xx": 2 }, errors: 2, errorRate: 100, timeouts: 0, unreachable: 2 });
  });

  it("counts skew fallbacks apart, by the colour asked, served or not: neither colour's health", async () => {
    await commitDoc(canaryDoc({ id: "skew-count", percent: 0 }));
    const chunk = demoApp("green").chunk; // an open page's chunk that only green built; the visitor is on blue
    const statuses = [];
    for (const path of ["/", chunk, chunk, "/assets/gone.0badc0de.js", "/status/404"]) statuses.push((await visitAndFlush(path, { ip: "192.0.2.44" })).status);
    expect(statuses).toEqual([200, 200, 200, 404, 404]);

    const current = (await analysis().status()).currentWindow!;
    // blue served the page, the 404 of a non-asset and that of the asset neither colour has; the fallbacks are nobody's.
    expect(current.stable).toMatchObject({ requests: 3, classes: { "2xx": 1, "4xx": 2 }, errors: 0 });
    expect(current.canary.requests).toBe(0);
    expect(current.skew.canary).toMatchObject({ requests: 3, classes: { "2xx": 2, "4xx": 1 }, errors: 0 });
    expect(current.skew.stable.requests).toBe(0);
    // `canary status` prints them in a row of their own.
    expect(printStatus(await analysis().status()).filter((line) => line.includes("(skew)"))).toEqual([
      "  green (skew)    3 asset requests asked after a 404 from the other colour, 2 served · not judged",
    ]);
  });

  it("leaves visitors who hung up out of the health: the origin's request is cancelled, which says nothing about the origin", async () => {
    await commitDoc(canaryDoc({ id: "hung-up", percent: 0 }));
    await visitAndFlush("/", { ip: "192.0.2.1", signal: AbortSignal.abort() });
    await visitAndFlush("/", { ip: "192.0.2.1" });
    expect((await recorded()).blue).toMatchObject({ requests: 1, unreachable: 0 });
  });

  it("tells an origin's own 5xx from the router's 502/504 for an origin it could not use", async () => {
    await commitDoc(canaryDoc({ id: "own-5xx", percent: 0 }));
    await visitAndFlush("/status/502", { ip: "192.0.2.1" });
    await visitAndFlush("/status/504", { ip: "192.0.2.1" });
    expect((await recorded()).blue).toMatchObject({ requests: 2, errors: 2, timeouts: 0, unreachable: 0 });
  });

  it("sends batches every HEALTH_FLUSH_REQUESTS requests or HEALTH_FLUSH_MS, whichever comes first", async () => {
    await commitDoc(canaryDoc({ id: "batches", percent: 0 }));
    const visit = async () => {
      const ctx = createExecutionContext();
      const batching = { ...env, HEALTH_FLUSH_REQUESTS: "3", HEALTH_FLUSH_MS: "5000" };
      await (await app.fetch(new Request("https://www.example.test/", { headers: { "cf-connecting-ip": "192.0.2.9" } }), batching, ctx)).text();
      await waitOnExecutionContext(ctx);
    };
    await visitAndFlush("/", { ip: "192.0.2.9" }); // empties this isolate's buffer: the count starts from here
    clock.set(clock.now + 1000);
    await visit();
    await visit();
    expect((await recorded()).blue.requests).toBe(1);
    await visit();
    expect((await recorded()).blue.requests).toBe(4);
    await visit();
    expect((await recorded()).blue.requests).toBe(4);
    clock.set(clock.now + 5000);
    await visit();
    expect((await recorded()).blue.requests).toBe(6);
  });

  it("ignores reports stamped by a clock far ahead, which would otherwise sit in storage until their time", async () => {
    const health = { requests: 1, errors: 0, timeouts: 0, unreachable: 0, classes: { "2xx": 1 }, latency: { 0: 1 } };
    await analysis().record([
      { slot: clock.now, rolloutId: "skew", colour: "blue", health },
      { slot: clock.now + 3_600_000, rolloutId: "skew", colour: "blue", health },
    ]);
    const keys = await runInDurableObject(analysis(), async (_, state) => [...(await state.storage.list({ prefix: "slot:" })).keys()]);
    expect(keys).toEqual([`slot:${String(Math.floor(clock.now / 10_000) * 10_000).padStart(16, "0")}`]);
  });

  it("keeps routing when the health store throws", async () => {
    await commitDoc(canaryDoc({ id: "store-throws", percent: 0 }));
    const record = vi.spyOn(CanaryAnalysis.prototype, "record").mockRejectedValue(new Error("storage is down"));
    const response = await visitAndFlush("/", { ip: "192.0.2.1" });
    expect(record).toHaveBeenCalled();
    expect(response.status).toBe(200);
    expect(response.headers.get("x-canary-version")).toBe("blue");
    expect((await recorded()).blue.requests).toBe(0);
  });

  it("keeps routing when the health store's binding is missing or broken", async () => {
    await commitDoc(canaryDoc({ id: "no-binding", percent: 100 }));
    for (const broken of [undefined, { getByName: () => { throw new Error("no such namespace"); } }]) {
      const ctx = createExecutionContext();
      const response = await app.fetch(new Request("https://www.example.test/"), { ...env, CANARY_ANALYSIS: broken as never, HEALTH_FLUSH_REQUESTS: "1" }, ctx);
      await waitOnExecutionContext(ctx);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("green\n");
    }
  });

  // Last in this file: the hung flush keeps this isolate from flushing again for FLUSH_TIMEOUT_MS.
  it("answers the visitor without waiting for a health store that never answers", async () => {
    await commitDoc(canaryDoc({ id: "store-hangs", percent: 100 }));
    let called = false;
    const hanging = { getByName: () => ({ record: () => ((called = true), new Promise(() => {})) }) };
    const ctx = createExecutionContext();
    const response = await app.fetch(new Request("https://www.example.test/"), { ...env, CANARY_ANALYSIS: hanging as never, HEALTH_FLUSH_REQUESTS: "1" }, ctx);
    expect(called).toBe(true);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("green\n");
  });
});
