// A long-running process of the end-to-end tests (wrangler dev, npm start): its output, its exit, and a stop that leaves nothing behind.
import type { ChildProcess } from "node:child_process";

export interface Live {
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with its exit code once it has exited. */
  exited: Promise<number | null>;
  /** SIGTERM to its whole process group, SIGKILL 5 s later if it is still there. */
  stop(): Promise<void>;
}

/** Watches a child started with `detached: true` and piped output. */
export function live(child: ChildProcess): Live {
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return {
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      const group = -child.pid;
      process.kill(group, "SIGTERM");
      const timer = setTimeout(() => {
        try {
          process.kill(group, "SIGKILL");
        } catch {}
      }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` (with these headers) until it answers 2xx; refuses once the process exits or `withinMs` has passed. */
export async function waitUntilReady(url: string, headers: Record<string, string>, process: Live, withinMs: number): Promise<void> {
  let gone = false;
  void process.exited.then(() => (gone = true));
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline && !gone) {
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(gone ? `it exited\n${process.output()}` : `not ready after ${Math.round(withinMs / 1000)} s\n${process.output()}`);
}
