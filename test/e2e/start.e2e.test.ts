import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { stateDir } from "../../scripts/local-stack.ts";
import { freePort } from "../../scripts/ports.ts";
import { nodeLive, PROJECT_ROOT } from "../../scripts/wrangler.ts";
import { budget, canary, ok, scaled } from "./helpers.ts";
import { type Live, live, waitUntilReady } from "./stack.ts";

/** `npm start` as a user runs it on ports of their own, beside the suite's own stack: the seed follows the ports, the state stays its own, the dashboard has its own port, --reseed starts over. */

const AUTH = { authorization: "Bearer local-dev-admin-token" };
let ports: { PORT: number; BLUE_PORT: number; GREEN_PORT: number; INSPECTOR_PORT: number; DASHBOARD_PORT: number };
let running: Live | undefined;

/** Runs `npm start` (its script, with the project's Node) on this test's ports until it answers. */
async function npmStart(...args: string[]): Promise<string> {
  const { first, last } = inject("ports");
  if (!ports) {
    const PORT = await freePort(first + 10, last);
    const BLUE_PORT = await freePort(PORT + 1, last);
    const GREEN_PORT = await freePort(BLUE_PORT + 1, last);
    const INSPECTOR_PORT = await freePort(GREEN_PORT + 1, last);
    ports = { PORT, BLUE_PORT, GREEN_PORT, INSPECTOR_PORT, DASHBOARD_PORT: await freePort(INSPECTOR_PORT + 1, last) };
  }
  const env = Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)]));
  running = live(nodeLive(["scripts/start.ts", ...args], env, { stdio: ["ignore", "pipe", "pipe"], detached: true }));
  const url = `http://127.0.0.1:${ports.PORT}`;
  await waitUntilReady(`${url}/__canary/api/history`, AUTH, running, scaled(60_000));
  return url;
}

async function api<T>(url: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}/__canary/api${path}`, { ...init, headers: { ...AUTH, "content-type": "application/json", ...init.headers } });
  return { status: response.status, body: (await response.json()) as T };
}

afterAll(async () => {
  await running?.stop();
  if (ports) await rm(join(PROJECT_ROOT, stateDir(ports.PORT)), { recursive: true, force: true });
});

describe("npm start on other ports", () => {
  it("seeds rules that follow BLUE_PORT and GREEN_PORT, serves the dashboard on DASHBOARD_PORT, keeps to its own state folder, and --reseed starts over", async () => {
    const url = await npmStart("--reseed");
    const state = stateDir(ports.PORT);
    expect(state).toBe(`.wrangler/state-${ports.PORT}`);

    // The seed's origins are this stack's demo origins, and visitors reach them (the origin echoes the Host it was asked for).
    const seeded = await api<{ revision: number; rules: { origins: Record<string, { url: string }> } }>(url, "/rules");
    expect(seeded.body.revision).toBe(1); // the release authority took the seeded document over as its first revision
    expect(seeded.body.rules.origins.blue!.url).toBe(`http://127.0.0.1:${ports.BLUE_PORT}`);
    expect(seeded.body.rules.origins.green!.url).toBe(`http://127.0.0.1:${ports.GREEN_PORT}`);
    const served = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${url}/echo`, { headers: { "x-user-id": `user-${i}` } });
      const colour = response.headers.get("x-canary-version") as "blue" | "green";
      const echo = (await response.json()) as { colour: string; headers: { host: string } };
      expect({ colour: echo.colour, host: echo.headers.host }).toEqual({ colour, host: `127.0.0.1:${ports[colour === "blue" ? "BLUE_PORT" : "GREEN_PORT"]}` });
      served.add(colour);
    }
    expect([...served].sort()).toEqual(["blue", "green"]);

    // The dashboard is on DASHBOARD_PORT (an origin of its own, as printed); the site's /__canary/admin only sends the browser there.
    const dashboard = `http://127.0.0.1:${ports.DASHBOARD_PORT}/__canary/admin`;
    expect(running!.output()).toContain(`dashboard: ${dashboard} (its own origin`);
    const signIn = await fetch(dashboard);
    expect({ status: signIn.status, page: (await signIn.text()).includes('name="token" type="password"') }).toEqual({ status: 401, page: true });
    const onSite = await fetch(`${url}/__canary/admin?failed`, { redirect: "manual" });
    expect({ status: onSite.status, location: onSite.headers.get("location") }).toEqual({ status: 303, location: `${dashboard}?failed` });
    const root = await fetch(`http://127.0.0.1:${ports.DASHBOARD_PORT}/`, { redirect: "manual" });
    expect(root.headers.get("location")).toBe("/__canary/admin");

    // The CLI's wrangler transport reaches this stack's state with --persist-to; the suite's own stack does not see the change.
    const other = await api<{ revision: number }>(inject("workerUrl"), "/rules", { headers: { authorization: `Bearer ${inject("adminToken")}` } });
    const ramp = ok(await canary(["ramp", "20", "--reason", "own stack", "--persist-to", state]));
    expect(ramp.stderr).toContain(`local KV in ${join(PROJECT_ROOT, state)}`);
    expect(ramp.stdout).toContain("ramp: now revision 2");
    expect((await api<{ revision: number }>(url, "/rules")).body.revision).toBe(2);
    const started = await api<{ run: { status: string } }>(url, "/rollout/start", { method: "POST", body: JSON.stringify({ reason: "demo plan" }) });
    expect(started.body.run.status).toBe("running");
    const after = await api<{ revision: number }>(inject("workerUrl"), "/rules", { headers: { authorization: `Bearer ${inject("adminToken")}` } });
    expect(after.body.revision).toBe(other.body.revision);

    // Both Workers kept their state in the folder: KV (revisions and history) and the analysis object.
    await running!.stop();
    for (const kind of ["kv", "do"]) expect((await stat(join(PROJECT_ROOT, state, "v3", kind))).isDirectory()).toBe(true);

    // --reseed: the seed is revision 1 again, the only one in the history, no later revision to roll back to, no rollout run.
    const again = await npmStart("--reseed");
    const fresh = await api<{ revision: number; meta: { action?: string }; rules: { rollout: { percent: number } } }>(again, "/rules");
    expect({ revision: fresh.body.revision, action: fresh.body.meta.action, percent: fresh.body.rules.rollout.percent }).toEqual({ revision: 1, action: "import", percent: 50 });
    expect((await api<{ entries: { revision: number }[] }>(again, "/history")).body.entries.map((e) => e.revision)).toEqual([1]);
    const rollback = await api<{ error: string }>(again, "/rollback", { method: "POST", body: JSON.stringify({ revision: 2 }) });
    expect(rollback.status).toBe(404);
    const rollout = await api<{ run: unknown; analysis: { latch: unknown } }>(again, "/rollout");
    expect({ run: rollout.body.run, latch: rollout.body.analysis.latch }).toEqual({ run: null, latch: null });
  }, budget({ devStarts: 2, wrangler: 2 * 2 + 3, otherMs: 20_000 }));
});
