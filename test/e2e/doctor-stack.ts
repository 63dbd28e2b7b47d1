// A second, misconfigured wrangler dev for canary doctor's tests: both Workers from copies of their configs, with faults the shared stack cannot take.
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/ports.ts";
import { PROJECT_ROOT, wranglerLive } from "../../scripts/wrangler.ts";
import { live, waitUntilReady } from "./stack.ts";

export interface FaultyStack {
  url: string;
  adminToken: string;
  stop(): Promise<void>;
}

export interface Faults {
  /** CANARY_SECRET of each Worker (a deployment must give both the same). */
  edgeSecret: string;
  controlSecret: string;
  /** The control Worker's DASHBOARD_HOST; "site" = the edge's own host (the dashboard on the site). */
  dashboardHost: "site" | string;
  /** Drop the edge's RELEASE_AUTHORITY binding (a KV-only edge: no beacon). */
  noAuthority?: boolean;
  /** The edge's CONTROL binding names a Worker that does not exist (a typo, or the control Worker never deployed). */
  noControl?: boolean;
}

const ADMIN_TOKEN = "doctor-faulty-admin-token";

/**
 * Writes each Worker's config into a folder of its own (main pointing back at the project's code) with
 * a .dev.vars of its own, which wrangler reads per config: that is how two Workers of one dev session
 * get different secrets. Starts `wrangler dev` on them, in front of `fallbackOrigin`, with its own KV.
 */
export async function startFaultyStack(faults: Faults, ports: { first: number; last: number }, fallbackOrigin: string, withinMs: number): Promise<FaultyStack> {
  const folder = await mkdtemp(join(tmpdir(), "canary-doctor-"));
  const port = await freePort(ports.first, ports.last);
  const inspectorPort = await freePort(port + 1, ports.last);
  const host = `127.0.0.1:${port}`;
  const config = async (name: string, source: string, main: string, vars: Record<string, string>, edit = (text: string) => text) => {
    const dir = join(folder, name);
    await mkdir(dir);
    const text = edit(await readFile(join(PROJECT_ROOT, source), "utf8")).replace(/^main = .*$/m, `main = ${JSON.stringify(join(PROJECT_ROOT, main))}`);
    await writeFile(join(dir, "wrangler.toml"), text);
    await writeFile(join(dir, ".dev.vars"), Object.entries(vars).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n"));
    return join(dir, "wrangler.toml");
  };
  const withoutAuthority = (text: string) => text.replace(/\[\[durable_objects\.bindings\]\]\nname = "RELEASE_AUTHORITY"[^[]*/, "");
  const missingControl = (text: string) => text.replace(/^service = "edge-canary-control"$/m, 'service = "edge-canary-control-not-deployed"');
  const edit = (text: string) => [faults.noAuthority && withoutAuthority, faults.noControl && missingControl].reduce((t, f) => (f ? f(t) : t), text);
  const edge = await config("edge", "wrangler.toml", "worker/edge/index.ts", { CANARY_SECRET: faults.edgeSecret }, edit);
  const dashboardHost = faults.dashboardHost === "site" ? host : faults.dashboardHost;
  const control = await config("control", "worker/control/wrangler.toml", "worker/control/index.ts", { CANARY_SECRET: faults.controlSecret, ADMIN_TOKEN, DASHBOARD_HOST: dashboardHost });
  const dev = live(
    wranglerLive(
      [
        "dev", "-c", edge, "-c", control,
        "--port", String(port), "--inspector-port", String(inspectorPort), "--ip", "127.0.0.1",
        "--persist-to", join(folder, "state"), "--show-interactive-dev-session=false",
        "--var", `FALLBACK_ORIGIN:${fallbackOrigin}`, "--var", "RULES_TTL_MS:0",
      ],
      {},
      { stdio: ["ignore", "pipe", "pipe"], detached: true },
    ),
  );
  const stop = async () => {
    await dev.stop();
    await rm(folder, { recursive: true, force: true });
  };
  const url = `http://${host}`;
  try {
    // Without a control Worker nothing under /__canary answers 2xx: then the edge's own page is waited for.
    await waitUntilReady(faults.noControl ? `${url}/` : `${url}/__canary/api/history`, { authorization: `Bearer ${ADMIN_TOKEN}` }, dev, withinMs);
  } catch (error) {
    await stop();
    throw new Error(`the faulty stack did not start: ${(error as Error).message}`);
  }
  return { url, adminToken: ADMIN_TOKEN, stop };
}
