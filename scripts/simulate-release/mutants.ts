// node scripts/simulate-release/mutants.ts: each finding of the "one release order" issue put back on purpose, and the simulator must catch it.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const ROOT = new URL("../..", import.meta.url).pathname;

/** One bug: a text replacement in a copy of the code, and the invariant the simulator must report. */
export interface Mutant {
  name: string;
  finding: string;
  /** Any of these invariants reported means it was caught. */
  invariants: string[];
  /** Text replacements, each in its file, each found exactly once. */
  edits: { file: string; find: string; replace: string }[];
}

export const MUTANTS: Mutant[] = [
  {
    name: "edge-routes-unadopted-kv",
    finding: "1: a value written to KV around the authority routes at the edge",
    invariants: ["order"],
    edits: [
      {
        file: "worker/edge/rules-cache.ts",
        find: `const sealed = isMirror(record.metadata) && (await sealHolds(src.sealer, record.metadata.seal, record.metadata.revision, record.value));`,
        replace: `const sealed = isMirror(record.metadata) || Number.isSafeInteger((record.metadata as { revision?: number } | null)?.revision);`,
      },
    ],
  },
  {
    name: "edge-routes-copied-mark",
    finding: "1: a value carrying a mark copied from elsewhere (no valid seal) routes at the edge",
    invariants: ["order"],
    edits: [
      {
        file: "worker/edge/rules-cache.ts",
        find: `const sealed = isMirror(record.metadata) && (await sealHolds(src.sealer, record.metadata.seal, record.metadata.revision, record.value));`,
        replace: `const sealed = isMirror(record.metadata);`,
      },
    ],
  },
  {
    name: "numbers-reused-after-storage-loss",
    finding: "2: a write runs before a new authority took the earlier one's numbering over from KV",
    invariants: ["history", "order", "monotone", "colo", "writer"],
    edits: [{ file: "worker/control/release/authority.ts", find: `return store.head() > 0 || store.fact("imported") !== null;`, replace: `return true;` }],
  },
  {
    name: "raw-put-ignored",
    finding: "2: the same bytes put raw again (equal to an earlier revision) are ignored",
    invariants: ["raw-put"],
    edits: [{ file: "worker/control/release/authority.ts", find: `if (head && record.text === store.text(head)) return this.#mirror(true);`, replace: `if (store.history().some((entry) => store.text(entry.revision) === record.text)) return this.#mirror(true);` }],
  },
  {
    name: "intent-carried-out-twice",
    finding: "2: a CLI write is not recorded exactly once (asked again after a lost answer, it runs again)",
    invariants: ["history"],
    edits: [
      { file: "worker/control/release/authority.ts", find: `if (done !== null) return this.#replay(done);`, replace: `void done;` },
      { file: "worker/control/release/authority.ts", find: `if (again !== null) return this.#replay(again);`, replace: `void again;` },
      { file: "worker/control/release/authority.ts", find: `if (earlier) return this.#replay(earlier);`, replace: `void earlier;` },
      { file: "worker/control/release/authority.ts", find: `if (answer) await this.#markIntent(entry.intent!, answer);`, replace: `void answer;` },
    ],
  },
  {
    name: "same-bytes-lower-the-revision",
    finding: "3: a document identical to an older revision lowers the isolate's revision",
    invariants: ["monotone", "colo", "writer"],
    edits: [{ file: "worker/edge/rules-cache.ts", find: `    if (revision <= this.#position) return;\n    const active = this.#compile(`, replace: `    if (text === this.#text) return void (this.#position = revision);\n    if (revision <= this.#position) return;\n    const active = this.#compile(` }],
  },
  {
    name: "dashboard-without-if-match",
    finding: "4: a stale dashboard form commits without If-Match (the simulator's dashboard, as the dashboard was)",
    invariants: ["based"],
    edits: [{ file: "scripts/simulate-release/schedule.ts", find: `const caller = action === "revert" ? { actor: "dashboard" } : { actor: "dashboard", ifMatch: page.revision };`, replace: `const caller = { actor: "dashboard" };` }],
  },
  {
    name: "visitor-waits-for-authority",
    finding: "5: a visitor's request waits for the authority's answer",
    invariants: ["no-wait"],
    edits: [{ file: "worker/edge/rules-cache.ts", find: `    if (ask) await asking;\n    else waitUntil(asking);`, replace: `    await asking;` }],
  },
  {
    name: "look-not-waited-for",
    finding: "revert final: a request that finds a look due does not wait for its colo's cache",
    invariants: ["colo"],
    edits: [{ file: "worker/edge/rules-cache.ts", find: `return looking ? atMost(looking.then(() => this.#active!), LOOK_WAIT_MS, src.clock, () => this.#active!) : active;`, replace: `return active;` }],
  },
  {
    name: "writer-does-not-fetch",
    finding: "6: the isolate that handed a write over does not route on it from its next request",
    invariants: ["writer"],
    edits: [{ file: "worker/edge/rules-cache.ts", find: `    while (revision > this.#position) {`, replace: `    while (false as boolean) {` }],
  },
];

/** Copies the code to .mutants/<name> (inside the project: its node_modules resolve), puts the bug in, and runs the simulator there. */
export function runMutant(mutant: Mutant, schedules: number, seed: number): { caught: boolean; invariants: string[]; seconds: number; output: string } {
  const dir = join(ROOT, ".mutants", mutant.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const folder of ["worker", "scripts"]) cpSync(join(ROOT, folder), join(dir, folder), { recursive: true, filter: (path) => !path.includes(".wrangler") });
  for (const edit of mutant.edits) {
    const file = join(dir, edit.file);
    const text = readFileSync(file, "utf8");
    if (text.split(edit.find).length !== 2) throw new Error(`mutant ${mutant.name}: its text is not found exactly once in ${edit.file}: the code moved, update the mutant`);
    writeFileSync(file, text.replace(edit.find, edit.replace));
  }
  const started = performance.now();
  const run = spawnSync(process.execPath, [join(dir, "scripts/simulate-release.ts"), "--schedules", String(schedules), "--seed", String(seed), "--first", "--threads", "1"], { encoding: "utf8" });
  rmSync(dir, { recursive: true, force: true });
  const output = `${run.stdout}${run.stderr}`;
  const invariants = [...new Set([...output.matchAll(/\[([a-z-]+)\]/g)].map((m) => m[1]!))];
  return { caught: run.status === 1 && invariants.some((name) => mutant.invariants.includes(name)), invariants, seconds: (performance.now() - started) / 1000, output };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const { values } = parseArgs({ options: { schedules: { type: "string", default: "10000" }, seed: { type: "string", default: "1" }, only: { type: "string" } } });
  let missed = 0;
  for (const mutant of MUTANTS.filter((m) => !values.only || m.name === values.only)) {
    const result = runMutant(mutant, Number(values.schedules), Number(values.seed));
    const first = /broke an invariant[\s\S]*?--replay (\d+)/.exec(result.output)?.[1];
    console.log(`${result.caught ? "caught" : "MISSED"}  ${mutant.name.padEnd(30)} ${result.seconds.toFixed(1).padStart(6)} s  ${first ? `schedule ${first}` : ""}  [${result.invariants.join(", ")}]  finding ${mutant.finding}`);
    if (!result.caught) missed += 1;
  }
  process.exit(missed ? 1 : 0);
}
