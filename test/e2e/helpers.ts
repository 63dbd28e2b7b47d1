import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, inject, onTestFinished } from "vitest";
import { runNode, type WranglerResult } from "../../scripts/wrangler.ts";
import type { RolloutStatus } from "../../worker/control/rollout/status.ts";
import { limitMs, slowdown, type Work } from "./timing.ts";

export type Run = WranglerResult;

/** The transports under test: flags that point the CLI at the wrangler dev's KV, or at its admin API. */
export const TRANSPORTS = {
  wrangler: () => ({ flags: ["--local", "--persist-to", inject("persistTo")], env: {} }),
  http: () => ({ flags: ["--url", inject("workerUrl")], env: { CANARY_ADMIN_TOKEN: inject("adminToken") } }),
};

/** A test's time limit for this work, on this machine as global-setup found it (timing.ts). */
export function budget(work: Work): number {
  return limitMs(inject("wranglerMs"), work);
}

/** A wait that takes `ms` on an idle machine, as long as it takes on this one. */
export function scaled(ms: number): number {
  return Math.round(ms * slowdown(inject("wranglerMs")));
}

/**
 * Runs `npm run canary -- <args>` as an operator would (same script, same Node), and collects its
 * output. When the test ends (passed, failed or timed out) the command and the wrangler commands
 * it started are killed if still running: a late write never lands in the next test.
 */
export function canary(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const ended = new AbortController();
  onTestFinished(() => ended.abort());
  return runNode(["scripts/canary.ts", ...args], { CANARY_URL: "", CANARY_ADMIN_TOKEN: "", USER: "e2e-operator", ...env }, undefined, ended.signal);
}

/** A command that must succeed: on failure the assertion shows its whole output. */
export function ok(run: Run): Run {
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

let folder: Promise<string> | undefined;

/** Writes a file for the CLI to read (`rules set`, `rules validate`) in this run's temp folder; returns its path. */
export async function file(name: string, content: unknown): Promise<string> {
  folder ??= mkdtemp(join(tmpdir(), "canary-cli-"));
  const path = join(await folder, name);
  await writeFile(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return path;
}

/** The rollout engine's status straight from the admin API (fast: no CLI process). */
export async function rolloutStatus(): Promise<RolloutStatus> {
  const response = await fetch(`${inject("workerUrl")}/__canary/api/rollout`, { headers: { authorization: `Bearer ${inject("adminToken")}` } });
  expect(response.status).toBe(200);
  return response.json() as Promise<RolloutStatus>;
}

/** Writes the rules through the admin API, as an operator's script would. */
export async function putRules(doc: object): Promise<void> {
  const res = await fetch(`${inject("workerUrl")}/__canary/api/rules`, {
    method: "PUT",
    headers: { authorization: `Bearer ${inject("adminToken")}`, "content-type": "application/json" },
    body: JSON.stringify(doc),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** The share of 100 visitors (distinct user IDs) that the worker sent to green right now. */
export async function greenShare(): Promise<number> {
  const url = inject("workerUrl");
  const colours = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const response = await fetch(`${url}/`, { headers: { "x-user-id": `user-${i}` } });
      await response.arrayBuffer();
      return response.headers.get("x-canary-version");
    }),
  );
  return colours.filter((colour) => colour === "green").length / 100;
}

/**
 * The green share once the edge routes on `expected`: at once for a write through the admin API;
 * a write made over the wrangler transport goes around the release authority and is routed on when
 * the authority adopts it (within about 6 s, docs/operating.md), so that one is polled for.
 */
export async function greenShareSettles(expected: (share: number) => boolean, withinMs = 0): Promise<number> {
  const deadline = Date.now() + scaled(withinMs);
  for (;;) {
    const share = await greenShare();
    if (expected(share) || Date.now() >= deadline) return share;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A rules document for the demo origins, stable blue, canary at `percent`. */
export function releaseDoc(percent = 0, rolloutId = "e2e") {
  return {
    stable: "blue",
    origins: { blue: { url: inject("blueOrigin") }, green: { url: inject("greenOrigin") } },
    rollout: { id: rolloutId, percent },
    stickiness: { userIdHeader: "x-user-id" },
    overrides: "signed",
    rules: [{ name: "beta testers", when: { header: { name: "x-tier", values: ["beta"] } }, serve: "canary" }],
  };
}
