import { parentPort, workerData } from "node:worker_threads";
import { cells, healthyCell, type Options, REGRESSIONS, regressionCell, type Verdicts } from "./grid.ts";

/** One simulator thread: takes cells from the main thread and sends back their numbers. */

export type Job = { kind: "healthy"; cell: number } | { kind: "regression"; cell: number; regression: number };
export type Result = Job & { values: number[] | number[][] };

const { options, verdicts } = workerData as { options: Options; verdicts: Verdicts };
const all = cells();
parentPort!.on("message", (job: Job) => {
  const cell = all[job.cell]!;
  const values =
    job.kind === "healthy"
      ? healthyCell(cell, job.cell, verdicts, options)
      : regressionCell(cell, REGRESSIONS[job.regression]!, job.cell * REGRESSIONS.length + job.regression, verdicts, options);
  parentPort!.postMessage({ ...job, values } satisfies Result);
});
