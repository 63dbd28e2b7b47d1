import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Node-side end-to-end tests: the CLI against a real `wrangler dev` (test/e2e/global-setup.ts). */
export default defineConfig({
  test: {
    root: here(".."),
    include: ["test/e2e/**/*.e2e.test.ts"],
    globalSetup: [here("./e2e/global-setup.ts")],
    fileParallelism: false,
    // Each test sets its own time limit from what it runs and how fast wrangler is here (test/e2e/timing.ts).
    testTimeout: 90_000,
    hookTimeout: 90_000,
  },
});
