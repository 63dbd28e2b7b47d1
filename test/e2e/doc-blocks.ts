// Docs that run: the fenced blocks of a Markdown section, the bash script they make, and what they must print.
//
// The convention (docs/operating.md and README.md follow it in the sections test/e2e/docs.e2e.test.ts runs;
// an HTML comment under such a heading says so):
//
// - A section is named by its heading's text. Its blocks are every fenced block from that heading to the next
//   heading of the same or a higher level (subsections included), or up to a named later heading.
// - ```sh blocks are commands, run in order in one bash (set -e -o pipefail): a function or variable one block
//   defines is there for the next. They run as written; the only change is the local stack's address:
//   127.0.0.1:8787, :8101 and :8102 become the test stack's own ports (README: "on another port, change 8787").
//   A command the test cannot run (npm start itself: the harness starts the stack) is listed in the test with why.
// - A command line ending in a comment `# → text` is a check: its last lines of output, each with its runs of
//   spaces collapsed and joined with ", ", must read `text` (`watch_traffic   # → 91 blue, 9 green`).
//   Any other comment is prose.
// - A ```text block (or an unlabelled one) after a ```sh block is what that sh block prints, stdout and stderr
//   together as a terminal shows them: its lines must appear in that output as one run, in order, and exactly
//   (trailing spaces aside), except that `…` within a line stands for any text, a line of only `…` for any
//   number of lines, and an ISO timestamp (2026-11-26T11:31:45.276Z) for any timestamp. Revision numbers,
//   actions, users, reasons, percentages and counts are compared as they are. The stack's ports are mapped back
//   to the docs' before comparing.
import { readFileSync } from "node:fs";

export interface Block {
  /** The fence's info string: "sh", "text", "" … */
  lang: string;
  text: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
}

