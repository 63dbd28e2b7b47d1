import { beforeEach, describe, expect, it } from "vitest";
import { demoApp } from "../scripts/demo-app.ts";
import { checkRules } from "../worker/core/rules-check.ts";
import { LIMITS } from "../worker/core/rules-definitions.ts";
import { parseRules } from "../worker/core/rules.ts";
import { DEFAULT_ASSET_PREFIXES } from "../worker/core/rules-definitions.ts";
import { compileSkew, isImmutableAsset, mayFallBack } from "../worker/core/skew.ts";
import { putRules, rulesDoc, servedBy, visit } from "./helpers.ts";

/**
 * Skew protection (worker/edge/skew.ts): a page green served, still open after its visitor was sent
 * to blue, loads its own build's chunk from green; pages, API calls and anything but GET/HEAD never
 * change colour. How the fallbacks are counted: test/health-recording.test.ts and test/metrics.test.ts.
 */

const green = demoApp("green");
const blue = demoApp("blue");
const defaults = compileSkew(undefined)!;

describe("which requests may fall back", () => {
  it("immutable assets: the common frameworks' build folders and content-hashed file names, static file types only", () => {
    const assets = [
      "/assets/index-BxT3k9aZ.js", "/_next/static/chunks/app/page-0a1b2c3d.js", "/_next/static/css/4f6e.css", "/_astro/Layout.astro_astro_type_style.css",
      "/_app/immutable/chunks/entry.C3xQk1.js", "/_nuxt/entry.mjs", "/build/root-XYZ.js", "/static/js/main.8c2f4e1a.chunk.js", "/static/media/logo.svg",
      "/js/checkout.3f9a1c.js", "/img/hero-DiwrgTda.webp", "/fonts/inter.a1b2c3d4e5.woff2", "/js/index-BwOPSdeb.js", "/js/run.zBhXlcZQ.js",
    ];
    const not = [
      "/", "/app", "/assets/", "/assets/data.json", "/assets/page.html", "/api/orders", "/api/orders.json", "/_next/data/build/index.json",
      "/js/app.js", "/img/logo.png", "/js/checkout-page.js", "/report-123456.pdf", "/static/other/x.js",
      "/js/chunk-hoistMocks.js", "/lib/Reflect.getPrototypeOf.js", "/js/customise-verifyBody.js", // camelCase words, no hashes
    ];
    expect(assets.filter((path) => !isImmutableAsset(defaults, path))).toEqual([]);
    expect(not.filter((path) => isImmutableAsset(defaults, path))).toEqual([]);
    expect(isImmutableAsset({ prefixes: [], contentHash: false }, "/assets/index-BxT3k9aZ.js")).toBe(false);
    expect(isImmutableAsset({ prefixes: ["/cdn/"], contentHash: false }, "/cdn/logo.png")).toBe(true);
  });

  it("only GET and HEAD, never a navigation or a WebSocket", () => {
    const path = "/assets/index-BxT3k9aZ.js";
    expect(mayFallBack(defaults, "GET", path, { "sec-fetch-dest": "script", "sec-fetch-mode": "cors" }, true)).toBe(true);
    expect(mayFallBack(defaults, "HEAD", path, {}, true)).toBe(true);
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) expect(mayFallBack(defaults, method, path, {}, true)).toBe(false);
    expect(mayFallBack(defaults, "GET", path, { "sec-fetch-mode": "navigate" }, true)).toBe(false);
    expect(mayFallBack(defaults, "GET", path, { upgrade: "websocket" }, true)).toBe(false);
    for (const dest of ["document", "iframe", "frame"]) expect(mayFallBack(defaults, "GET", path, { "sec-fetch-dest": dest }, true)).toBe(false);
  });

  it("to the canary only under a name a page of its build handed out: a content hash in the file name or as a folder", () => {
    const toCanary = (path: string) => mayFallBack(defaults, "GET", path, {}, true);
    const toStable = (path: string) => mayFallBack(defaults, "GET", path, {}, false);
    expect(["/assets/logo.png", "/_next/static/chunks/webpack.js", "/static/media/logo.svg"].map((path) => [toStable(path), toCanary(path)])).toEqual([[true, false], [true, false], [true, false]]);
    expect(["/assets/logo-3f9a1c2b.png", "/_next/static/Xb2kLq9ZrT4wYp7vN3mQa/_buildManifest.js", "/js/index-BwOPSdeb.js"].map(toCanary)).toEqual([true, true, true]);
  });

  it("is configured in the rules: on with the defaults when left out, off, or with its own prefixes; both validators agree and refuse bad input", () => {
    const doc = rulesDoc();
    for (const check of [parseRules, checkRules]) {
      const absent = check(doc);
      expect(absent.ok && absent.rules.skewProtection).toBeUndefined();
      const given = check({ ...doc, skewProtection: { pathPrefixes: ["/cdn/"] } });
      expect(given.ok && given.rules.skewProtection).toEqual({ enabled: true, pathPrefixes: ["/cdn/"], contentHash: true });
      const bad = check({ ...doc, skewProtection: { pathPrefixes: ["cdn/"], enabled: "yes" } });
      expect(bad.ok ? [] : bad.issues.map((issue) => issue.path).sort()).toEqual(["$.skewProtection.enabled", "$.skewProtection.pathPrefixes[0]"]);
      const prefixes = (n: number) => ({ ...doc, skewProtection: { pathPrefixes: Array.from({ length: n }, (_, i) => `/p${i}/`) } });
      expect([check(prefixes(LIMITS.assetPrefixes)).ok, check(prefixes(LIMITS.assetPrefixes + 1)).ok]).toEqual([true, false]);
    }
    expect(compileSkew({ enabled: false })).toBeNull();
    expect(compileSkew({ enabled: true, contentHash: true })).toEqual({ prefixes: DEFAULT_ASSET_PREFIXES, contentHash: true });
  });
});

