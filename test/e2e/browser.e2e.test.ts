import { mkdirSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page, type Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { demoApp } from "../../scripts/demo-app.ts";
import { budget, greenShare, releaseDoc, rolloutStatus, scaled } from "./helpers.ts";

/** Debian's Chromium, started the way this machine allows (no sandbox as root, no background network). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = new URL("../artifacts/", import.meta.url);

let browser: Browser;
let tester: BrowserContext;
let operator: BrowserContext;
const url = (path: string) => `${inject("workerUrl")}${path}`;
/** The release dashboard, on its own origin (DASHBOARD_HOST: a port of its own here, a custom domain in production). */
const DASHBOARD = () => `${inject("dashboardOrigin")}/__canary/admin`;
/** How long a page may take to show a change: 5 s on an idle machine, longer on a busy one. */
const poll = { timeout: scaled(5_000) };

/** Writes the rules through the admin API, as an operator's script would. */
async function putRules(doc: object): Promise<void> {
  const res = await fetch(url("/__canary/api/rules"), {
    method: "PUT",
    headers: { authorization: `Bearer ${inject("adminToken")}`, "content-type": "application/json" },
    body: JSON.stringify(doc),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** The admin API's answer to a GET (bearer token: no ambient credential, so it may stay on the site). */
async function api<T>(path: string): Promise<T> {
  const res = await fetch(url(`/__canary/api${path}`), { headers: { authorization: `Bearer ${inject("adminToken")}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

const rules = () => api<{ revision: number; rules: { stable: string; rollout: { id: string; percent: number } } }>("/rules");

/** What the hostile page's script saw (scripts/attack-page.ts). */
interface AttackReport {
  reads: { base: string; signedIn?: boolean; revision?: string | null; error?: string }[];
  posts: { url: string; type?: string; status?: number; error?: string }[];
  frames: { src: string; readable: boolean; dashboard: boolean }[];
  error?: string;
}

/** The colour the demo origin rendered for this page load. */
async function siteColour(page: Page): Promise<string | null> {
  await page.goto(url("/"));
  return page.locator("h1").getAttribute("data-colour");
}

/** A full-page screenshot (test artefact) and the first screenful (the README's picture). */
async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname, fullPage: true });
  await page.screenshot({ path: new URL(`${name}-top.png`, ARTIFACTS).pathname });
}

/** An operator's dashboard tab, signed in (the operator's browser keeps the session for its other tabs). */
async function dashboard(): Promise<Page> {
  const page = await operator.newPage();
  await page.goto(DASHBOARD());
  if (await page.getByLabel("Admin token").isVisible()) {
    await page.getByLabel("Admin token").fill(inject("adminToken"));
    await page.getByRole("button", { name: "Sign in" }).click();
  }
  await expect.poll(() => page.getByTestId("percent").isVisible(), poll).toBe(true);
  return page;
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  tester = await browser.newContext();
  operator = await browser.newContext();
});

afterAll(async () => {
  await browser?.close();
});

describe("in a real browser", () => {
  it("a tester flips to green, sees the green origin's page, and goes back to automatic", async () => {
    await putRules({ ...releaseDoc(0, "browser"), overrides: "open" });
    const page = await tester.newPage();
    await page.goto(url("/__canary"));
    await expect.poll(() => page.getByTestId("version").textContent(), poll).toBe("blue");

    await page.getByRole("button", { name: "Force green" }).click();
    await expect.poll(() => page.getByTestId("version").textContent(), poll).toBe("green");
    expect(await page.getByTestId("reason").textContent()).toBe("You forced green with the override cookie.");
    await screenshot(page, "tester-page");
    expect(await siteColour(page)).toBe("green");

    await page.goto(url("/__canary"));
    await page.getByRole("button", { name: "Back to automatic" }).click();
    await expect.poll(() => page.getByTestId("version").textContent(), poll).toBe("blue");
    expect(await siteColour(page)).toBe("blue");
    await page.close();
  }, budget({ otherMs: 15_000 }));

  it("a tester joins the canary with a signed link when only signed overrides are allowed", async () => {
    await putRules({ ...releaseDoc(0, "browser"), overrides: "signed" });
    const res = await fetch(url("/__canary/api/join-link"), {
      method: "POST",
      headers: { authorization: `Bearer ${inject("adminToken")}`, "content-type": "application/json" },
      body: JSON.stringify({ colour: "green", ttlSeconds: 600, path: "/__canary" }),
    });
    const { url: link } = (await res.json()) as { url: string };
    const page = await (await browser.newContext()).newPage();
    await page.goto(url("/__canary"));
    expect(await page.getByRole("button", { name: "Force green" }).isDisabled()).toBe(true);
    await page.goto(link.replace(/^https?:\/\/[^/]+/, inject("workerUrl")));
    expect(await page.getByTestId("version").textContent()).toBe("green");
    expect(await siteColour(page)).toBe("green");
    await page.context().close();
  }, budget({ otherMs: 15_000 }));

  it("an operator ramps and reverts from the dashboard, and the tester's next page load follows", async () => {
    await putRules({ ...releaseDoc(0, "browser"), overrides: "open" });
    const site = await tester.newPage();
    expect(await siteColour(site)).toBe("blue");

    const dash = await operator.newPage();
    await dash.goto(DASHBOARD());
    await dash.getByLabel("Admin token").fill(inject("adminToken"));
    await dash.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => dash.getByTestId("percent").textContent(), poll).toBe("0%");

    await dash.getByLabel("Canary %").fill("100");
    await dash.locator("#ramp-reason").fill("browser test: all in");
    await dash.getByRole("button", { name: "Ramp" }).click();
    await expect.poll(() => dash.getByTestId("percent").textContent(), poll).toBe("100%");
    expect(await dash.getByTestId("message").textContent()).toMatch(/^ramp: now revision \d+ \(rollout\.percent: 0 → 100\)$/);
    expect(await siteColour(site)).toBe("green");

    await dash.getByRole("button", { name: "Revert" }).click();
    expect(await dash.getByTestId("percent").textContent()).toBe("100%");
    await dash.getByLabel("Yes, send everyone back to stable now").check();
    await dash.locator("#revert-reason").fill("browser test: errors");
    await dash.getByRole("button", { name: "Revert" }).click();
    await expect.poll(() => dash.getByTestId("percent").textContent(), poll).toBe("0%");
    await screenshot(dash, "dashboard");
    expect(await siteColour(site)).toBe("blue");
  }, budget({ otherMs: 15_000 }));

  it("a stale dashboard tab cannot undo a colleague's revert: its ramp shows the conflict instead", async () => {
    await putRules({ ...releaseDoc(50, "browser-stale"), overrides: "open" });
    const stale = await dashboard();
    const colleague = await dashboard();
    expect(await stale.getByTestId("percent").textContent()).toBe("50%");

    await colleague.getByLabel("Yes, send everyone back to stable now").check();
    await colleague.locator("#revert-reason").fill("browser test: colleague reverts");
    await colleague.getByRole("button", { name: "Revert" }).click();
    await expect.poll(() => colleague.getByTestId("percent").textContent(), poll).toBe("0%");

    await stale.getByLabel("Canary %").fill("60");
    await stale.getByRole("button", { name: "Ramp" }).click();
    const card = stale.getByTestId("conflict");
    await expect.poll(() => card.isVisible(), poll).toBe(true);
    expect(await card.getByTestId("message").textContent()).toMatch(/^your ramp to 60% was not applied: the rules changed since your page showed revision \d+$/);
    expect(await card.locator("td", { hasText: "browser test: colleague reverts" }).count()).toBe(1);
    expect(await stale.getByTestId("percent").textContent()).toBe("0%");
    await screenshot(stale, "dashboard-conflict");
    await Promise.all([stale.close(), colleague.close()]);
  }, budget({ otherMs: 15_000 }));

  it("a script on the site can neither drive nor read the signed-in operator's dashboard: posts are refused, frames stay empty", async () => {
    await putRules({ ...releaseDoc(10, "browser-attack"), overrides: "open" });
    const { revision } = await rules();
    const operatorTab = await dashboard(); // signed in on the dashboard's origin: the browser holds the session cookie
    expect(await operatorTab.getByTestId("percent").textContent()).toBe("10%");

    // The same browser opens a page the site serves (any XSS, third-party tag or canary build could be it); it knows both
    // dashboard URLs and the current revision, and tries them all with the operator's cookies.
    const site = await operator.newPage();
    const sent: Promise<{ url: string; session: boolean }>[] = [];
    const record = (request: Request) => {
      if (request.method() === "POST") sent.push(request.allHeaders().then((headers) => ({ url: request.url(), session: /__Host-canary-admin=/.test(headers.cookie ?? "") })));
    };
    site.on("response", (response) => record(response.request()));
    site.on("requestfailed", record);
    await site.goto(url(`/__demo/attack?dashboard=${encodeURIComponent(inject("dashboardOrigin"))}&revision=${revision}`));
    await expect.poll(() => site.locator("body").getAttribute("data-done"), { timeout: scaled(60_000) }).toBe("yes");
    const report = JSON.parse((await site.locator("#report").textContent()) ?? "{}") as AttackReport;
    // The browser did send them with the operator's session cookie (where Chromium reports the cookie): what stops them is the server.
    const posts = await Promise.all(sent);
    expect(posts.filter((post) => post.session).map((post) => post.url)).toEqual(expect.arrayContaining([url("/__canary/admin/promote"), `${DASHBOARD()}/promote`]));

    expect(report.posts.map((post) => post.url)).toEqual([url("/__canary/admin/promote"), url("/__canary/admin/ramp"), `${DASHBOARD()}/promote`, `${DASHBOARD()}/ramp`]);
    expect(report.reads.filter((read) => read.signedIn || read.revision), "dashboard pages the site's script could read").toEqual([]);
    expect(await rules()).toMatchObject({ revision, rules: { stable: "blue", rollout: { id: "browser-attack", percent: 10 } } });
    const entries = (await api<{ entries: { revision: number; reason?: string }[] }>("/history")).entries;
    expect(entries.filter((entry) => entry.revision > revision || entry.reason === "attack from the site")).toEqual([]);

    // Framing is refused (frame-ancestors 'none'): no frame shows the dashboard, and the script read none.
    expect(report.frames.map((frame) => [frame.src, frame.dashboard])).toEqual([[url("/__canary/admin"), false], [DASHBOARD(), false]]);
    const frames = site.frames().filter((frame) => frame !== site.mainFrame());
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const frame of frames) expect(await frame.getByText("Release dashboard").count(), frame.url()).toBe(0);

    // The operator is still signed in and the dashboard still works: the session was there to abuse, and was not.
    await operatorTab.reload();
    expect(await operatorTab.getByTestId("percent").textContent()).toBe("10%");
    await Promise.all([site.close(), operatorTab.close()]);
  }, budget({ otherMs: 60_000 }));

  it("skew protection: a page green served loads its lazy chunk from green after the revert; the next page is blue; off, the chunk is a 404", async () => {
    const chunk = demoApp("green").chunk;
    /** A visitor opens the app on green, the operator reverts, then the open page loads its checkout chunk, then the visitor navigates. */
    const stalePage = async (skewProtection: { enabled: boolean }) => {
      await putRules({ ...releaseDoc(100, "browser-skew"), skewProtection });
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(url("/app"));
      await expect.poll(() => page.locator("body").getAttribute("data-ready"), poll).toBe("yes");
      const loadedOn = await page.locator("h1").getAttribute("data-colour");

      const revert = await fetch(url("/__canary/api/revert"), {
        method: "POST",
        headers: { authorization: `Bearer ${inject("adminToken")}`, "content-type": "application/json" },
        body: JSON.stringify({ reason: "browser test: skew" }),
      });
      expect(revert.status, await revert.clone().text()).toBe(200);

      const answer = page.waitForResponse((response) => response.url() === url(chunk));
      await page.getByRole("button", { name: "Open checkout" }).click();
      const output = page.locator("output");
      await expect.poll(() => output.getAttribute("data-state"), poll).not.toBe("loading");
      const response = await answer;
      const seen = {
        loadedOn,
        state: await output.getAttribute("data-state"),
        text: await output.textContent(),
        chunk: [response.status(), response.headers()["x-canary-version"], response.headers()["x-canary-skew"] ?? null],
      };
      const shot = (await page.screenshot({ clip: { x: 0, y: 0, width: 880, height: 250 } })).toString("base64");
      await page.getByRole("link", { name: "Reload the page" }).click();
      await expect.poll(() => page.locator("h1").getAttribute("data-colour"), poll).toBe("blue");
      await context.close();
      return { seen, shot };
    };

    const on = await stalePage({ enabled: true });
    expect(on.seen).toEqual({ loadedOn: "green", state: "loaded", text: "checkout from the green build", chunk: [200, "green", "fallback"] });
    const off = await stalePage({ enabled: false });
    expect(off.seen).toMatchObject({ loadedOn: "green", state: "failed", chunk: [404, "blue", null] });
    expect(off.seen.text).toMatch(/^ChunkLoadError: /);

    // The README's picture: both runs side by side, each with what the router answered for the chunk.
    const page = await browser.newPage({ viewport: { width: 1620, height: 360 } });
    const column = (title: string, run: typeof on) => {
      const [status, version, skew] = run.seen.chunk;
      const answer = `GET ${chunk} → ${status}, x-canary-version: ${version}${skew ? `, x-canary-skew: ${skew}` : ""}`;
      return `<figure><figcaption><b>${title}</b><br><code>${answer}</code></figcaption><img src="data:image/png;base64,${run.shot}"></figure>`;
    };
    await page.setContent(
      `<body style="font-family:system-ui;margin:16px;display:flex;gap:16px">${column("skew protection on (default): the open green page still works", on)}${column("skew protection off: the same page after the revert", off)}</body>
       <style>figure{margin:0;border:1px solid #ccc;padding:8px}img{display:block;margin-top:8px;width:760px}</style>`,
    );
    await page.screenshot({ path: new URL("skew-protection.png", ARTIFACTS).pathname, fullPage: true });
    await page.close();
  }, budget({ otherMs: 20_000 }));

  it("the dashboard charts the evidence of a canary that the statistical verdict rolled back", { timeout: budget({ otherMs: 240_000 }) }, async () => {
    const doc = releaseDoc(50, "browser-chart");
    await putRules({ ...doc, rollout: { ...doc.rollout, analysis: { windowSeconds: 10, minRequests: 5 } } });
    const fail = (rate: number) => fetch(`${inject("greenOrigin")}/__demo/fail?rate=${rate}`, { method: "POST" });
    const judged = async () => (await rolloutStatus()).windows.length;
    try {
      // Visitors keep coming. The object's first alarm may wait for the end of a 60 s window (the length it last knew).
      for (const deadline = Date.now() + 100_000; (await judged()) < 2 && Date.now() < deadline; ) await greenShare();
      expect(await judged(), "two healthy windows within 100 s").toBeGreaterThanOrEqual(2);
      expect((await fail(1)).status).toBe(200);
      for (const deadline = Date.now() + 60_000; (await rolloutStatus()).percent !== 0 && Date.now() < deadline; ) await greenShare();
    } finally {
      await fail(0);
    }
    const status = await rolloutStatus();
    expect(status.percent, "rolled back within 60 s").toBe(0);
    expect(status.analysis.latch?.reason).toMatch(/^canary green is worse than stable \(sequential test/);

    const dash = await operator.newPage();
    await dash.goto(DASHBOARD());
    if (await dash.getByLabel("Admin token").isVisible()) {
      await dash.getByLabel("Admin token").fill(inject("adminToken"));
      await dash.getByRole("button", { name: "Sign in" }).click();
    }
    const chart = dash.getByRole("img", { name: /^Error rate and p95 per colour over the last \d+ windows/ });
    await expect.poll(() => chart.isVisible()).toBe(true);
    expect(await chart.locator("[data-verdict=failing]").count()).toBeGreaterThanOrEqual(1);
    expect(await chart.locator("[data-verdict=healthy]").count()).toBeGreaterThanOrEqual(1);
    // (an operator's revert from the test before may be on the time line too)
    expect(await chart.locator("[data-marker=rollback]", { hasText: "auto-rollback" }).textContent()).toMatch(/^auto-rollback \(rev \d+\)$/);
    expect(await chart.locator("[data-series=green] path").count()).toBeGreaterThanOrEqual(1);
    const box = (await chart.boundingBox())!;
    expect(box.width).toBeGreaterThan(300);
    await dash.locator("section[aria-labelledby=health]").screenshot({ path: new URL("dashboard-evidence.png", ARTIFACTS).pathname });
    await dash.close();
  });
});
