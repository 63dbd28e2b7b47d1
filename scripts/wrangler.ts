import { spawn, type SpawnOptions } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The project folder: wrangler runs here so it finds wrangler.toml and the local state in .wrangler/. */
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));

export interface WranglerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the project's own wrangler with the Node running this script (>= 22.12 via the `node` package). */
export function wrangler(args: string[], input?: string): Promise<WranglerResult> {
  return runNode([WRANGLER, ...args], { WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" }, input);
}

/**
 * Runs a Node program of this project (wrangler, the canary CLI) to the end and collects its output.
 * With `signal`, it runs in a process group of its own, and an abort kills the whole group (the
 * wrangler commands it started too), so nothing it started outlives the caller's interest in it.
 */
export function runNode(args: string[], env: Record<string, string> = {}, input?: string, signal?: AbortSignal): Promise<WranglerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: signal !== undefined,
    });
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {}
    };
    signal?.addEventListener("abort", kill, { once: true });
    child.on("close", () => signal?.removeEventListener("abort", kill));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

/**
 * Starts a long-running wrangler (wrangler dev) attached to this terminal; `secrets` reach the Worker
 * as secrets. Tests pass `options` to capture its output and run it in its own process group.
 */
export function wranglerLive(args: string[], secrets: Record<string, string> = {}, options: Pick<SpawnOptions, "stdio" | "detached"> = {}) {
  return nodeLive([WRANGLER, ...args], secrets, options);
}

/** Starts a long-running Node program of this project (wrangler dev, npm start's script) with these extra environment variables. */
export function nodeLive(args: string[], env: Record<string, string> = {}, options: Pick<SpawnOptions, "stdio" | "detached"> = {}) {
  return spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env, WRANGLER_SEND_METRICS: "false" },
    stdio: "inherit",
    ...options,
  });
}
