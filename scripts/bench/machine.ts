import { execFileSync } from "node:child_process";
import { availableParallelism, cpus, loadavg, release, totalmem } from "node:os";
import { workerdBinary } from "./workerd.ts";

/** What the numbers were measured on; a benchmark result without its machine means little. */
export interface Machine {
  nproc: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  workerd: string;
  wrangler: string;
  loadAverage: number[];
}

/** Facts about this machine and the runtimes, read at the start of a run. */
export function describeMachine(wranglerVersion: string): Machine {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    workerd: execFileSync(workerdBinary(), ["--version"], { encoding: "utf8" }).trim(),
    wrangler: wranglerVersion,
    loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
  };
}
