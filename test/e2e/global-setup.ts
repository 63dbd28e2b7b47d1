import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startDashboardPort } from "../../scripts/dashboard-port.ts";
import { startDemoOrigin } from "../../scripts/demo-origin.ts";
import { freePort } from "../../scripts/ports.ts";
import { writeStackFile } from "../../scripts/stack-file.ts";
import { wrangler, wranglerLive } from "../../scripts/wrangler.ts";
import { live, waitUntilReady } from "./stack.ts";
import { limitMs } from "./timing.ts";

declare module "vitest" {
  interface ProvidedContext {
    workerUrl: string;
    /** The dashboard's own origin (DASHBOARD_HOST), a port of its own as npm start gives it: never workerUrl's. */
    dashboardOrigin: string;
    persistTo: string;
    adminToken: string;
    blueOrigin: string;
    greenOrigin: string;
    /** How long one wrangler command took on this machine just before the tests: their time limits scale from it. */
    wranglerMs: number;
    /** The ports this suite may use (CANARY_E2E_PORTS); the shared stack takes the first free ones. */
    ports: { first: number; last: number };
  }
}

const ADMIN_TOKEN = "e2e-admin-token-0123456789";
/** This suite's port range (CANARY_E2E_PORTS=first-last to move it): other suites and people on the machine use others. */
const [first = 8800, last = 8899] = (process.env.CANARY_E2E_PORTS ?? "").split("-").filter(Boolean).map(Number);
const PORTS = { first, last };

/**
 * The real thing the CLI talks to: `wrangler dev` with local KV persisted in a temp folder (the
 * wrangler transport writes the same folder) in front of the two demo origins. First it times one
 * wrangler command on that folder, the kind the CLI's wrangler transport runs: on a busy machine
 * everything takes longer, and the tests' time limits follow (helpers.ts, budget).
 */
export default async function setup(project: TestProject) {
  const persistTo = await mkdtemp(join(tmpdir(), "canary-e2e-"));
  const started = Date.now();
  const timed = await wrangler(["kv", "key", "list", "--binding", "CANARY_KV", "--local", "--persist-to", persistTo]);
  const wranglerMs = Date.now() - started;
  if (timed.code !== 0) throw new Error(`wrangler does not run: ${timed.stderr || timed.stdout}`);
  console.log(`e2e: one wrangler command takes ${wranglerMs} ms on this machine now; time limits scale from it`);

  const blue = await startDemoOrigin("blue");
  const green = await startDemoOrigin("green");
  const port = await freePort(PORTS.first, PORTS.last);
  const inspectorPort = await freePort(port + 1, PORTS.last);
  const dashboard = await startDashboardPort(await freePort(inspectorPort + 1, PORTS.last), port);
  const dashboardOrigin = new URL(dashboard.url).origin;
  const dev = live(
    wranglerLive(
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
      { CANARY_SECRET: "e2e-secret", ADMIN_TOKEN, DASHBOARD_HOST: new URL(dashboardOrigin).host }, // as npm start passes it (scripts/start.ts)
      { stdio: ["ignore", "pipe", "pipe"], detached: true },
    ),
  );
  const stop = async () => {
    await dev.stop();
    await Promise.all([blue.close(), green.close(), dashboard.close(), rm(persistTo, { recursive: true, force: true })]);
  };

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(`${url}/__canary/api/history`, { authorization: `Bearer ${ADMIN_TOKEN}` }, dev, limitMs(wranglerMs, { devStarts: 1 }));
  } catch (error) {
    await stop();
    throw new Error(`wrangler dev did not start: ${(error as Error).message}`);
  }
  await writeStackFile(persistTo, url, { adminToken: ADMIN_TOKEN, dashboardUrl: dashboard.url }); // as npm start does: the CLI's wrangler transport delivers its writes there, canary doctor checks it
  project.provide("workerUrl", url);
  project.provide("dashboardOrigin", dashboardOrigin);
  project.provide("persistTo", persistTo);
  project.provide("adminToken", ADMIN_TOKEN);
  project.provide("blueOrigin", blue.url);
  project.provide("greenOrigin", green.url);
  project.provide("wranglerMs", wranglerMs);
  project.provide("ports", PORTS);
  return stop;
}
