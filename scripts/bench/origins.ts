import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PORTS, url } from "./workerd.ts";

export interface Origins {
  blue: string;
  green: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts scripts/demo-origin.ts's blue and green origins in a child process (see origin-process.ts). */
export async function startOrigins(): Promise<Origins> {
  const child = fork(fileURLToPath(new URL("./origin-process.ts", import.meta.url)), [String(PORTS.blue), String(PORTS.green)]);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("exit", (code) => reject(new Error(`demo origins exited with ${code} (ports ${PORTS.blue}/${PORTS.green} in use?)`)));
  });
  return {
    blue: url(PORTS.blue),
    green: url(PORTS.green),
    pid: child.pid!,
    stop: async () => {
      child.disconnect();
      await exited;
    },
  };
}
