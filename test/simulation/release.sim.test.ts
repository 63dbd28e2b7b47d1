// The release path's invariants over 10,000 seeded schedules with faults, and each finding of the issue put back on purpose must be caught.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { MUTANTS, runMutant } from "../../scripts/simulate-release/mutants.ts";

const SEED = 20261207;

describe("the release path, simulated", () => {
  it("10,000 schedules (colos, isolates, every writer, a faulty authority) break no invariant", () => {
    const run = spawnSync(process.execPath, ["scripts/simulate-release.ts", "--schedules", "10000", "--seed", String(SEED)], { encoding: "utf8" });
    console.log(run.stdout);
    expect(run.stderr, run.stdout).toBe("");
    expect(run.status, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^invariant violations: none$/m);
  });

  for (const mutant of MUTANTS) {
    it(`catches the bug put back on purpose: ${mutant.name} (finding ${mutant.finding})`, () => {
      const result = runMutant(mutant, 2_000, SEED);
      expect(result.caught, result.output).toBe(true);
    });
  }
});
