import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startDemoOrigin } from "../../scripts/demo-origin.ts";
import { wranglerLive } from "../../scripts/wrangler.ts";

declare module "vitest" {
  interface ProvidedContext {
    workerUrl: string;
    persistTo: string;
    adminToken: string;
    blueOrigin: string;
    greenOrigin: string;
  }
}

const ADMIN_TOKEN = "e2e-admin-token-0123456789";
/** This suite's port range (CANARY_E2E_PORTS=first-last to move it): other suites and people on the machine use others. */
const [first = 8800, last = 8899] = (process.env.CANARY_E2E_PORTS ?? "").split("-").filter(Boolean).map(Number);
const PORTS = { first, last };

/**
 * The real thing the CLI talks to: `wrangler dev` with local KV persisted in a temp folder (the
 * wrangler transport writes the same folder) in front of the two demo origins.
 */
export default async function setup(project: TestProject) {
  const blue = await startDemoOrigin("blue");
  const green = await startDemoOrigin("green");
  const persistTo = await mkdtemp(join(tmpdir(), "canary-e2e-"));
  const port = await freePort(PORTS.first);
  const inspectorPort = await freePort(port + 1);
  const dev = wranglerLive(
    [
      "dev",
      "-c", "wrangler.toml",
      "-c", "worker/control/wrangler.toml",
      "--port", String(port),
      "--inspector-port", String(inspectorPort),
      "--ip", "127.0.0.1",
      "--persist-to", persistTo,
      "--show-interactive-dev-session=false",
      "--var", `FALLBACK_ORIGIN:${blue.url}`,
      "--var", "RULES_TTL_MS:0",
    ],
    { CANARY_SECRET: "e2e-secret", ADMIN_TOKEN },
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let output = "";
  dev.stdout?.on("data", (chunk) => (output += chunk));
  dev.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => dev.once("exit", (code) => done(code)));

  const stop = async () => {
    if (dev.exitCode === null && dev.pid) {
      process.kill(-dev.pid, "SIGTERM");
      const timer = setTimeout(() => dev.exitCode === null && process.kill(-dev.pid!, "SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    await Promise.all([blue.close(), green.close(), rm(persistTo, { recursive: true, force: true })]);
  };

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(`${url}/__canary/api/history`, exited);
  } catch (error) {
    await stop();
    throw new Error(`wrangler dev did not start: ${(error as Error).message}\n${output}`);
  }
  project.provide("workerUrl", url);
  project.provide("persistTo", persistTo);
  project.provide("adminToken", ADMIN_TOKEN);
  project.provide("blueOrigin", blue.url);
  project.provide("greenOrigin", green.url);
  return stop;
}

async function waitUntilReady(url: string, exited: Promise<number | null>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !gone) {
    try {
      const response = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      if (response.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(gone ? "it exited" : "not ready after 60 s");
}

/** The first port from `from` in this suite's range that nobody listens on. */
async function freePort(from: number): Promise<number> {
  for (let port = from; port <= PORTS.last; port++) {
    const free = await new Promise<boolean>((done) => {
      const server = createServer();
      server.once("error", () => done(false));
      server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${PORTS.first}-${PORTS.last}`);
}
