import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Node-side simulation of the release path (scripts/simulate-release): the real edge cache and authority core under seeded schedules. */
export default defineConfig({
  test: {
    root: here(".."),
    include: ["test/simulation/**/*.sim.test.ts"],
    fileParallelism: false,
    // 10,000 schedules take about 100 s on two idle cores; npm test runs them beside the end-to-end suite at a
    // lower priority (scripts/test-node-suites.ts), measured at 565 s on a machine busy with three other suites.
    testTimeout: 1_200_000,
  },
});
