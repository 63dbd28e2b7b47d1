import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PORTS, url } from "./workerd.ts";

/** Per-call times in µs as the bench worker returns them (see isolate/harness.ts). */
export interface Measurement {
  samples: number[];
  batch: number;
}

/** Somewhere the bench worker runs: workerd (the real runtime) or Node 24 (a fine clock). */
export interface Runtime {
  name: "workerd" | "node";
  /** Shortest timed batch: workerd's clock ticks in whole ms, Node's in fractions of a µs. */
  sampleMs: number;
  measure(query: string): Promise<Measurement>;
  close(): Promise<void>;
}

/** The bench worker inside the benchmark's workerd, over HTTP. */
export function workerdRuntime(): Runtime {
  return {
    name: "workerd",
    sampleMs: 50,
    measure: async (query) => {
      const response = await fetch(`${url(PORTS.bench)}/measure?${query}`);
      if (!response.ok) throw new Error(`bench worker: ${query}: ${response.status} ${await response.text()}`);
      return (await response.json()) as Measurement;
    },
    close: async () => {},
  };
}

/** The same bench worker bundle imported by a separate Node process (so nothing else in this process disturbs it). */
export function nodeRuntime(benchWorkerFile: string): Runtime {
  const child = fork(fileURLToPath(new URL("./node-host.ts", import.meta.url)), [benchWorkerFile], { stdio: "inherit" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name: "node",
    sampleMs: 0,
    measure: (query) =>
      new Promise((resolve, reject) => {
        child.once("message", (reply: { status: number; body: string }) =>
          reply.status === 200 ? resolve(JSON.parse(reply.body)) : reject(new Error(`node bench: ${query}: ${reply.body}`)),
        );
        child.send({ query });
      }),
    close: async () => {
      child.disconnect();
      await exited;
    },
  };
}

/**
 * Measures every case for `seconds`, round after round, so that a burst of load from other work on
 * the machine lands on the router and on its baseline alike; a case's samples are pooled over rounds.
 */
export async function interleave(
  runtime: Runtime,
  cases: Record<string, string>,
  rounds: number,
  seconds: number,
): Promise<Record<string, Measurement>> {
  const pooled: Record<string, Measurement> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, query] of Object.entries(cases)) {
      const { samples, batch } = await runtime.measure(`${query}&seconds=${seconds}&sampleMs=${runtime.sampleMs}`);
      pooled[name] = { samples: [...(pooled[name]?.samples ?? []), ...samples], batch };
    }
  }
  return pooled;
}
