// One simulator thread: runs the schedules the main thread hands it and sends back their summaries.
import { parentPort, workerData } from "node:worker_threads";
import { summarise } from "./summary.ts";

console.warn = () => {}; // the real code logs its problems; a schedule's faults would flood the output

const { seed, calm } = workerData as { seed: number; calm: boolean };
parentPort!.on("message", async (indices: number[]) => {
  const summaries = [];
  for (const index of indices) summaries.push(await summarise(seed, index, calm));
  parentPort!.postMessage(summaries);
});
