import { describe, expect, it } from "vitest";
import { compileRules, originTarget } from "../worker/core/matching.ts";
import { parseRules } from "../worker/core/rules.ts";
import { forward } from "../worker/edge/forward.ts";
import { cookiePair, putRules, rulesDoc, servedBy, setCookies, testEnv, visit } from "./helpers.ts";

interface Echo {
  colour: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  /** Name, value, name, value... as received (Node's `headers` object has no room for `__proto__`). */
  rawHeaders: string[];
  body: string;
}

const echo = async (res: Response) => (await res.json()) as Echo;

describe("forwarding to the origin", () => {
  it("keeps method, path, query, headers and body intact", async () => {
    await putRules(rulesDoc());
    const res = await visit("/echo?q=1&q=2&x=%20y", {
      method: "PUT",
      ip: "192.0.2.1",
      headers: { "content-type": "application/json", "x-app": "kept", authorization: "Bearer app-token" },
      body: JSON.stringify({ hello: "world" }),
    });
    const got = await echo(res);
    expect(got).toMatchObject({ colour: "blue", method: "PUT", path: "/echo", query: "?q=1&q=2&x=%20y", body: '{"hello":"world"}' });
    expect(got.headers).toMatchObject({ "content-type": "application/json", "x-app": "kept", authorization: "Bearer app-token" });
  });

  it("streams a large POST body through without buffering it into a string first", async () => {
    await putRules(rulesDoc());
    const chunk = "x".repeat(64 * 1024);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 32) return controller.close();
        sent++;
        controller.enqueue(new TextEncoder().encode(chunk));
      },
    });
    const res = await visit("/echo", { method: "POST", ip: "192.0.2.1", body, headers: { "content-type": "text/plain" } });
    const got = await echo(res);
    expect(got.body.length).toBe(32 * 64 * 1024);
    expect(got.headers["transfer-encoding"] ?? got.headers["content-length"]).toBeDefined();
  });

  it("strips spoofable and router headers, and sets forwarding headers from what Cloudflare saw", async () => {
    await putRules(rulesDoc({ rollout: { id: "r1", percent: 100 } }));
    const res = await visit("/echo", {
      ip: "198.51.100.23",
      headers: {
        "x-forwarded-for": "1.1.1.1",
        "x-forwarded-host": "evil.example",
        "x-forwarded-proto": "http",
        forwarded: "for=1.1.1.1",
        "x-real-ip": "1.1.1.1",
        "x-canary-version": "blue",
        "x-canary-anything": "spoofed",
      },
      cookies: "session=abc; __Host-canary=r1%3A5.sig; __Host-canary-force=green; __Host-canary-admin=x; theme=dark",
    });
    const { headers } = await echo(res);
    expect(headers["x-forwarded-for"]).toBe("198.51.100.23");
    expect(headers["x-forwarded-host"]).toBe("www.example.test");
    expect(headers["x-forwarded-proto"]).toBe("https");
    expect(headers["x-canary-version"]).toBe("green");
    expect(headers.forwarded).toBeUndefined();
    expect(headers["x-real-ip"]).toBeUndefined();
    expect(headers["x-canary-anything"]).toBeUndefined();
    expect(headers.cookie).toBe("session=abc; theme=dark");
  });

  it("strips hop-by-hop headers, the whole Proxy-* family and every header a client could claim an IP with", async () => {
    await putRules(rulesDoc());
    const hopByHop = { "keep-alive": "timeout=5", te: "trailers", trailer: "x-checksum", "proxy-connection": "keep-alive", "proxy-authorization": "Basic eA==", "proxy-foo": "1" };
    const claims = { "true-client-ip": "1.1.1.1", "x-client-ip": "1.1.1.1", "x-cluster-client-ip": "1.1.1.1", "client-ip": "1.1.1.1", "forwarded-for": "1.1.1.1", "fastly-client-ip": "1.1.1.1", "x-forwarded-port": "80" };
    const res = await visit("/echo", { ip: "198.51.100.23", headers: { ...hopByHop, ...claims, "x-app": "kept", ["__proto__"]: "kept too", constructor: "also" } });
    const { headers, rawHeaders } = await echo(res);
    for (const name of [...Object.keys(hopByHop), ...Object.keys(claims)]) expect(headers[name], name).toBeUndefined();
    expect(headers["x-app"]).toBe("kept");
    // Names that are Object.prototype's reach the origin like any other.
    expect(rawHeaders.join("|")).toContain("__proto__|kept too");
    expect(headers.constructor).toBe("also");
    expect(headers["x-forwarded-for"]).toBe("198.51.100.23");
  });

  it("removes the router's cookies however several Cookie lines were joined", async () => {
    await putRules(rulesDoc());
    const lines = new Headers([["cookie", "a=1"], ["cookie", "__Host-canary=r1%3A1.AAAA"], ["cookie", "b=2; __Host-canary-force=green"]]);
    const res = await visit("/echo", { ip: "192.0.2.1", headers: lines });
    // Joined, the lines read "a=1, __Host-canary=…, b=2; __Host-canary-force=green": a router cookie
    // after the ", " seam is cut out to the next ";", and "b=2" (inside that stretch) goes with it.
    expect((await echo(res)).headers.cookie).toBe("a=1");
  });

  it("forwards any header a client can send: odd but valid values never make building the origin's request fail", async () => {
    await putRules(rulesDoc());
    const odd = { "x-latin": "caf\u00e9", "x-empty": "", "x-tab": "a\tb", "x-quote": '"q", \'s\'', "x-long": "v".repeat(8000) };
    const res = await visit("/echo", { ip: "192.0.2.1", method: "PATCH", body: "x", headers: odd });
    expect(res.status).toBe(200);
    const { headers, method } = await echo(res);
    expect(method).toBe("PATCH");
    expect([headers["x-empty"], headers["x-tab"], headers["x-quote"], headers["x-long"]?.length]).toEqual(["", "a\tb", '"q", \'s\'', 8000]);
  });

  it("leaves a Cookie line without router cookies as it came, a value holding \", \" included", async () => {
    await putRules(rulesDoc());
    const cookie = 'v={"a":"x, y=1"}; q=a=1, b=2; theme=dark';
    const res = await visit("/echo", { ip: "192.0.2.1", cookies: cookie });
    expect((await echo(res)).headers.cookie).toBe(cookie);
  });

  it("returns redirects to the visitor instead of following them", async () => {
    await putRules(rulesDoc());
    const res = await visit("/redirect", { ip: "192.0.2.1" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/echo");
    expect(servedBy(res)).toBe("blue");
  });

  it("passes origin error statuses through untouched", async () => {
    await putRules(rulesDoc());
    const res = await visit("/status/503", { ip: "192.0.2.1" });
    expect(res.status).toBe(503);
    expect(await res.text()).toBe("blue 503\n");
  });

  it("answers a clean 504 when the origin is slower than its timeout", async () => {
    await putRules(rulesDoc({ origins: { blue: { url: testEnv.BLUE_ORIGIN, timeoutMs: 200 }, green: { url: testEnv.GREEN_ORIGIN } } }));
    const started = Date.now();
    const res = await visit("/slow?ms=3000", { ip: "192.0.2.1" });
    expect(res.status).toBe(504);
    expect(await res.text()).toBe("edge-canary: the blue origin timed out after 200 ms\n");
    expect(servedBy(res)).toBe("blue");
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it("holds the canary to the default deadline, the stable version to none unless set, and counts a stable answer past the canary's deadline as a timeout", async () => {
    const parsed = parseRules(rulesDoc({ origins: { blue: { url: testEnv.BLUE_ORIGIN }, green: { url: testEnv.GREEN_ORIGIN, timeoutMs: 5000 } } }));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const { origins } = compileRules(parsed.rules);
    expect(origins.blue.deadlineMs).toEqual({ canary: 30_000, stable: undefined });
    expect(origins.green.deadlineMs).toEqual({ canary: 5000, stable: 5000 });
    // Stable blue, without a deadline, is judged late when green as canary would have been cut off, and the other way round.
    expect([origins.blue.overdueMs, origins.green.overdueMs]).toEqual([5000, 30_000]);
    // forward picks the deadline of the role the decision gives: the same origin, 200 ms as canary, none as stable.
    const target = { ...originTarget({ url: testEnv.BLUE_ORIGIN }), deadlineMs: { canary: 200 }, overdueMs: 200 };
    const url = new URL("https://www.example.test/slow?ms=600");
    const asCanary = await forward(new Request(url), url, target, { colour: "blue", role: "canary", reason: "split", bucket: 0 }, testEnv);
    expect([asCanary.response.status, asCanary.failure]).toEqual([504, "timeout"]);
    const stable = { colour: "blue", role: "stable", reason: "split", bucket: 0 } as const;
    const asStable = await forward(new Request(url), url, target, stable, testEnv);
    // The stable visitor gets the answer, and health counts it as the canary would have been counted: one clock for both.
    expect([asStable.response.status, await asStable.response.text(), asStable.failure]).toEqual([200, "blue (slow)\n", "timeout"]);
    const quick = new URL("https://www.example.test/");
    expect((await forward(new Request(quick), quick, target, stable, testEnv)).failure).toBeUndefined();
  });

  it("times the origin out until its response headers only: a slower body streams to the end", async () => {
    await putRules(rulesDoc({ origins: { blue: { url: testEnv.BLUE_ORIGIN, timeoutMs: 200 }, green: { url: testEnv.GREEN_ORIGIN } } }));
    const res = await visit("/drip?chunks=5&ms=100", { ip: "192.0.2.1" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("blue 0\nblue 1\nblue 2\nblue 3\nblue 4\n");
  });

  it("answers 502 when the origin cannot be reached", async () => {
    await putRules(rulesDoc({ origins: { blue: { url: "http://127.0.0.1:9" }, green: { url: testEnv.GREEN_ORIGIN } } }));
    const res = await visit("/", { ip: "192.0.2.1" });
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/blue origin could not be reached/);
  });

  it("answers 502, not an exception, for an origin URL that does not parse (a bad FALLBACK_ORIGIN)", async () => {
    const decision = { colour: "blue", role: "stable", reason: "split", bucket: 0 } as const;
    const url = new URL("https://www.example.test/");
    const { response, failure } = await forward(new Request(url), url, originTarget({ url: "blue.example.com", timeoutMs: 1000 }), decision, testEnv);
    expect(response.status).toBe(502);
    expect(failure).toBe("unreachable");
  });

  it("returns the origin's redirects and strips spoofed headers whatever redirect mode the incoming request has", async () => {
    const decision = { colour: "blue", role: "stable", reason: "split", bucket: 0 } as const;
    const target = originTarget({ url: testEnv.BLUE_ORIGIN, timeoutMs: 5000 });
    for (const redirect of ["manual", "follow"] as const) {
      const url = new URL("https://www.example.test/redirect");
      const request = new Request(url, { redirect, headers: { "x-forwarded-for": "1.1.1.1", "cf-connecting-ip": "198.51.100.7" } });
      const { response } = await forward(request, url, target, decision, testEnv);
      expect([redirect, response.status, response.headers.get("location")]).toEqual([redirect, 302, "/echo"]);
      const echoed = await forward(request, new URL("https://www.example.test/echo"), target, decision, testEnv);
      expect((await echo(echoed.response)).headers).toMatchObject({ "x-forwarded-for": "198.51.100.7", "x-forwarded-host": "www.example.test", "x-canary-version": "blue" });
      const posted = new Request("https://www.example.test/echo?x=1", { method: "POST", redirect, body: "hello", headers: { "content-type": "text/plain" } });
      const answer = await echo((await forward(posted, new URL(posted.url), target, decision, testEnv)).response);
      expect(answer).toMatchObject({ method: "POST", path: "/echo", query: "?x=1", body: "hello" });
    }
  });

  it("rewrites a 201's Location on the origin's own host to the public URL, like a redirect's", async () => {
    const decision = { colour: "blue", role: "stable", reason: "split", bucket: 0 } as const;
    const target = originTarget({ url: testEnv.BLUE_ORIGIN, timeoutMs: 5000 });
    const url = new URL("https://www.example.test/status/201");
    const created = await forward(new Request(url, { method: "POST", body: "{}" }), url, target, decision, testEnv);
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get("location")).toBe("https://www.example.test/items/7");
  });

  it("appends the request path to an origin base path", async () => {
    await putRules(rulesDoc({ origins: { blue: { url: `${testEnv.BLUE_ORIGIN}/echo` }, green: { url: testEnv.GREEN_ORIGIN } } }));
    const res = await visit("/deep/page", { ip: "192.0.2.1" });
    expect((await echo(res)).path).toBe("/echo/deep/page");
  });

  it("varies responses on everything the decision reads, so no shared cache hands one version to the other's visitors", async () => {
    await putRules(
      rulesDoc({
        stickiness: { userIdHeader: "x-user-id" },
        rules: [{ name: "tier", when: { header: { name: "X-Tier", values: ["beta"] } }, serve: "canary" }],
      }),
    );
    const res = await visit("/cached", { ip: "192.0.2.1" });
    expect(res.headers.get("vary")).toBe("Accept-Encoding, Cookie, x-user-id, x-tier");
  });

  it("keeps a response that pins a visitor out of shared caches, and leaves others cacheable", async () => {
    await putRules(rulesDoc());
    const first = await visit("/cached", { ip: "192.0.2.1" });
    expect(first.headers.getSetCookie()).toHaveLength(1);
    expect(first.headers.get("cache-control")).toBe("private, max-age=600");
    const plain = await visit("/", { ip: "192.0.2.2" });
    expect(plain.headers.get("cache-control")).toBe("private");
    const again = await visit("/cached", { ip: "192.0.2.1", cookies: cookiePair(setCookies(first)["__Host-canary"]) });
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(again.headers.get("cache-control")).toBe("public, max-age=600");
  });

  it("rewrites an origin's redirects to itself so the visitor stays on the router, resolving relative ones from the page", async () => {
    await putRules(rulesDoc({ origins: { blue: { url: `${testEnv.BLUE_ORIGIN}/echo` }, green: { url: testEnv.GREEN_ORIGIN } } }));
    const redirect = async (location: string) =>
      (await visit(`/a/b/redirect-to?location=${encodeURIComponent(location)}`, { ip: "192.0.2.1" })).headers.get("location");
    expect(await redirect("{self}/echo/landing?x=1")).toBe("https://www.example.test/landing?x=1");
    expect(await redirect("d")).toBe("https://www.example.test/a/b/d");
    expect(await redirect("?page=2")).toBe("https://www.example.test/a/b/redirect-to?page=2");
    expect(await redirect("../x")).toBe("https://www.example.test/a/x");
    expect(await redirect("https://elsewhere.example/")).toBe("https://elsewhere.example/");
  });

  it("leaves relative redirects alone when the origin has no base path: the browser resolves them right", async () => {
    await putRules(rulesDoc());
    const res = await visit(`/a/b/redirect-to?location=${encodeURIComponent("../x")}`, { ip: "192.0.2.1" });
    expect(res.headers.get("location")).toBe("../x");
  });

  it("strips the override parameter however it is encoded", async () => {
    await putRules(rulesDoc({ overrides: "open" }));
    const res = await visit("/echo?%5F%5Fcanary=green&a=1", { ip: "192.0.2.1" });
    expect(((await res.json()) as Echo).query).toBe("?a=1");
  });
});

describe("Worker origins and WebSockets", () => {
  const viaWorker = () =>
    rulesDoc({ origins: { blue: { url: testEnv.BLUE_ORIGIN }, green: { service: "GREEN_WORKER" } }, overrides: "open" });

  it("forwards to a service binding, keeping the public URL", async () => {
    await putRules(viaWorker());
    const res = await visit("/hello?x=1&__canary=green", { ip: "192.0.2.1" });
    expect(await res.json()).toEqual({ colour: "green-worker", url: "https://www.example.test/hello?x=1", version: "green" });
  });

  it("passes a WebSocket upgrade through to the pinned colour", async () => {
    await putRules(viaWorker());
    const res = await visit("/socket?__canary=green", { ip: "192.0.2.1", headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    expect(servedBy(res)).toBe("green");
    const socket = res.webSocket!;
    socket.accept();
    const reply = new Promise<string>((resolve) => socket.addEventListener("message", (e) => resolve(String(e.data))));
    socket.send("hi");
    expect(await reply).toBe("green says: hi");
    socket.close();
  });
});
