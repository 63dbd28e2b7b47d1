/**
 * The demo origins' small app (GET /app): one page whose build differs between blue and green, as
 * a Vite build's would. Its entry module and a lazily loaded chunk live under /assets/ with a
 * content hash in their names, so each colour has files the other never built: a page green served
 * that loads its checkout chunk after its visitor was moved to blue is what skew protection is for
 * (README, "Skew protection"). Pure: the demo origin serves it, the tests read the names from it.
 */

export interface DemoAsset {
  type: string;
  text: string;
}

export interface DemoApp {
  page: string;
  /** Path → file, under /assets/. */
  assets: Map<string, DemoAsset>;
  /** The lazily loaded chunk's path, the one a stale page asks for. */
  chunk: string;
  /** The entry module's path. */
  entry: string;
  /** A file without a hash in its name, only in this build (`/assets/logo-<colour>.svg`). */
  logo: string;
}

const SCRIPT = "text/javascript; charset=utf-8";
const built = new Map<string, DemoApp>();

/** The app as the `colour` build made it (built once per colour). */
export function demoApp(colour: "blue" | "green"): DemoApp {
  let app = built.get(colour);
  if (!app) built.set(colour, (app = build(colour)));
  return app;
}

function build(colour: "blue" | "green"): DemoApp {
  const chunkText = `export function checkout() {\n  return "checkout from the ${colour} build";\n}\n`;
  const chunk = `/assets/checkout.${contentHash(chunkText)}.js`;
  const entryText = [
    `const output = document.querySelector("output");`,
    `document.querySelector("#checkout").addEventListener("click", () => {`,
    `  output.dataset.state = "loading";`,
    `  import("${chunk}").then(`,
    `    (module) => { output.textContent = module.checkout(); output.dataset.state = "loaded"; },`,
    `    (error) => { output.textContent = "ChunkLoadError: " + error.message; output.dataset.state = "failed"; },`,
    `  );`,
    `});`,
    `document.body.dataset.ready = "yes";`,
    "",
  ].join("\n");
  const entry = `/assets/app.${contentHash(entryText)}.js`;
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>demo app (${colour} build)</title>
<script type="module" src="${entry}"></script></head>
<body style="font-family:system-ui;margin:2rem;border-top:0.75rem solid ${colour === "blue" ? "#1d4ed8" : "#15803d"};padding-top:1rem">
<h1 data-colour="${colour}"><img src="/assets/logo-${colour}.svg" alt=""> Demo shop, ${colour} build</h1>
<p>This page came from the ${colour} origin. Its checkout code is a separate chunk, loaded on demand.</p>
<p><button id="checkout">Open checkout</button> <a href="/app">Reload the page</a></p>
<p>Checkout: <output data-state="idle">not loaded</output></p>
</body></html>`;
  const logo = `/assets/logo-${colour}.svg`;
  const logoText = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><circle cx="8" cy="8" r="8" fill="${colour === "blue" ? "#1d4ed8" : "#15803d"}"/></svg>\n`;
  const assets = new Map<string, DemoAsset>([
    [entry, { type: SCRIPT, text: entryText }],
    [chunk, { type: SCRIPT, text: chunkText }],
    [logo, { type: "image/svg+xml", text: logoText }],
  ]);
  return { page, assets, chunk, entry, logo };
}

/** Eight hex digits of FNV-1a over the text: a stand-in for a bundler's content hash. */
function contentHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}