describe("an open page after its visitor changed colour", () => {
  beforeEach(() => putRules(rulesDoc()));

  it("gets its chunk from the colour that built it, stamped with that colour and x-canary-skew: fallback", async () => {
    // The visitor is on blue (0%): the page green served before the revert asks for green's chunk.
    const res = await visit(green.chunk, { ip: "203.0.113.7", headers: { "sec-fetch-dest": "script", "sec-fetch-mode": "cors" } });
    expect(res.status).toBe(200);
    expect(servedBy(res)).toBe("green");
    expect(res.headers.get("x-canary-skew")).toBe("fallback");
    expect(res.headers.get("x-origin-colour")).toBe("green");
    expect(await res.text()).toContain("checkout from the green build");

    const head = await visit(green.chunk, { method: "HEAD", ip: "203.0.113.7" });
    expect([head.status, servedBy(head), head.headers.get("x-canary-skew")]).toEqual([200, "green", "fallback"]);
  });

  it("works the other way too: a canary visitor's page blue served gets blue's chunk, and blue's files of any name in its build folders", async () => {
    await putRules(rulesDoc({ rollout: { id: "r1", percent: 100 } }));
    const res = await visit(blue.chunk, { ip: "203.0.113.8" });
    expect([res.status, servedBy(res), res.headers.get("x-canary-skew")]).toEqual([200, "blue", "fallback"]);
    expect(await res.text()).toContain("checkout from the blue build");
    const logo = await visit(blue.logo, { ip: "203.0.113.8" });
    expect([logo.status, servedBy(logo), logo.headers.get("x-canary-skew")]).toEqual([200, "blue", "fallback"]);
    await logo.arrayBuffer();
  });

  it("never hands a stable visitor a canary file whose name they could guess: only hashed names", async () => {
    const res = await visit(green.logo, { ip: "203.0.113.11" });
    expect([res.status, servedBy(res), res.headers.get("x-canary-skew")]).toEqual([404, "blue", null]);
    await res.arrayBuffer();
  });

  it("leaves the visitor's own answers alone: an asset both have, a 404 that is no asset, a POST, a navigation, an asset neither has", async () => {
    const own = await visit(blue.chunk, { ip: "203.0.113.9" });
    expect([own.status, servedBy(own), own.headers.get("x-canary-skew")]).toEqual([200, "blue", null]);
    await own.arrayBuffer();
    const cases: [string, RequestInit][] = [
      ["/status/404", {}],
      [green.chunk, { method: "POST", body: "x" }],
      [green.chunk, { headers: { "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" } }],
      ["/assets/gone.0badc0de.js", {}],
    ];
    for (const [path, init] of cases) {
      const res = await visit(path, { ip: "203.0.113.9", ...init });
      expect([path, init.method ?? "GET", res.status, servedBy(res), res.headers.get("x-canary-skew")]).toEqual([path, init.method ?? "GET", 404, "blue", null]);
      await res.arrayBuffer();
    }
  });

  it("is off when the rules say so: the stale page's chunk is the visitor's colour's 404", async () => {
    await putRules(rulesDoc({ skewProtection: { enabled: false } }));
    const res = await visit(green.chunk, { ip: "203.0.113.10" });
    expect([res.status, servedBy(res), res.headers.get("x-canary-skew")]).toEqual([404, "blue", null]);
    expect(await res.text()).toBe(`blue has no ${green.chunk}\n`);
  });
});
