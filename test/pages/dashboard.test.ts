import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RULES_KEY } from "../../worker/core/release.ts";
import { admin, clearKv, TOKEN } from "../admin-helpers.ts";
import { demoApp } from "../../scripts/demo-app.ts";
import { analysis, analysisEnv, canaryDoc, commitDoc, fakeClock, greenBuild, greenFails, resetAnalysis, trafficWindow, visitAndFlush } from "../analysis-helpers.ts";
import { cookiePair, fetchControlWithEnv, putRules, rulesDoc, servedBy, setCookies, visit } from "../helpers.ts";

const SITE = "https://www.example.test";
/** The dashboard's own host (DASHBOARD_HOST in test/vitest.config.ts): it reaches the control Worker directly, as its custom domain does in production. */
const DASHBOARD = "https://canary.example.test";
const SESSION = "__Host-canary-admin";

/** A request to the dashboard's host, straight to the control Worker (no edge in front, so no handoff), redirects not followed. */
function dash(path: string, init: RequestInit & { cookies?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.cookies) headers.set("cookie", init.cookies);
  const url = new URL(path, DASHBOARD); // a redirect's Location may be a path or a whole URL
  return fetchControlWithEnv(new Request(url, { redirect: "manual", ...init, headers }), {});
}

/** A form post from the dashboard page itself (same origin), optionally signed in. */
function post(path: string, fields: Record<string, string>, init: { cookies?: string; origin?: string } = {}) {
  return dash(`/__canary/admin${path}`, {
    method: "POST",
    body: new URLSearchParams(fields),
    headers: { origin: init.origin ?? DASHBOARD, "content-type": "application/x-www-form-urlencoded" },
    cookies: init.cookies,
  });
}

/** Signs in with the admin token and returns the session cookie to send back. */
async function signedIn(): Promise<string> {
  const res = await post("/login", { token: TOKEN });
  return cookiePair(setCookies(res)[SESSION]);
}

/** The dashboard page as the signed-in operator sees it. */
const page = async (cookies: string) => (await dash("/__canary/admin", { cookies })).text();

/** The hidden fields of the page's form that posts to `path`: what a browser sends with it. */
function hiddenFields(html: string, path: string): Record<string, string> {
  const form = new RegExp(`<form method="post" action="/__canary/admin${path}">([\\s\\S]*?)</form>`).exec(html)?.[1] ?? "";
  const inputs = [...form.matchAll(/<input [^>]*type="hidden"[^>]*>/g)].map(([input]) => input);
  return Object.fromEntries(inputs.map((input) => [/name="([^"]*)"/.exec(input)?.[1], /value="([^"]*)"/.exec(input)?.[1] ?? ""]));
}

/** The session's form token, as the page's forms carry it. */
const formTokenOf = (html: string) => hiddenFields(html, "/ramp")["form-token"] ?? "";

/** Renders the page and posts its form for `path` with `fields` filled in, as an operator would. */
async function submit(cookies: string, path: string, fields: Record<string, string>) {
  return post(path, { ...hiddenFields(await page(cookies), path), ...fields }, { cookies });
}

/** The text a dashboard redirect carries to the page. */
const messageOf = (res: Response) => decodeURIComponent(res.headers.get("location") ?? "");

/** The conflict card of a page, or "" when it has none. */
const conflictCard = (html: string) => /<section [^>]*data-testid="conflict"[\s\S]*?<\/section>/.exec(html)?.[0] ?? "";

/** The live revision and document, as the admin API reads them. */
async function liveRules() {
  const { revision, rules } = (await (await admin("/rules")).json()) as { revision: number; rules: { stable: string; rollout: { percent: number } } };
  return { revision, rules };
}

const liveRevision = async () => (await env.CANARY_KV.getWithMetadata<{ revision: number }>(RULES_KEY)).metadata?.revision ?? 0;

