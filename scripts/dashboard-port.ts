// The local dashboard's own origin: a port that passes requests, Host header and all, to the wrangler dev in front of both Workers.
import { createServer, request } from "node:http";

/**
 * In production the dashboard has a host of its own (DASHBOARD_HOST, a custom domain of the control
 * Worker). Locally `wrangler dev` serves only the edge's port, so this listens on 127.0.0.1:`port`
 * and hands every request under `canaryPath` to the edge on `edgePort` unchanged: the Host header
 * still names this port, which is what the control Worker sees in request.url and compares with
 * DASHBOARD_HOST (127.0.0.1:`port`). Anything else is not the dashboard's: / leads to it, the rest is 404.
 */
export interface DashboardPort {
  /** The dashboard's URL on this port. */
  url: string;
  close(): Promise<void>;
}

export function startDashboardPort(port: number, edgePort: number, canaryPath = "/__canary"): Promise<DashboardPort> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://dashboard").pathname;
    if (path !== canaryPath && !path.startsWith(`${canaryPath}/`)) {
      if (path === "/") res.writeHead(303, { location: `${canaryPath}/admin` }).end();
      else res.writeHead(404, { "content-type": "text/plain" }).end(`this port serves the release dashboard: ${canaryPath}/admin\n`);
      return;
    }
    const upstream = request({ host: "127.0.0.1", port: edgePort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders); // raw: every Set-Cookie line as it was sent
      answer.pipe(res);
    });
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`the router on 127.0.0.1:${edgePort} did not answer: ${error.message}\n`);
    });
    req.pipe(upstream);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${port}${canaryPath}/admin`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections(); // an operator's open tab keeps a connection alive: not a reason to hang on exit
          }),
      }),
    );
  });
}
