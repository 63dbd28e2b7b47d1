import { createServer, type IncomingMessage, type Server } from "node:http";

/**
 * A tiny origin that answers with its colour: the demo's blue and green sites and the tests' real
 * HTTP origins. GET /echo returns what the origin received (method, path, headers, body) as JSON.
 */
export interface DemoOrigin {
  url: string;
  server: Server;
  close(): Promise<void>;
}

const PALETTE = { blue: "#1d4ed8", green: "#15803d" } as const;

/** Starts an origin for `colour` on 127.0.0.1 (port 0 picks a free one). */
export function startDemoOrigin(colour: "blue" | "green", port = 0): Promise<DemoOrigin> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://origin");
    const body = await readBody(req);
    const send = (status: number, type: string, text: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": type, "x-origin-colour": colour, ...extra });
      res.end(text);
    };
    if (url.pathname.startsWith("/echo")) {
      return send(200, "application/json", JSON.stringify({ colour, method: req.method, path: url.pathname, query: url.search, headers: req.headers, body }));
    }
    if (url.pathname === "/redirect") return send(302, "text/plain", "moved\n", { location: "/echo" });
    if (url.pathname === "/slow") {
      await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms") ?? 1000)));
      return send(200, "text/plain", `${colour} (slow)\n`);
    }
    const status = /^\/status\/(\d{3})$/.exec(url.pathname);
    if (status) return send(Number(status[1]), "text/plain", `${colour} ${status[1]}\n`);
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
