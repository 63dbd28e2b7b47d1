// Docs that run: the README's quick start and release walkthrough and docs/operating.md's walkthroughs, run as
// written against a fresh `npm start -- --reseed` stack each, and what they print compared with what the docs
// show (the convention: doc-blocks.ts).
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { freePort } from "../../scripts/ports.ts";
import { PROJECT_ROOT } from "../../scripts/wrangler.ts";
import { checkHolds, matchesRun, type Ports, script, sectionBlocks, split, unmatchedLines } from "./doc-blocks.ts";
import { budget } from "./helpers.ts";
import { type Live, live } from "./stack.ts";

/**
 * Lines of these sections the test does not run, by how they start, and why. Everything else runs as written.
 * The stack itself is `npm start -- --reseed`, run by the harness before each section (freshStack).
 */
const NOT_RUN: Record<string, string> = {
  "npm install && npm start": "the harness runs npm start -- --reseed itself, in the background, before the section (npm ci has run)",
  "npm test": "the whole test suite, this test among them",
  "PORT=9787 BLUE_PORT=9201 GREEN_PORT=9202 npm start -- --reseed": "a second stack on fixed ports of a shared machine; test/e2e/start.e2e.test.ts runs npm start on other ports",
  "npm run canary -- status --persist-to .wrangler/state-9787": "needs that second stack",
  "CANARY_URL=http://127.0.0.1:9787": "needs that second stack",
  "npm start            #": "the harness runs npm start -- --reseed itself, in the background, before the section",
};

/** The project as a user has it (sources, config, node_modules), in a folder of its own: the docs' commands write rules.json there, and its .wrangler/state is this stack's. */
const PROJECT_FILES = ["config", "scripts", "worker", "package.json", "tsconfig.json", "wrangler.toml"];

interface Stack {
  dir: string;
  ports: Ports;
  process: Live;
}

/** The environment the docs' commands get: the project's Node first, as npm run gives it, and $USER alice (the docs' operator). */
function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("npm_") || key === "INIT_CWD" || key.startsWith("CANARY_")) delete env[key];
  return { ...env, PATH: `${dirname(process.execPath)}:${env.PATH}`, USER: "alice", NO_COLOR: "1", WRANGLER_SEND_METRICS: "false", ...extra };
}

/** Ports are handed out one stack at a time, each after the last one given: two stacks starting at once never pick the same port. */
let lastTaken = Promise.resolve(0);

/** Five free ports of the suite's range (PORT, BLUE_PORT, GREEN_PORT, DASHBOARD_PORT, INSPECTOR_PORT). */
function takePorts(): Promise<number[]> {
  const { first, last } = inject("ports");
  const taken = lastTaken.then(async (after) => {
    const ports: number[] = [];
    let next = Math.max(first + 40, after + 1);
    while (ports.length < 5) {
      const port = await freePort(next, last);
      ports.push(port);
      next = port + 1;
    }
    return ports;
  });
  lastTaken = taken.then((ports) => ports.at(-1)!, () => 0);
  return taken;
}

/**
 * `npm start -- --reseed` in a copy of the project on free ports, until it says it is ready. The copy's
 * `.wrangler/state` is a link to the stack's own state folder (`.wrangler/state-<PORT>`), so the commands
 * find it as they find the default stack's: `npm run canary` and `npx wrangler kv … --local` without flags.
 */