/** The fenced blocks of `file`'s section under the heading `heading` (its text, without the #s), in order; with `until`, up to that later heading instead. */
export function sectionBlocks(file: string, heading: string, until?: string): Block[] {
  const lines = readFileSync(file, "utf8").split("\n");
  // A heading is a `#` line outside fenced blocks (a shell comment inside one is not).
  let fenced = false;
  const isHeading = lines.map((line) => {
    if (line.startsWith("```")) fenced = !fenced;
    return !fenced && /^#{1,6} /.test(line);
  });
  const headingAt = (text: string, from: number) =>
    lines.findIndex((line, i) => i >= from && isHeading[i] && line.replace(/^#+ /, "").trim() === text);
  const start = headingAt(heading, 0);
  if (start < 0) throw new Error(`${file}: no heading "${heading}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  let end: number;
  if (until !== undefined) {
    end = headingAt(until, start + 1);
    if (end < 0) throw new Error(`${file}: no heading "${until}" after "${heading}"`);
  } else {
    end = lines.findIndex((line, i) => i > start && isHeading[i] && /^#+/.exec(line)![0].length <= level);
    if (end < 0) end = lines.length;
  }
  const blocks: Block[] = [];
  for (let i = start + 1; i < end; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const close = lines.findIndex((line, j) => j > i && line.startsWith("```"));
    if (close < 0) throw new Error(`${file}:${i + 1}: unclosed fence`);
    blocks.push({ lang: open[1]!, text: lines.slice(i + 1, close).join("\n"), line: i + 1 });
    i = close;
  }
  return blocks;
}

/** The docs' local stack and the test stack's own address for it. */
export interface Ports {
  edge: number;
  blue: number;
  green: number;
}
const DOC_PORTS: Ports = { edge: 8787, blue: 8101, green: 8102 };

function movePorts(text: string, from: Ports, to: Ports): string {
  let out = text;
  for (const key of ["edge", "blue", "green"] as const) out = out.replaceAll(`127.0.0.1:${from[key]}`, `127.0.0.1:${to[key]}`);
  return out;
}

/** A `# → text` check: which line of the docs, and what its output must read. */
export interface Check {
  file: string;
  line: number;
  command: string;
  expected: string;
}

/** What a ```text block says a sh block prints. */
export interface Expected {
  file: string;
  line: number;
  block: number;
  text: string;
}

export interface Script {
  bash: string;
  checks: Check[];
  expected: Expected[];
  /** Lines of the docs left out, each with the reason the test gave. */
  skipped: string[];
}

const CHECK = /\s#\s→\s(.*)$/;

/**
 * One bash script from a section's blocks: markers around each sh block and each checked line (so the output can
 * be split again), `notRun` lines left out (their start, as the test lists them), ports moved to the stack's.
 */
export function script(file: string, blocks: Block[], ports: Ports, notRun: Record<string, string>): Script {
  const out: string[] = ["set -e -o pipefail", `trap 'echo "@@failed line $LINENO: $BASH_COMMAND (exit $?)"' ERR`];
  const checks: Check[] = [];
  const expected: Expected[] = [];
  const skipped: string[] = [];
  let shBlocks = 0;
  for (const block of blocks) {
    if (block.lang === "sh") {
      const index = shBlocks++;
      out.push(`echo "@@block ${index}"`);
      block.text.split("\n").forEach((line, i) => {
        const skip = Object.keys(notRun).find((start) => line.trim().startsWith(start));
        if (skip !== undefined) {
          skipped.push(skip);
          return;
        }
        const check = CHECK.exec(line);
        if (!check) return out.push(movePorts(line, DOC_PORTS, ports));
        const id = checks.length;
        checks.push({ file, line: block.line + 1 + i, command: line.slice(0, check.index).trim(), expected: check[1]!.trim() });
        out.push(`echo "@@check ${id}"`, movePorts(line, DOC_PORTS, ports), `echo "@@end ${id}"`);
      });
    } else if (block.lang === "text" || block.lang === "") {
      if (shBlocks === 0) throw new Error(`${file}:${block.line}: an output block before any sh block`);
      expected.push({ file, line: block.line, block: shBlocks - 1, text: block.text });
    }
  }
  out.push('echo "@@done"');
  return { bash: `${out.join("\n")}\n`, checks, expected, skipped };
}

/** What the script printed, split by its markers, with the stack's ports mapped back to the docs'. */
export interface Printed {
  blocks: string[][];
  checks: string[][];
  done: boolean;
  failed?: string;
}

export function split(output: string, ports: Ports): Printed {
  const printed: Printed = { blocks: [], checks: [], done: false };
  let block: string[] | undefined;
  const open: string[][] = [];
  for (const raw of movePorts(output, ports, DOC_PORTS).split("\n")) {
    const line = raw.replace(/\s+$/, "");
    // A marker starts a line of its own, unless the command before it ended without a newline (curl -s).
    const marker = /^(.*?)@@(block|check|end|done|failed)\b ?(.*)$/.exec(line);
    if (marker) {
      const [, before, kind, rest] = marker;
      if (before) {
        block?.push(before);
        for (const lines of open) lines.push(before);
      }
      if (kind === "block") printed.blocks[Number(rest)] = block = [];
      else if (kind === "check") open.push((printed.checks[Number(rest)] = []));
      else if (kind === "end") open.pop();
      else if (kind === "done") printed.done = true;
      else printed.failed = rest;
      continue;
    }
    block?.push(line);
    for (const lines of open) lines.push(line);
  }
  return printed;
}

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** One expected line as a pattern: `…` any text, a timestamp any timestamp, the rest exactly. */
function linePattern(line: string): RegExp {
  const parts = line.replace(/\s+$/, "").split("…").map((part) => part.split(ISO).map(escape).join(ISO.source));
  return new RegExp(`^${parts.join(".*")}$`);
}

const isGap = (line: string) => line.trim() === "…";

/** Whether `expected` (a ```text block) appears in `actual` as one run of lines, `…` lines matching any number of lines. */
export function matchesRun(expected: string, actual: string[]): boolean {
  const want = expected.split("\n").map((line) => line.replace(/\s+$/, ""));
  while (want.length && want.at(-1) === "") want.pop();
  const from = (w: number, a: number): boolean => {
    if (w === want.length) return true;
    if (isGap(want[w]!)) {
      for (let k = a; k <= actual.length; k++) if (from(w + 1, k)) return true;
      return false;
    }
    return a < actual.length && linePattern(want[w]!).test(actual[a]!) && from(w + 1, a + 1);
  };
  for (let start = 0; start < actual.length; start++) if (from(0, start)) return true;
  return want.length === 0;
}

/** Whether a `# → text` check holds for what its line printed: the last lines, spaces collapsed, joined with ", ". */
export function checkHolds(expected: string, printed: string[]): { ok: boolean; got: string } {
  const parts = expected.split(", ");
  const lines = printed.map((line) => line.trim().replace(/\s+/g, " ")).filter(Boolean);
  const got = lines.slice(-parts.length).join(", ");
  return { ok: lines.length >= parts.length && linePattern(expected.split(", ").join(", ")).test(got), got };
}

/** For a message: the lines of a ```text block that match no line of what was printed (where a mismatch most likely is). */
export function unmatchedLines(expected: string, actual: string[]): string[] {
  return expected
    .split("\n")
    .filter((line) => line.trim() !== "" && !isGap(line))
    .filter((line) => !actual.some((printed) => linePattern(line).test(printed)));
}
