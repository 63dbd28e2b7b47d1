import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../worker/edge/index.ts";
import { servedBy } from "./helpers.ts";


afterEach(() => vi.restoreAllMocks());

/** Each test file gets a fresh isolate: here no good rules have ever been read. */
describe("before any good rules were read", () => {
  it("does not keep a visitor waiting on a slow KV read: the fallback answers at the 2 s deadline", { timeout: 10_000 }, async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const slowKv = {
      getWithMetadata: () => new Promise((done) => setTimeout(() => done({ value: null, metadata: null }), 4_000)),
    } as unknown as KVNamespace;
    const ctx = createExecutionContext();
    const started = Date.now();
    const request = new Request("https://www.example.test/", { headers: { "cf-connecting-ip": "192.0.2.61" } });
    const res = await worker.fetch(request, { ...env, CANARY_KV: slowKv }, ctx);
    const waited = Date.now() - started;
    expect(servedBy(res)).toBe("blue");
    expect(await res.text()).toBe("blue\n");
    expect(waited).toBeGreaterThanOrEqual(1_900);
    expect(waited).toBeLessThan(3_500);
    await waitOnExecutionContext(ctx);
    expect(warn.mock.calls.map((call) => JSON.parse(String(call[0])).event)).toContain("rules_read_slow");
  });
});
