import { parentPort, workerData } from "node:worker_threads";
import { cells, healthyCell, type Options, REGRESSIONS, regressionCell, type Verdicts } from "./grid.ts";
import { SHAPES } from "./traffic.ts";

/** One simulator thread: takes cells from the main thread and sends back their numbers. */

export type Job = { kind: "healthy"; shape: number; cell: number } | { kind: "regression"; shape: number; cell: number; regression: number };
export type Result = Job & { values: number[] | number[][] };

const { options, verdicts } = workerData as { options: Options; verdicts: Verdicts };
const all = cells(options.grid);
parentPort!.on("message", (job: Job) => {
  const cell = all[job.cell]!;
  const shape = SHAPES[job.shape]!;
  const values =
    job.kind === "healthy"
      ? healthyCell(cell, shape, job.cell, verdicts, options)
      : regressionCell(cell, shape, REGRESSIONS[job.regression]!, job.cell * REGRESSIONS.length + job.regression, verdicts, options);
  parentPort!.postMessage({ ...job, values } satisfies Result);
});
