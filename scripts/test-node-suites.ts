// npm test's last part: the release simulation (all CPU) runs beside the end-to-end suite (mostly waiting on wrangler), so the two take about the longer one's time, not their sum.
import { spawn } from "node:child_process";

/**
 * The end-to-end suite prints as it goes; the simulation's output is kept and printed whole when it
 * ends, so the two never interleave line by line. The simulation runs at a lower priority: the
 * end-to-end tests time wrangler and derive their limits from it, the simulation only has to finish.
 * Exit status: the first failure's, or 0 when both pass.
 */
const vitest = (config: string, lower: boolean) =>
  spawn(lower ? "nice" : "vitest", [...(lower ? ["-n", "10", "vitest"] : []), "run", "--config", config], {
    stdio: lower ? ["ignore", "pipe", "pipe"] : "inherit",
  });

const simulation = vitest("test/vitest.sim.config.ts", true);
let simulationOutput = "";
simulation.stdout!.on("data", (chunk) => (simulationOutput += chunk));
simulation.stderr!.on("data", (chunk) => (simulationOutput += chunk));
const simulated = ended(simulation).then((code) => {
  process.stdout.write(`\n--- test/vitest.sim.config.ts (ran beside the end-to-end suite) ---\n${simulationOutput}--- end of test/vitest.sim.config.ts ---\n\n`);
  return code;
});
const endToEnd = ended(vitest("test/vitest.e2e.config.ts", false));

const codes = await Promise.all([simulated, endToEnd]);
process.exit(codes.find((code) => code !== 0) ?? 0);

function ended(child: ReturnType<typeof spawn>): Promise<number> {
  return new Promise((resolve) => {
    child.on("error", (error) => {
      console.error(`could not start vitest: ${error.message}`);
      resolve(1);
    });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
