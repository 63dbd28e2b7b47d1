import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { attackPage } from "./attack-page.ts";
import { demoApp } from "./demo-app.ts";

/**
 * A tiny origin that answers with its colour: the demo's blue and green sites and the tests' real
 * HTTP origins. GET /echo returns what the origin received (method, path, headers, body) as JSON.
 * The demo switch makes it misbehave, to watch the canary analysis roll it back (docs/analysis.md):
 *   POST /__demo/fail?rate=0.5[&status=503]  that share of answers becomes an error (rate=0 heals)
 *   POST /__demo/slow?ms=800                  every answer waits this long first (ms=0 removes it)
 *   GET  /__demo                              the current switches
 * GET /app is a small app whose hashed, lazily loaded chunks under /assets/ differ between blue and
 * green (scripts/demo-app.ts); any other /assets/ path is 404, as a static host answers.
 * GET /__demo/attack is a hostile page on the site (scripts/attack-page.ts): the browser test opens
 * it in a signed-in operator's browser to show the dashboard cannot be driven or framed from the site.
 */
export interface DemoOrigin {
  url: string;
  server: Server;
  close(): Promise<void>;
}

const PALETTE = { blue: "#1d4ed8", green: "#15803d" } as const;

/** Starts an origin for `colour` on 127.0.0.1 (port 0 picks a free one). */
export function startDemoOrigin(colour: "blue" | "green", port = 0): Promise<DemoOrigin> {
  const chaos = { failRate: 0, failStatus: 503, delayMs: 0 };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://origin");
    const body = await readBody(req);
    const send = (status: number, type: string, text: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": type, "x-origin-colour": colour, ...extra });
      res.end(text);
    };
    if (url.pathname === "/__demo/attack" && req.method === "GET") return send(200, "text/html; charset=utf-8", attackPage());
    if (url.pathname.startsWith("/__demo")) return send(...demoSwitch(chaos, req.method ?? "GET", url));
    if (chaos.delayMs > 0) await new Promise((r) => setTimeout(r, chaos.delayMs));
    if (Math.random() < chaos.failRate) return send(chaos.failStatus, "text/plain", `${colour} is failing (demo switch)\n`);
    if (url.pathname === "/app") return send(200, "text/html; charset=utf-8", demoApp(colour).page, { "cache-control": "no-cache" });
    if (url.pathname.startsWith("/assets/")) {
      const asset = demoApp(colour).assets.get(url.pathname);
      if (!asset) return send(404, "text/plain; charset=utf-8", `${colour} has no ${url.pathname.replace(/[^\w./-]/g, "")}\n`);
      return send(200, asset.type, asset.text, { "cache-control": "public, max-age=31536000, immutable" });
    }
    if (url.pathname.endsWith("/redirect-to")) {
      const location = (url.searchParams.get("location") ?? "/").replace("{self}", `http://${req.headers.host}`);
      return send(302, "text/plain", "moved\n", { location });
    }
    if (url.pathname.startsWith("/echo")) {
      return send(200, "application/json", JSON.stringify({ colour, method: req.method, path: url.pathname, query: url.search, headers: req.headers, rawHeaders: req.rawHeaders, body }));
    }
    if (url.pathname === "/redirect") return send(302, "text/plain", "moved\n", { location: "/echo" });
    if (url.pathname === "/slow") {
      await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms") ?? 1000)));
      return send(200, "text/plain", `${colour} (slow)\n`);
    }
    if (url.pathname === "/drip") return drip(res, colour, Number(url.searchParams.get("chunks") ?? 5), Number(url.searchParams.get("ms") ?? 100));
    const status = /^\/status\/(\d{3})$/.exec(url.pathname);
    if (status) return send(Number(status[1]), "text/plain", `${colour} ${status[1]}\n`, status[1] === "201" ? { location: `http://${req.headers.host}/items/7` } : {}); // a 201 names what it made on its own host
    if (url.pathname === "/cached") return send(200, "text/plain", `${colour}\n`, { "cache-control": "public, max-age=600", vary: "Accept-Encoding" });
    if (req.headers.accept?.includes("text/html")) return send(200, "text/html; charset=utf-8", page(colour, url.pathname));
    return send(200, "text/plain; charset=utf-8", `${colour}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const actual = typeof address === "object" && address ? address.port : port;
      resolve({
        url: `http://127.0.0.1:${actual}`,
        server,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

/** Headers now, then `chunks` lines `ms` apart: a body that takes longer than the headers. */
function drip(res: ServerResponse, colour: string, chunks: number, ms: number): void {
  res.writeHead(200, { "content-type": "text/plain", "x-origin-colour": colour });
  res.flushHeaders();
  let sent = 0;
  const timer = setInterval(() => {
    res.write(`${colour} ${sent}\n`);
    if (++sent >= chunks) {
      clearInterval(timer);
      res.end();
    }
  }, ms);
  res.once("close", () => clearInterval(timer));
}

type Chaos = { failRate: number; failStatus: number; delayMs: number };

/** Flips the demo switches; answers [status, content type, body] with the switches as they now are. */
function demoSwitch(chaos: Chaos, method: string, url: URL): [number, string, string] {
  const json = (status: number, value: unknown): [number, string, string] => [status, "application/json", `${JSON.stringify(value)}\n`];
  if (method === "GET" && url.pathname === "/__demo") return json(200, chaos);
  const number = (name: string, min: number, max: number) => {
    const value = Number(url.searchParams.get(name));
    return url.searchParams.has(name) && Number.isFinite(value) && value >= min && value <= max ? value : null;
  };
  if (method === "POST" && url.pathname === "/__demo/fail") {
    const rate = number("rate", 0, 1);
    const status = url.searchParams.has("status") ? number("status", 500, 599) : 503;
    if (rate === null || status === null) return json(400, { error: "invalid_request", message: "use rate=0..1 and optionally status=500..599" });
    Object.assign(chaos, { failRate: rate, failStatus: status });
    return json(200, chaos);
  }
  if (method === "POST" && url.pathname === "/__demo/slow") {
    const ms = number("ms", 0, 60_000);
    if (ms === null) return json(400, { error: "invalid_request", message: "use ms=0..60000" });
    chaos.delayMs = ms;
    return json(200, chaos);
  }
  return json(404, { error: "not_found", message: "POST /__demo/fail?rate=, POST /__demo/slow?ms=, GET /__demo" });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function page(colour: "blue" | "green", path: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${colour} origin</title></head>
<body style="font-family:system-ui;background:${PALETTE[colour]};color:white;display:grid;place-items:center;height:100vh;margin:0">
<main><h1 data-colour="${colour}">This is the ${colour} version</h1><p>path: ${path.replace(/[<>&"]/g, "")}</p></main></body></html>`;
}
