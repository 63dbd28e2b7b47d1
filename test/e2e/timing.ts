// The end-to-end tests' time limits, scaled from one wrangler command timed at setup instead of fixed: a busy machine gets longer ones.

/** One wrangler command on an idle machine (docs/operating.md). */
const IDLE_WRANGLER_MS = 5000;
/** `wrangler dev` until it answers, in wrangler commands. */
const DEV_START_COMMANDS = 4;
/** Room for the machine getting busier than it was when the command was timed. */
const SAFETY = 3;

/** What a test does that takes time: wrangler commands it runs (a CLI write over wrangler runs 3), dev servers it starts, and other work as long as it takes on an idle machine. */
export interface Work {
  wrangler?: number;
  devStarts?: number;
  otherMs?: number;
}

/** How many times slower than an idle machine this one is, judging by a wrangler command that took `wranglerMs` (at least 1). */
export function slowdown(wranglerMs: number): number {
  return Math.max(1, wranglerMs / IDLE_WRANGLER_MS);
}

/** The time limit for `work` when one wrangler command took `wranglerMs`; never under 30 s. */
export function limitMs(wranglerMs: number, { wrangler = 0, devStarts = 0, otherMs = 0 }: Work): number {
  const commands = wrangler + devStarts * DEV_START_COMMANDS;
  return Math.max(30_000, Math.round(SAFETY * (commands * wranglerMs + otherMs * slowdown(wranglerMs))));
}