describe("the release dashboard", () => {
  beforeEach(async () => {
    await clearKv();
    await putRules(rulesDoc({ rollout: { id: "dash", percent: 5 } }), { revision: 1 });
  });

  it("asks for the admin token before showing anything", async () => {
    const res = await dash("/__canary/admin");
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('<input id="token" name="token" type="password"');
    expect(html).not.toContain("Canary %");
  });

  it("refuses a wrong token without starting a session", async () => {
    const res = await post("/login", { token: "wrong" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/__canary/admin?failed");
    expect(setCookies(res)[SESSION]).toBeUndefined();
  });

  it("signs in with a strict, signed, host-only session cookie and shows the split", async () => {
    const res = await post("/login", { token: TOKEN });
    expect(setCookies(res)[SESSION]).toMatch(/^__Host-canary-admin=dashboard%3A\d+%3A[0-9a-f]{32}\.[^;]+; Max-Age=28800; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    const page = await dash("/__canary/admin", { cookies: cookiePair(setCookies(res)[SESSION]) });
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    const html = await page.text();
    expect(html).toMatch(/data-testid="percent">5%</);
    expect(html).toContain("Signed in as dashboard (admin token)");
    expect(html).toMatch(/data-testid="propagation">revision 1 reached \d+ of \d+ colos/);
  });

  it("ignores a forged session cookie", async () => {
    const res = await dash("/__canary/admin", { cookies: `${SESSION}=dashboard%3A9999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D` });
    expect(res.status).toBe(401);
  });

  it("ramps with the admin API's own action: validated, recorded, and visitors follow", async () => {
    const cookies = await signedIn();
    const res = await submit(cookies, "/ramp", { percent: "100", reason: "looks good" });
    expect(res.status).toBe(303);
    expect(decodeURIComponent(res.headers.get("location")!)).toBe("/__canary/admin?ok=1&msg=ramp: now revision 2 (rollout.percent: 5 → 100)");
    expect(await liveRevision()).toBe(2);
    expect(servedBy(await visit("/", { ip: "192.0.2.1" }))).toBe("green");
    const history = await (await dash("/__canary/admin", { cookies })).text();
    expect(history).toContain("<td>looks good</td>");
  });

  it("rejects an invalid ramp with the schema's reason and writes nothing", async () => {
    const cookies = await signedIn();
    const res = await submit(cookies, "/ramp", { percent: "250" });
    expect(decodeURIComponent(res.headers.get("location")!)).toMatch(/ok=0&msg=ramp refused: .*\$\.rollout\.percent/);
    expect(await liveRevision()).toBe(1);
  });

  it("reverts only when confirmed", async () => {
    const cookies = await signedIn();
    const unconfirmed = await submit(cookies, "/revert", { reason: "oops" });
    expect(decodeURIComponent(unconfirmed.headers.get("location")!)).toContain("revert: tick the box to confirm");
    expect(await liveRevision()).toBe(1);
    await submit(cookies, "/revert", { reason: "errors", confirm: "yes" });
    expect(await liveRevision()).toBe(2);
  });

  it("does not let a stale tab undo a colleague's revert: the ramp shows what changed instead, and a deliberate retry works", async () => {
    await admin("/ramp", { body: { percent: 50 } });
    const cookies = await signedIn();
    const stale = await page(cookies);
    expect(stale).toMatch(/data-testid="percent">50%</);
    expect((await admin("/revert", { body: { reason: "errors on green" } })).status).toBe(200);
    const before = await liveRules();

    const res = await post("/ramp", { ...hiddenFields(stale, "/ramp"), percent: "60" }, { cookies });
    expect(res.status).toBe(303);
    expect(await liveRules()).toEqual(before);
    expect(before.rules.rollout.percent).toBe(0);
    const landed = await (await dash(res.headers.get("location")!, { cookies })).text();
    const card = conflictCard(landed);
    expect(card).toContain("your ramp to 60% was not applied: the rules changed since your page showed revision 2");
    expect(card).toMatch(/<td>3<\/td><td class="when">[^<]+<\/td><td>admin-token<\/td><td class="changes">revert: rollout.percent: 50 → 0<\/td><td>errors on green<\/td>/);
    expect(card).not.toMatch(/<td>2<\/td>/);
    expect(card).toMatch(/data-testid="conflict-split">revision 3: green at 0%/);

    // The page it landed on is rendered from the current revision: ramping again from it is deliberate, and applies.
    const retry = await post("/ramp", { ...hiddenFields(landed, "/ramp"), percent: "60" }, { cookies });
    expect(messageOf(retry)).toBe("/__canary/admin?ok=1&msg=ramp: now revision 4 (rollout.percent: 0 → 60)");
    expect((await liveRules()).rules.rollout.percent).toBe(60);
  });

  it("does not promote from a stale page", async () => {
    const cookies = await signedIn();
    const stale = await page(cookies);
    await admin("/ramp", { body: { percent: 20, reason: "slower" } });
    const res = await post("/promote", { ...hiddenFields(stale, "/promote"), confirm: "yes" }, { cookies });
    expect(messageOf(res)).toContain("your promote was not applied: the rules changed since your page showed revision 1");
    expect(await liveRules()).toMatchObject({ revision: 2, rules: { stable: "blue", rollout: { percent: 20 } } });
  });

  it("lists every change since the stale page, not only the page's last 20", async () => {
    const cookies = await signedIn();
    const stale = await page(cookies);
    for (let percent = 1; percent <= 25; percent++) await admin("/ramp", { body: { percent: percent + 5 } });
    const res = await post("/ramp", { ...hiddenFields(stale, "/ramp"), percent: "60" }, { cookies });
    const card = conflictCard(await (await dash(res.headers.get("location")!, { cookies })).text());
    expect([...card.matchAll(/<tr><td>(\d+)<\/td>/g)].map((m) => Number(m[1]))).toEqual(Array.from({ length: 25 }, (_, i) => 26 - i));
  });

  it("reverts from a stale page (everyone to stable is always safe), and says the page was stale", async () => {
    const cookies = await signedIn();
    const stale = await page(cookies);
    await admin("/ramp", { body: { percent: 30 } });
    const res = await post("/revert", { ...hiddenFields(stale, "/revert"), confirm: "yes" }, { cookies });
    expect(messageOf(res)).toBe("/__canary/admin?ok=1&msg=revert applied to revision 2 (the page showed 1): now revision 3 (rollout.percent: 30 → 0)");
    expect(await liveRules()).toMatchObject({ revision: 3, rules: { rollout: { percent: 0 } } });
  });

  it("refuses a ramp or promote that does not say which revision its page showed, and writes nothing", async () => {
    const cookies = await signedIn();
    const token = formTokenOf(await page(cookies));
    for (const [path, fields] of [["/ramp", { percent: "50" }], ["/promote", { confirm: "yes" }], ["/ramp", { percent: "50", revision: "latest" }]] as const) {
      const res = await post(path, { ...fields, "form-token": token }, { cookies });
      expect(messageOf(res)).toMatch(/ok=0&msg=(ramp|promote) refused: .*reload the page/);
    }
    expect(await liveRevision()).toBe(1);
  });

  it("still reverts when the form does not say which revision its page showed", async () => {
    // The emergency path: a tab opened before the dashboard sent revisions must still get everyone back to stable.
    const cookies = await signedIn();
    const res = await post("/revert", { confirm: "yes", "form-token": formTokenOf(await page(cookies)) }, { cookies });
    expect(messageOf(res)).toBe("/__canary/admin?ok=1&msg=revert: now revision 2 (rollout.percent: 5 → 0)");
  });

  it("refuses changes without a session, and from another site's page (CSRF)", async () => {
    const cookies = await signedIn();
    const fields = { ...hiddenFields(await page(cookies), "/ramp"), percent: "50" };
    const anonymous = await post("/ramp", fields);
    expect(anonymous.headers.get("location")).toBe("/__canary/admin");
    const crossSite = await post("/ramp", fields, { cookies, origin: "https://evil.example" });
    expect(crossSite.status).toBe(403);
    expect(await liveRevision()).toBe(1);
  });

  it("is off, not open, without an admin token", async () => {
    const res = await fetchControlWithEnv(new Request(`${DASHBOARD}/__canary/admin`), { ADMIN_TOKEN: "" });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("The dashboard is off");
  });
});

describe("the release dashboard on its own host", () => {
  beforeEach(async () => {
    await clearKv();
    await putRules(rulesDoc({ rollout: { id: "dash", percent: 5 } }), { revision: 1 });
  });

  /** A form post to the site's /__canary/admin (through the edge), as a page on the site could send it. */
  const postOnSite = (path: string, fields: Record<string, string>, cookies?: string) =>
    visit(`/__canary/admin${path}`, { method: "POST", body: new URLSearchParams(fields), headers: { origin: SITE, "content-type": "application/x-www-form-urlencoded" }, cookies });

  it("is never shown on the site's host: the site's /__canary/admin redirects to the dashboard's host, path and query kept", async () => {
    const cookies = await signedIn();
    for (const path of ["/__canary/admin", "/__canary/admin?failed"]) {
      const res = await visit(path, { cookies });
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(`${DASHBOARD}${path}`);
      expect(await res.text()).not.toContain("Release dashboard");
    }
  });

  it("neither signs in nor acts on the site's host, even with a session cookie and its form token", async () => {
    const login = await postOnSite("/login", { token: TOKEN });
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe(`${DASHBOARD}/__canary/admin`);
    expect(setCookies(login)[SESSION]).toBeUndefined();

    const cookies = await signedIn();
    const before = await liveRules();
    for (const [path, fields] of [["/promote", { confirm: "yes" }], ["/ramp", { percent: "100" }], ["/revert", { confirm: "yes" }], ["/logout", {}]] as const) {
      const res = await postOnSite(path, { ...hiddenFields(await page(cookies), path), ...fields }, cookies);
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(`${DASHBOARD}/__canary/admin`);
      expect(setCookies(res)[SESSION]).toBeUndefined();
    }
    expect(await liveRules()).toEqual(before);
  });

  it("answers on its own host without an edge in front: / leads to it, and it says it did not come through the edge", async () => {
    const root = await dash("/");
    expect(root.status).toBe(303);
    expect(root.headers.get("location")).toBe("/__canary/admin");
    expect(await page(await signedIn())).toContain("not through the edge");
  });

  it("keeps the request's http on a loopback dashboard host (npm start's own port), https anywhere else", async () => {
    const local = await fetchControlWithEnv(new Request("http://127.0.0.1:8787/__canary/admin?failed"), { DASHBOARD_HOST: "127.0.0.1:8788" });
    expect(local.headers.get("location")).toBe("http://127.0.0.1:8788/__canary/admin?failed");
    const spelled = await fetchControlWithEnv(new Request("http://www.example.test/__canary/admin"), { DASHBOARD_HOST: " https://Canary.Example.test/ " });
    expect(spelled.headers.get("location")).toBe("https://canary.example.test/__canary/admin");
  });

  it("is off, saying to set DASHBOARD_HOST, without a host of its own", async () => {
    for (const host of ["", "canary.example.test/admin"]) {
      const html = await fetchControlWithEnv(new Request(`${DASHBOARD}/__canary/admin`, { headers: { accept: "text/html" } }), { DASHBOARD_HOST: host });
      expect(html.status).toBe(404);
      expect(await html.text()).toContain("The dashboard is off: set <code>DASHBOARD_HOST</code>");
      const json = await fetchControlWithEnv(new Request(`${SITE}/__canary/admin/login`, { method: "POST", body: new URLSearchParams({ token: TOKEN }) }), { DASHBOARD_HOST: host });
      expect(json.status).toBe(404);
      expect(setCookies(json)[SESSION]).toBeUndefined();
      expect(await json.json()).toMatchObject({ error: "dashboard_off", message: expect.stringContaining("set DASHBOARD_HOST") });
    }
  });

  it("forbids framing on every answer of the control Worker", async () => {
    const cookies = await signedIn();
    const answers: Record<string, Response> = {
      "tester page (site)": await visit("/__canary"),
      "dashboard redirect (site)": await visit("/__canary/admin"),
      "admin API (site)": await visit("/__canary/api/rules", { headers: { authorization: `Bearer ${TOKEN}` } }),
      "admin API refusal (site)": await visit("/__canary/api/rules"),
      "unknown router path (site)": await visit("/__canary/nothing-here"),
      "sign-in": await dash("/__canary/admin"),
      dashboard: await dash("/__canary/admin", { cookies }),
      "post redirect": await post("/ramp", { percent: "1" }, { cookies }),
      "cross-site post refused": await post("/ramp", { percent: "1" }, { cookies, origin: "https://evil.example" }),
      "dashboard host root": await dash("/"),
      "outside CANARY_PATH": await dash("/elsewhere"),
      "dashboard off": await fetchControlWithEnv(new Request(`${DASHBOARD}/__canary/admin`), { DASHBOARD_HOST: "" }),
    };
    for (const [name, res] of Object.entries(answers)) {
      await res.arrayBuffer();
      const headers = { csp: res.headers.get("content-security-policy"), frames: res.headers.get("x-frame-options"), cache: res.headers.get("cache-control") };
      expect({ name, ...headers }).toEqual({ name, csp: "frame-ancestors 'none'", frames: "DENY", cache: "no-store" });
    }
  });

  it("refuses a post without this session's form token, before anything else, and writes nothing", async () => {
    const cookies = await signedIn();
    const fields = hiddenFields(await page(cookies), "/promote");
    const otherSession = formTokenOf(await page(await signedIn()));
    expect(fields["form-token"]).toMatch(/^[\w-]{43}$/);
    expect(otherSession).not.toBe(fields["form-token"]); // one token per session, not per operator
    const { "form-token": _, ...withoutToken } = fields;
    const before = await liveRules();
    const attempts: [string, Record<string, string>][] = [
      ["/promote", { ...withoutToken, confirm: "yes" }],
      ["/promote", { ...fields, "form-token": "A".repeat(43), confirm: "yes" }],
      ["/ramp", { ...fields, "form-token": otherSession, percent: "100" }],
      ["/revert", { ...fields, "form-token": "", confirm: "yes" }],
    ];
    for (const [path, form] of attempts) {
      const res = await post(path, form, { cookies });
      expect(res.status).toBe(303);
      expect(messageOf(res)).toMatch(/^\/__canary\/admin\?ok=0&msg=(promote|ramp|revert) refused: the form did not carry this session's token/);
      expect(res.headers.get("x-canary-revision")).toBeNull();
    }
    expect(await liveRules()).toEqual(before);
    expect((await (await admin("/history")).json()) as { entries: unknown[] }).toMatchObject({ entries: [{ revision: 1 }] });

    const signOut = await post("/logout", {}, { cookies });
    expect(messageOf(signOut)).toContain("sign out refused");
    expect(setCookies(signOut)[SESSION]).toBeUndefined();
    expect(setCookies(await post("/logout", { "form-token": fields["form-token"]! }, { cookies }))[SESSION]).toMatch(/Max-Age=0/);
  });
});

describe("the release dashboard's health", () => {
  beforeEach(() => resetAnalysis());
  afterEach(() => vi.restoreAllMocks());

  it("shows each colour's numbers from the last judged window, error rates as percentages", async () => {
    const clock = fakeClock();
    await commitDoc(canaryDoc({ id: "dash-health", percent: 50, analysis: { minRequests: 5, maxErrorRate: 99 } }));
    await greenFails(0.5);
    await trafficWindow(clock, 0, 40);
    const status = await analysis().status();
    const canary = status.lastWindow!.canary;
    expect(canary.errorRate).toBeGreaterThan(0);

    const html = await (await dash("/__canary/admin", { cookies: await signedIn() })).text();
    const row = /<th scope="row">canary<\/th><td>(\d+)<\/td><td>([\d.]+)%<\/td>/.exec(html);
    expect(row?.slice(1)).toEqual([String(canary.requests), canary.errorRate.toFixed(1)]);
    expect(Number(row![2])).toBeLessThanOrEqual(100);
    expect(html).toContain("Analysis on");
  });

  it("says when the canary served another build than the rollout's, and why it was rolled back", async () => {
    const clock = fakeClock();
    await greenBuild("build-6");
    await commitDoc(canaryDoc({ id: "build-7", percent: 50, analysis: { minRequests: 5, buildHeader: "x-app-version" } }));
    const served = await trafficWindow(clock, 0, 40);
    const html = await (await dash("/__canary/admin", { cookies: await signedIn() })).text();
    expect(html).toMatch(/<p data-testid="rollout-run">Analysis on · rolled back at \S+: canary green served another build: \d+ of \d+ answers in \[[\d:-]+\] had x-app-version &quot;build-6&quot;, not &quot;build-7&quot;/);
    expect(html).toContain(`<p data-testid="other-build">${served.green} canary answers came from another build than the rollout&#39;s (they named &quot;build-6&quot;)</p>`);
  });

  it("lists the newest gate calls with their answers, a no-go too", async () => {
    fakeClock();
    const gate = { url: `${analysisEnv.WEBHOOK_URL}/gate/status/503`, timeoutSeconds: 5 };
    await commitDoc(canaryDoc({ id: "dash-gate", percent: 0, analysis: {}, plan: { gates: { beforeStart: gate }, steps: [{ percent: 10, dwellSeconds: 600 }] } }));
    expect((await admin("/rollout/start", { method: "POST", body: { rolloutId: "build-5" } })).status).toBe(409);
    const html = await (await dash("/__canary/admin", { cookies: await signedIn() })).text();
    expect(html).toMatch(/<ul data-testid="gates"><li>\S+ before-start gate http:\/\/127\.0\.0\.1:\d+\/gate\/status\/503 answered 503 in \d+ ms: .*: no-go<\/li><\/ul>/);
    // …and in the history, as a row that made no revision: the live one in brackets
    const { revision } = await liveRules();
    expect(html).toMatch(new RegExp(`<tr><td><span title="no revision: the rules were at ${revision}">\\(${revision}\\)</span></td><td class="when">[^<]+</td><td>admin-token</td><td class="changes">gate: </td><td>before-start gate http://127\\.0\\.0\\.1:\\d+/gate/status/503 answered 503 in \\d+ ms: .*: no-go</td></tr>`));
  });

  it("shows how many open pages' assets came from the other colour, this window and the last, never judged", async () => {
    const clock = fakeClock();
    await commitDoc(canaryDoc({ id: "dash-skew", percent: 0 }));
    const chunk = demoApp("green").chunk; // a page green built, open after its visitor went back to blue
    clock.set(clock.start + 1000);
    for (let i = 0; i < 2; i++) await visitAndFlush(chunk, { ip: "192.0.2.60" });
    await trafficWindow(clock, 0, 5);
    await visitAndFlush(chunk, { ip: "192.0.2.60" });

    const html = await (await dash("/__canary/admin", { cookies: await signedIn() })).text();
    expect(/<p data-testid="skew">([^<]*)<\/p>/.exec(html)?.[1]).toBe(
      "Skew fallbacks (an open page&#39;s asset its visitor&#39;s new colour lacks; not judged): 1 of 1 served by the other colour this window; 2 of 2 served by the other colour last window.",
    );
    expect(html).toMatch(/<th scope="row">skew fallbacks to canary \(not judged\)<\/th><td>2<\/td>/);
    expect(html).toMatch(/<th scope="row">stable<\/th><td>5<\/td>/);
  });

  it("charts the evidence: each colour's error rate and p95 per window, each verdict, the ramp and the rollback", async () => {
    const clock = fakeClock();
    const settings = { minRequests: 5, failingWindows: 1, method: "thresholds" as const };
    await commitDoc(canaryDoc({ id: "dash-chart", percent: 40, analysis: settings }));
    await trafficWindow(clock, 0, 40);
    await commitDoc(canaryDoc({ id: "dash-chart", percent: 60, analysis: settings }), "bob");
    await greenFails(1);
    await trafficWindow(clock, 1, 40);

    const html = await (await dash("/__canary/admin", { cookies: await signedIn() })).text();
    const chart = /<svg[^>]*data-testid="evidence-chart"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? "";
    expect([...chart.matchAll(/data-verdict="([a-z-]+)"/g)].map((m) => m[1])).toEqual(["healthy", "failing"]);
    expect(chart).toMatch(/<g data-series="green"><path d="M[\d.]+,[\d.]+ L[\d.]+,[\d.]+"/);
    expect(chart).toMatch(/<g data-series="blue"><path d="M/);
    expect(chart).toMatch(/<g data-marker="step">.*→ 60%/);
    expect(chart).toMatch(/<g data-marker="rollback">.*auto-rollback \(rev \d+\)/);
    expect(chart).toContain("<title id=\"evidence-title\">Error rate and p95 per colour over the last 2 windows");
  });
});