async function freshStack(stacks: Stack[]): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), "canary-docs-"));
  await Promise.all(PROJECT_FILES.map((name) => cp(join(PROJECT_ROOT, name), join(dir, name), { recursive: true })));
  await symlink(join(PROJECT_ROOT, "node_modules"), join(dir, "node_modules"));
  const [PORT, BLUE_PORT, GREEN_PORT, DASHBOARD_PORT, INSPECTOR_PORT] = (await takePorts()) as [number, number, number, number, number];
  await mkdir(join(dir, ".wrangler"));
  await symlink(`state-${PORT}`, join(dir, ".wrangler", "state"));
  const ports = Object.fromEntries(Object.entries({ PORT, BLUE_PORT, GREEN_PORT, DASHBOARD_PORT, INSPECTOR_PORT }).map(([k, v]) => [k, String(v)]));
  const process = live(spawn("npm", ["start", "--", "--reseed"], { cwd: dir, env: environment(ports), stdio: ["ignore", "pipe", "pipe"], detached: true }));
  const stack = { dir, ports: { edge: PORT, blue: BLUE_PORT, green: GREEN_PORT }, process };
  stacks.push(stack);
  let gone = false;
  void process.exited.then(() => (gone = true));
  const deadline = Date.now() + budget({ devStarts: 1 });
  while (!/^ready: /m.test(process.output())) {
    if (gone || Date.now() > deadline) throw new Error(`npm start -- --reseed did not get ready:\n${process.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return stack;
}

/** At most two sections at once (a stack each): on two cores, more only makes each slower. */
const SLOTS = 2;
let free = SLOTS;
const waiting: (() => void)[] = [];
async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (free > 0) free--;
  else await new Promise<void>((go) => waiting.push(go));
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else free++;
  }
}

/** Runs a section's commands in bash in the stack's project folder; returns what did not read as the docs say. */
async function runSection(file: string, heading: string, until: string | undefined): Promise<string[]> {
  const stacks: Stack[] = [];
  let bash: Live | undefined;
  try {
    const { dir, ports } = await freshStack(stacks);
    const built = script(file, sectionBlocks(join(PROJECT_ROOT, file), heading, until), ports, NOT_RUN);
    await writeFile(join(dir, "docs.sh"), `exec 2>&1\n${built.bash}`);
    bash = live(spawn("bash", ["--noprofile", "--norc", "docs.sh"], { cwd: dir, env: environment(), stdio: ["ignore", "pipe", "pipe"], detached: true }));
    await bash.exited;
    const output = bash.output();
    await mkdir(join(PROJECT_ROOT, "test/artifacts"), { recursive: true });
    await writeFile(join(PROJECT_ROOT, "test/artifacts", `docs-${file.replace(/\W+/g, "-")}-${heading.replace(/\W+/g, "-")}.log`), output);

    const printed = split(output, ports);
    const problems: string[] = [];
    if (!printed.done) problems.push(`${file} "${heading}" stopped: ${printed.failed ?? "(no @@failed marker)"}\n${output.split("\n").slice(-30).join("\n")}`);
    for (const want of built.expected) {
      const got = printed.blocks[want.block];
      if (got && !matchesRun(want.text, got)) {
        const missing = unmatchedLines(want.text, got);
        const where = missing.length ? `never printed:\n${missing.join("\n")}` : "each line was printed, but not as one run in this order";
        problems.push(`${want.file}:${want.line}: the output shown is not what the sh block above it printed; ${where}\n--- shown:\n${want.text}\n--- printed:\n${got.join("\n")}`);
      }
    }
    built.checks.forEach((check, i) => {
      const got = printed.checks[i];
      if (!got) return;
      const { ok, got: text } = checkHolds(check.expected, got);
      if (!ok) problems.push(`${check.file}:${check.line}: ${check.command}\n  the docs say: ${check.expected}\n  it printed:   ${text}`);
    });
    return problems;
  } finally {
    await bash?.stop();
    for (const stack of stacks) {
      await stack.process.stop();
      await rm(stack.dir, { recursive: true, force: true });
    }
  }
}

interface Section {
  file: string;
  heading: string;
  until?: string;
  /** What it runs: wrangler commands (a CLI write over wrangler runs 1, a read 2, a raw get or put 1) and other work at idle speed. */
  work: { wrangler: number; otherMs: number };
}

const SECTIONS: Section[] = [
  { file: "README.md", heading: "Quick start", work: { wrangler: 2 + 2, otherMs: 10_000 } },
  { file: "README.md", heading: "Running a release", work: { wrangler: 2 + 8 + 2 + 1, otherMs: 30_000 } },
  { file: "docs/operating.md", heading: "0. Start the local stack", until: "The same release with curl", work: { wrangler: 2 + 8 + 2 + 1, otherMs: 40_000 } },
  { file: "docs/operating.md", heading: "The same release with curl", work: { wrangler: 0, otherMs: 15_000 } },
  { file: "docs/operating.md", heading: "The same release with raw `wrangler kv key put`", work: { wrangler: 2 + 4 * 2 + 2 + 2 + 1, otherMs: 30_000 } },
];

/** Every section's work, in case a section waits for all the others' slots. */
const ALL = SECTIONS.reduce((sum, { work }) => ({ wrangler: sum.wrangler + work.wrangler, otherMs: sum.otherMs + work.otherMs }), { wrangler: 0, otherMs: 0 });

describe.concurrent("the docs run as written and print what they show", () => {
  for (const { file, heading, until } of SECTIONS) {
    it(`${file}: "${heading}"`, async ({ expect }) => {
      const problems = await slot(() => runSection(file, heading, until));
      expect(problems.length, `${problems.length} difference(s) between ${file} and what its commands do:\n\n${problems.join("\n\n")}`).toBe(0);
    }, budget({ devStarts: SECTIONS.length, ...ALL }));
  }
});

describe("what the docs test leaves out", () => {
  it("only the lines it lists, each still in the docs", () => {
    const used = new Set(SECTIONS.flatMap(({ file, heading, until }) => script(file, sectionBlocks(join(PROJECT_ROOT, file), heading, until), { edge: 1, blue: 2, green: 3 }, NOT_RUN).skipped));
    expect([...used].sort()).toEqual(Object.keys(NOT_RUN).sort());
  });
});
