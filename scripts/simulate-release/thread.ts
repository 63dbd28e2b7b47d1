// One simulator thread: runs the schedules the main thread hands it and sends back their summaries.
import { parentPort, workerData } from "node:worker_threads";
import { summarise } from "./summary.ts";

console.warn = () => {}; // the real code logs its problems; a schedule's faults would flood the output

const { seed, calm } = workerData as { seed: number; calm: boolean };
let current = -1;
// A promise nobody handled is a bug of the code under test (or of the simulator): the run fails and names the schedule.
process.on("unhandledRejection", (error) => {
  throw new Error(`schedule ${current} (seed ${seed}) left a rejected promise unhandled: ${(error as Error)?.stack ?? error}`);
});
parentPort!.on("message", async (indices: number[]) => {
  const summaries = [];
  for (const index of indices) summaries.push(await summarise(seed, (current = index), calm));
  parentPort!.postMessage(summaries);
});
