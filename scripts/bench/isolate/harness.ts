/** Per-request times in µs: each sample is the mean of one batch of calls. */
export interface Measurement {
  samples: number[];
  batch: number;
}

const WARMUP_MS = 100;

/**
 * Calls `run` again and again for `seconds`. workerd's clock ticks in whole milliseconds, so calls
 * are timed in batches that last at least `sampleMs`; with a fine clock (Node) `sampleMs` 0 times
 * every call on its own, which gives a true per-request distribution.
 */
export async function measure(run: () => Promise<unknown>, seconds: number, sampleMs: number): Promise<Measurement> {
  const warmupEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmupEnd) await run();

  let batch = 1;
  for (;;) {
    const elapsed = await timeBatch(run, batch);
    if (elapsed >= sampleMs) break;
    batch *= elapsed > 0 ? Math.min(10, Math.ceil((sampleMs * 1.1) / elapsed)) : 10;
  }

  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  do samples.push(((await timeBatch(run, batch)) * 1000) / batch);
  while (performance.now() < end);
  return { samples, batch };
}

async function timeBatch(run: () => Promise<unknown>, batch: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < batch; i++) await run();
  return performance.now() - start;
}
