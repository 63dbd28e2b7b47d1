import { createServer } from "node:http";

/**
 * A local webhook and gate endpoint for the tests: POSTs are kept (path, content type, the gate's
 * signature headers, the raw body and the parsed one); GET returns them as a JSON array; DELETE
 * forgets them. A POST to a path with /status/<code> is answered with that status, one with
 * /delay/<ms> only after that long: a gate that says no-go, or says nothing in time.
 */
export function startWebhookReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  let received: unknown[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const path = req.url ?? "/";
    if (req.method === "POST") {
      const headers = { gate: req.headers["x-canary-gate"], timestamp: req.headers["x-canary-timestamp"], signature: req.headers["x-canary-signature"] };
      received.push({ path, contentType: req.headers["content-type"], headers, raw, body: JSON.parse(raw) });
    }
    if (req.method === "DELETE") received = [];
    const delay = Number(/\/delay\/(\d+)/.exec(path)?.[1] ?? 0);
    if (req.method === "POST" && delay) await new Promise((done) => setTimeout(done, delay));
    const status = req.method === "POST" ? Number(/\/status\/(\d{3})/.exec(path)?.[1] ?? 200) : 200;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(req.method === "GET" ? received : status === 200 ? { ok: true } : { ok: false, why: "smoke test failed: /checkout answered 500" }));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
