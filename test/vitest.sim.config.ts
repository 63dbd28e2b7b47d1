import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Node-side simulation of the release path (scripts/simulate-release): the real edge cache and authority core under seeded schedules. */
export default defineConfig({
  test: {
    root: here(".."),
    include: ["test/simulation/**/*.sim.test.ts"],
    fileParallelism: false,
    // 10,000 schedules take about a minute on two idle cores; a busy machine gets longer, not a failure.
    testTimeout: 600_000,
  },
});
