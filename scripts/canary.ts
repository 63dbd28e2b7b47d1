// npm run canary -- <command>: ramp, promote, revert and roll back the canary, over wrangler or the admin API.
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { failure, type Outcome, type Problem, success } from "../worker/control/release/outcome.ts";
import type { RolloutStatus } from "../worker/control/rollout/status.ts";
import { type Plan, Plan as PlanSchema, parseRulesText } from "../worker/core/rules.ts";
import { judge, lines as doctorLines, scrubbed } from "./canary/doctor.ts";
import { probe } from "./canary/doctor-probe.ts";
import { httpTransport, TOKEN_VARIABLE } from "./canary/http.ts";
import { wranglerTransport } from "./canary/local.ts";
import type { KvTarget } from "./canary/wrangler-kv.ts";
import { DEFAULT_PORT, stateDir } from "./local-stack.ts";
import { readStack, readStackUrl } from "./stack-file.ts";
import { PROJECT_ROOT } from "./wrangler.ts";
import * as print from "./canary/print.ts";
import { duration, EXIT, follow, leftRunning, progressLine } from "./canary/follow.ts";
import { health, rolloutStatus } from "./canary/print-rollout.ts";
import type { RolloutControl, RolloutVerb, Transport } from "./canary/transport.ts";

type Values = ReturnType<typeof parse>["values"];
interface Command {
  usage: string;
  /** The positional arguments it needs, in order. */
  args: string[];
  summary: string;
  options: (keyof Values)[];
  run(transport: Transport, args: string[], values: Values): Promise<Outcome<unknown>>;
  /** A command that reaches the site itself, with no transport (doctor): its exit code. */
  standalone?: (values: Values) => Promise<number>;
  /** A command that follows the rollout engine and prints as it goes (release, rollout status): its exit code, in place of run. */
  follows?: (transport: Transport, values: Values) => Promise<number>;
}

const WRITE = ["reason", "if-match"] as const;

/** The plan's commands: the worker's analysis Durable Object runs them, so they go over HTTP only. */
const ROLLOUT: Record<RolloutVerb, string> = {
  start: "Start the rules' plan at step 1; healthy windows walk it to promotion",
  pause: "Hold the plan at its step; the analysis still guards the canary",
  resume: "Back to the paused step's percentage; its dwell starts again",
  abort: "Everyone back on stable now, as revert does, and end the plan",
};

const COMMANDS: Record<string, Command> = {
  status: {
    usage: "status",
    args: [],
    summary: "Show the split, the revision, who changed it last and why (with --url: the plan and health too)",
    options: [],
    run: async (t) => {
      const [view, rollout] = await Promise.all([t.rules(), t.rollout?.status()]);
      if (!view.ok) return view;
      if (rollout && !rollout.ok) return rollout;
      const body = rollout ? { ...view.body, rollout: rollout.body } : view.body;
      shown(success(body), print.status);
      return body.rules ? success(body) : failure(409, "no_valid_rules", "there is no valid rules document in KV");
    },
  },
  ramp: {
    usage: "ramp <percent> [--rollout-id <id>]",
    args: ["percent"],
    summary: "Send <percent> (0-100) of visitors to the canary; a new --rollout-id picks a fresh cohort",
    options: ["rollout-id", ...WRITE],
    run: (t, [percent], v) =>
      writeWith(t, "ramp", v, { percent: number(percent, "percent"), rolloutId: v["rollout-id"], reason: v.reason }),
  },
  promote: {
    usage: "promote",
    args: [],
    summary: "Make the canary the stable version for everyone (the next canary is the other colour)",
    options: [...WRITE],
    run: (t, _, v) => writeWith(t, "promote", v, { reason: v.reason }),
  },
  revert: {
    usage: "revert [--reason <text>]",
    args: [],
    summary: "Everyone back on stable now: canary at 0% and every canary-bound rule disabled",
    options: [...WRITE],
    run: (t, _, v) => writeWith(t, "revert", v, { reason: v.reason }),
  },
  rollback: {
    usage: "rollback <revision>",
    args: ["revision"],
    summary: "Restore an earlier revision's rules, recorded as a new revision",
    options: [...WRITE],
    run: (t, [revision], v) => writeWith(t, "rollback", v, { revision: number(revision, "revision"), reason: v.reason }),
  },
  history: {
    usage: "history [--limit <n>]",
    args: [],
    summary: "Show the audit trail, newest first: who, when, what changed and why",
    options: ["limit"],
    run: async (t, _, v) => shown(await t.history(v.limit ? number(v.limit, "--limit") : undefined), (body) => print.history(body.entries)),
  },
  "rules get": {
    usage: "rules get [--out <file>]",
    args: [],
    summary: "Print the live rules document as JSON (its revision on stderr), or write it to --out <file>",
    options: ["out"],
    run: async (t, _, v) => {
      const outcome = await t.rules();
      if (!outcome.ok || v.json) return outcome;
      const { rules, revision, issues } = outcome.body;
      if (!rules) return failure(409, "no_valid_rules", "there is no valid rules document in KV", { issues });
      const text = `${JSON.stringify(rules, null, 2)}\n`;
      if (v.out) {
        await writeFile(resolve(process.env.INIT_CWD ?? process.cwd(), v.out), text);
        console.error(`revision ${revision} written to ${v.out}`);
      } else {
        console.error(`revision ${revision}`);
        process.stdout.write(text);
      }
      return success(undefined);
    },
  },
  "rules set": {
    usage: "rules set <file> [--if-match <revision>]",
    args: ["file"],
    summary: "Replace the rules with a JSON file (validated first; --if-match refuses if someone changed them since)",
    options: [...WRITE],
    run: async (t, [file], v) => {
      const document = await readDocument(file);
      if (!document.ok) return document;
      return shown(await t.replace(document.body, v.reason, ifMatch(v)), (body) => print.written("rules set", body));
    },
  },
  "rules validate": {
    usage: "rules validate <file>",
    args: ["file"],
    summary: "Check a JSON file against the rules schema; nothing is written",
    options: [],
    run: async (t, [file]) => {
      const document = await readDocument(file);
      if (!document.ok) return document;
      return shown(await t.validate(document.body), () => [`${file}: valid`]);
    },
  },
  "join-link": {
    usage: "join-link --colour <blue|green> [--ttl <seconds>] [--path </page>]",
    args: [],
    summary: "Mint a signed link that pins a tester's browser to a colour (needs --url: the worker signs it)",
    options: ["colour", "ttl", "path"],
    run: async (t, _, v) => {
      const input = { colour: v.colour, ttlSeconds: v.ttl ? number(v.ttl, "--ttl") : undefined, path: v.path };
      return shown(await t.joinLink(input), (body) => [body.url, `(pins ${body.colour} until ${body.expiresAt})`]);
    },
  },
  release: {
    usage: "release --rollout-id <build> [--plan <file>] [--wait [--timeout <duration>]]",
    args: [],
    summary: "Deliver a build: start the plan under its name and, with --wait, follow it to the end (exit 0 promoted, 1 rolled back or aborted, 3 timed out)",
    options: ["rollout-id", "plan", "wait", "timeout", "reason"],
    run: async () => success(undefined),
    follows: release,
  },
  "rollout status": {
    usage: "rollout status [--watch [--rollout-id <id>] [--timeout <duration>]]",
    args: [],
    summary: "Show the plan, the step and each colour's health; --watch follows the rollout to its end (exit codes as release --wait)",
    options: ["watch", "rollout-id", "timeout"],
    run: async () => success(undefined),
    follows: rolloutStatusCommand,
  },
  ...Object.fromEntries(Object.entries(ROLLOUT).map(([verb, summary]) => [`rollout ${verb}`, rolloutCommand(verb as RolloutVerb, summary)])),
  doctor: {
    usage: "doctor [--url <site>] [--dashboard-url <url>]",
    args: [],
    summary: "Check a deployment end to end: one line per check, with a fix for each failure (no flags: the local stack)",
    options: ["dashboard-url"],
    run: async () => success(undefined),
    standalone: doctor,
  },
};

const GLOBAL_HELP = `Usage: npm run canary -- <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${[name, ...c.args.map((a) => `<${a}>`)].join(" ").padEnd(24)}${c.summary}`).join("\n")}

Where the rules are (default: wrangler's local KV and the local stack):
  --local               wrangler's local KV, as \`wrangler dev\` uses it (default); writes go to the
                        local stack that keeps its state there (npm start)
  --remote              the KV namespace on Cloudflare, with your wrangler login; writes need --url
  --env <name>          a wrangler environment from wrangler.toml
  --persist-to <dir>    local KV kept in <dir> (like \`wrangler dev --persist-to\`)
  --url <url>           the site: with ${TOKEN_VARIABLE} (and no KV flag) its admin API; with --remote
                        or --local, where the release authority carries out the writes (or set CANARY_URL);
                        CANARY_PATH comes from the environment (default /__canary)

Output:
  --json                print the API's JSON answer instead of text
  -h, --help            help for a command: npm run canary -- ramp --help

Exit status: 0 done, 1 refused or failed (one-line reason on stderr), 2 bad usage; release --wait and
rollout status --watch: 0 promoted, 1 rolled back or aborted (the reason on stderr), 3 timed out (the
rollout keeps running), 130 interrupted (Ctrl-C: the rollout keeps running).`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      local: { type: "boolean" },
      remote: { type: "boolean" },
      env: { type: "string", short: "e" },
      "persist-to": { type: "string" },
      url: { type: "string" },
      reason: { type: "string" },
      "rollout-id": { type: "string" },
      "if-match": { type: "string" },
      limit: { type: "string" },
      colour: { type: "string" },
      color: { type: "string" },
      ttl: { type: "string" },
      path: { type: "string" },
      out: { type: "string" },
      "dashboard-url": { type: "string" },
      plan: { type: "string" },
      wait: { type: "boolean" },
      watch: { type: "boolean" },
      timeout: { type: "string" },
    },
  });
}

class UsageError extends Error {}

let values: Values;

/** Runs one command; the exit code is the contract for scripts. */
async function main(argv: string[]): Promise<number> {
  if (argv.some((arg) => /^--(admin-)?token\b/.test(arg))) {
    throw new UsageError(`the admin token is never a flag (it would stay in your shell history): set ${TOKEN_VARIABLE}`);
  }
  const parsed = parse(argv);
  values = parsed.values;
  if (values.color !== undefined) values.colour ??= values.color;
  const [first, second, ...rest] = parsed.positionals;
  const noun = first === "rules" || first === "rollout";
  const name = noun && second ? `${first} ${second}` : first;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    if (noun && !second && !values.help) throw new UsageError(`usage: npm run canary -- ${first} ${Object.keys(COMMANDS).filter((n) => n.startsWith(`${first} `)).map((n) => n.split(" ")[1]).join("|")}`);
    if (name && !values.help) throw new UsageError(`unknown command "${parsed.positionals.join(" ")}" (see npm run canary -- --help)`);
    console.log(GLOBAL_HELP);
    return values.help ? 0 : 2;
  }
  if (values.help) {
    console.log(commandHelp(command));
    return 0;
  }
  const args = name === first ? [second, ...rest].filter((a) => a !== undefined) : rest;
  if (args.length !== command.args.length) throw new UsageError(`usage: npm run canary -- ${command.usage}`);
  const local = ["local", "remote", "env", "persist-to"] as const;
  const allowed = new Set<string>(["json", "help", "color", "url", ...local, ...command.options]);
  const stray = Object.keys(values).find((key) => !allowed.has(key));
  if (stray) throw new UsageError(`${name} takes no --${stray} (see npm run canary -- ${name} --help)`);
  if (command.standalone) return command.standalone(values);

  const transport = await openTransport(local.some((key) => values[key] !== undefined));
  if (name !== "rules validate") console.error(`→ ${transport.target}`);
  if (command.follows) return command.follows(transport, values);
  const outcome = await command.run(transport, args, values);
  if (values.json && outcome.body !== undefined) console.log(JSON.stringify(outcome.body, null, 2));
  if (!outcome.ok) {
    if (!values.json) for (const line of print.problem(outcome.body)) console.error(line);
    return 1;
  }
  return 0;
}

/**
 * --url (or CANARY_URL) with CANARY_ADMIN_TOKEN and no KV flags picks the admin API; otherwise KV
 * through wrangler, whose writes the site at --url (or CANARY_URL, or the local stack) carries out.
 */
async function openTransport(kvFlagsGiven: boolean): Promise<Transport> {
  const url = values.url || process.env.CANARY_URL || undefined;
  const token = process.env[TOKEN_VARIABLE];
  const canaryPath = process.env.CANARY_PATH || "/__canary";
  if (url && !kvFlagsGiven) {
    if (!token) throw new UsageError(`${TOKEN_VARIABLE} is not set: the admin API needs the worker's ADMIN_TOKEN (or add --remote to write with your wrangler login)`);
    return httpTransport(url, canaryPath, token);
  }
  const target = kvTarget();
  const state = target.persistTo ?? resolve(PROJECT_ROOT, stateDir(DEFAULT_PORT));
  const stack = url ?? (target.remote ? undefined : await readStackUrl(state));
  const missing = target.remote
    ? "writes over --remote are carried out by the site's release authority: give its URL with --url https://www.example.com (or CANARY_URL); your wrangler login is the credential, no token needed"
    : `no local stack has kept its state in ${state}: start it with npm start (or give --url)`;
  return wranglerTransport(target, { url: stack || undefined, canaryPath, missing });
}

/**
 * `doctor`: the site from --url, CANARY_URL, or the local stack's file (which also gives its local
 * token and dashboard); the token from CANARY_ADMIN_TOKEN. Every check runs whatever the others find.
 */
async function doctor(v: Values): Promise<number> {
  if (v.remote || v.local || v.env) throw new UsageError("doctor checks the site over HTTP: give --url https://www.example.com (no --local, --remote or --env)");
  const state = v["persist-to"] ? resolve(process.env.INIT_CWD ?? process.cwd(), v["persist-to"]) : resolve(PROJECT_ROOT, stateDir(DEFAULT_PORT));
  const given = v.url || process.env.CANARY_URL || undefined;
  const stack = given ? undefined : await readStack(state);
  const site = given ?? stack?.url;
  if (!site) throw new UsageError(`doctor needs the site: --url https://www.example.com (or CANARY_URL); no local stack has kept its state in ${state} (npm start)`);
  if (!URL.canParse(site)) throw new UsageError(`--url must be a URL such as https://www.example.com, not "${site}"`);
  const parsed = new URL(site);
  // The site's root, nothing under it: the token goes to <site><CANARY_PATH>/api, which under a path would be an origin's.
  if (!["http:", "https:"].includes(parsed.protocol) || (parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search || parsed.hash) {
    throw new UsageError(`--url must be the site's root, such as https://www.example.com (no path, query or fragment), not "${site}"`);
  }
  if (parsed.protocol === "http:" && !LOOPBACK.has(parsed.hostname)) throw new UsageError(`--url must be https:// (http:// only for 127.0.0.1, ::1 or localhost): the admin token would travel in cleartext to ${parsed.host}`);
  // The local stack's own token first when the site is the local stack's: an exported production token is not its.
  const exported = process.env[TOKEN_VARIABLE] || undefined;
  const token = (stack ? stack.adminToken || exported : exported) || undefined;
  // Checked before any request: a token fetch cannot put in a header would otherwise be printed in its error.
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw new UsageError(`${TOKEN_VARIABLE}${token === exported ? "" : " (the local stack's)"} has characters a header cannot carry (spaces, line breaks or other non-printable ones): copy the token again`);
  const dashboardUrl = v["dashboard-url"] || stack?.dashboardUrl || undefined;
  if (dashboardUrl && !URL.canParse(dashboardUrl)) throw new UsageError(`--dashboard-url must be a URL such as https://canary.example.com/__canary/admin, not "${dashboardUrl}"`);
  console.error(`→ ${site}${stack ? ` (the local stack in ${state})` : ""}${token ? "" : `; no ${TOKEN_VARIABLE}: the admin checks cannot run`}`);
  const verdicts = scrubbed(judge(await probe({ site: parsed.origin, canaryPath: process.env.CANARY_PATH || "/__canary", token, dashboardUrl })), token);
  if (v.json) console.log(JSON.stringify(verdicts, null, 2));
  else for (const line of doctorLines(verdicts)) console.log(line);
  const failed = verdicts.filter((x) => x.level === "fail").length;
  const warned = verdicts.filter((x) => x.level === "warn").length;
  console.error(`doctor: ${verdicts.length} checks, ${failed} failed, ${warned} ${warned === 1 ? "warning" : "warnings"}`);
  return failed ? 1 : 0;
}

/** The hosts doctor may send the admin token to over plain http://. */
const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"]);

function kvTarget(): KvTarget {
  if (values.local && values.remote) throw new UsageError("--local or --remote, not both");
  const persistTo = values["persist-to"] && resolve(process.env.INIT_CWD ?? process.cwd(), values["persist-to"]);
  return { remote: Boolean(values.remote), env: values.env, persistTo };
}

function commandHelp(command: Command): string {
  const flags: Record<string, string> = {
    "rollout-id": "--rollout-id <id>     start a new cohort (letters, digits, . _ -)",
    reason: "--reason <text>       why: recorded in the history",
    "if-match": "--if-match <rev>      refuse (412) unless the rules are still at this revision",
    limit: "--limit <n>           show only the newest n entries",
    colour: "--colour <colour>     blue or green",
    ttl: "--ttl <seconds>       how long the link works (default 86400)",
    path: "--path </page>        where the link lands (default /)",
    out: "--out <file>          write the document to <file> instead of stdout",
    "dashboard-url": "--dashboard-url <url> the dashboard on its own host (default: where the site redirects)",
    plan: "--plan <file>         a JSON plan, {\"steps\": [{\"percent\": 5, \"dwellSeconds\": 600}, …]}, instead of the rules' own",
    wait: "--wait                follow the rollout to its end: exit 0 promoted, 1 rolled back or aborted, 3 timed out",
    watch: "--watch               follow the rollout to its end: exit 0 promoted, 1 rolled back or aborted, 3 timed out",
    timeout: "--timeout <duration>  stop waiting after 30m, 90s, 2h (exit 3; the rollout keeps running)",
  };
  const own = command.options.map((option) => `  ${flags[option]}`).join("\n");
  const plus = command.standalone
    ? `Plus --url <site> (or CANARY_URL; the token from ${TOKEN_VARIABLE}), --persist-to <dir> (another local stack), and --json.`
    : "Plus --local | --remote | --env <name> | --persist-to <dir> | --url <url>, and --json (see npm run canary -- --help).";
  return `Usage: npm run canary -- ${command.usage} [options]\n\n${command.summary}.\n${own ? `\nOptions:\n${own}\n` : ""}\n${plus}`;
}

/** Prints the human form of a success (with --json, main prints the body instead). */
function shown<T>(outcome: Outcome<T>, lines: (body: T) => string[]): Outcome<T> {
  if (outcome.ok && !values.json) for (const line of lines(outcome.body)) console.log(line);
  return outcome;
}

async function writeWith(t: Transport, action: "ramp" | "promote" | "revert" | "rollback", v: Values, input: object) {
  const outcome = await t.write(action, input, ifMatch(v));
  if (outcome.ok && !outcome.body.unchanged) notePropagation(t);
  return shown(outcome, (body) => print.written(action, body));
}

/** `rollout <verb>`: refused at once over wrangler, which can reach KV but not the worker's Durable Object. */
function rolloutCommand(verb: RolloutVerb, summary: string): Command {
  const start = verb === "start";
  return {
    usage: `rollout ${verb}${start ? " [--rollout-id <id>]" : ""} [--reason <text>]`,
    args: [],
    summary: `${summary} (needs --url)`,
    options: start ? ["rollout-id", "reason"] : ["reason"],
    run: async (t, _, v) => {
      if (!t.rollout) {
        const message = `rollout ${verb} needs the worker: the plan lives in its Durable Object, which wrangler cannot reach; use --url <worker> (or CANARY_URL) with CANARY_ADMIN_TOKEN`;
        return failure(400, "needs_http", message);
      }
      const outcome = await t.rollout.command(verb, start ? { rolloutId: v["rollout-id"], reason: v.reason } : { reason: v.reason });
      if (outcome.ok && verb !== "pause") notePropagation(t);
      return shown(outcome, (body) => [`rollout ${verb}: canary ${body.canary} at ${body.percent}%, rules at revision ${body.revision}`, ...rolloutStatus(body)]);
    },
  };
}

/** `release`: the plan under the build's name, started as `rollout start` does; with --wait, followed to its end. */
async function release(t: Transport, v: Values): Promise<number> {
  const rolloutId = v["rollout-id"];
  if (!rolloutId) throw new UsageError("release needs --rollout-id <build>: the rollout is named for the build it delivers");
  if (v.timeout !== undefined && !v.wait) throw new UsageError("--timeout goes with --wait");
  const timeoutMs = timeoutOf(v);
  const plan = v.plan === undefined ? undefined : await readPlan(v.plan);
  const control = rolloutControl(t, "release");
  const started = await control.command("start", { rolloutId, plan, reason: v.reason ?? `release ${rolloutId}` });
  if (!started.ok) return problem(started.body);
  notePropagation(t);
  const { canary, percent, revision } = started.body;
  if (!v.json) console.log(`release ${rolloutId}: started, canary ${canary} at ${percent}%, rules at revision ${revision}`);
  if (!v.wait) {
    if (v.json) console.log(JSON.stringify(started.body, null, 2));
    else for (const line of rolloutStatus(started.body)) console.log(line);
    return 0;
  }
  return watch(control, rolloutId, started.body, timeoutMs, v);
}

/** `rollout status`: the engine's status once, or with --watch followed to the end of the rollout it names (or the current one). */
async function rolloutStatusCommand(t: Transport, v: Values): Promise<number> {
  if (!v.watch && (v.timeout !== undefined || v["rollout-id"] !== undefined)) throw new UsageError("--timeout and --rollout-id go with --watch");
  const timeoutMs = timeoutOf(v);
  const control = rolloutControl(t, "rollout status");
  const status = await control.status();
  if (!status.ok) return problem(status.body);
  if (!v.watch) {
    if (v.json) console.log(JSON.stringify(status.body, null, 2));
    else for (const line of rolloutStatus(status.body)) console.log(line);
    return 0;
  }
  const rolloutId = v["rollout-id"] ?? status.body.run?.rolloutId;
  if (!rolloutId) return problem({ error: "no_rollout", message: "no rollout has been started: nothing to watch" });
  return watch(control, rolloutId, status.body, timeoutMs, v);
}

/** Follows `rolloutId` to its end: progress lines (JSON lines with --json), then the exit code a pipeline branches on. */
async function watch(control: RolloutControl, rolloutId: string, first: RolloutStatus, timeoutMs: number | undefined, v: Values): Promise<number> {
  const site = v.url || process.env.CANARY_URL || "<site>";
  const terminal = !v.json && Boolean(process.stdout.isTTY);
  const line = (event: object) => console.log(JSON.stringify(event));
  const endLine = () => terminal && process.stdout.write("\n");
  const interrupted = () => {
    endLine();
    if (v.json) line({ event: "interrupted", rolloutId, exitCode: EXIT.interrupted });
    for (const text of leftRunning(rolloutId, site)) console.error(text);
    process.exit(EXIT.interrupted);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  const started = Date.now();
  let last = first;
  const { ending, last: seen } = await follow(rolloutId, first, {
    read: async () => {
      const status = await control.status().catch((error: Error) => failure(503, "unreachable", error.message));
      if (status.ok) return (last = status.body);
      console.error(`warning: could not read the rollout's status (${status.body.message}); asking again`);
      return last;
    },
    now: Date.now,
    sleep: (ms) => new Promise((done) => setTimeout(done, ms)),
    report: (p) => (v.json ? line(p) : terminal ? process.stdout.write(`\r\x1b[2K${progressLine(p)}`) : console.log(progressLine(p))),
    intervalMs: FOLLOW_INTERVAL_MS,
    deadline: timeoutMs === undefined ? undefined : started + timeoutMs,
    everyPoll: terminal,
  });
  endLine();
  process.off("SIGINT", interrupted);
  process.off("SIGTERM", interrupted);
  if (!ending) {
    const run = seen.run;
    const where = run ? `${run.status} at step ${run.step} of ${run.steps} (${seen.canary} at ${seen.percent}%)` : "not started";
    if (v.json) line({ event: "timeout", rolloutId, exitCode: EXIT.timeout, status: run?.status ?? null, step: run?.step ?? null, percent: seen.percent });
    console.error(`canary: timed out after ${v.timeout}: rollout ${rolloutId} is still ${where}`);
    for (const text of leftRunning(rolloutId, site)) console.error(text);
    return EXIT.timeout;
  }
  if (v.json) line({ ...ending, exitCode: ending.code });
  if (ending.code === 0) {
    if (!v.json) console.log(`release ${rolloutId} promoted: ${seen.stable} is stable for everyone; the next release goes to ${seen.canary}`);
    return EXIT.promoted;
  }
  console.error(`canary: rollout ${rolloutId} ${ending.event}: ${ending.reason}`);
  const window = seen.lastWindow;
  if (window) {
    console.error(`  last window ${window.start} – ${window.end.slice(11)}: ${window.verdict}`);
    console.error(`  ${seen.canary} (canary) ${health(window.canary)}`);
    console.error(`  ${seen.stable} (stable) ${health(window.stable)}`);
  }
  if (seen.percent === 0) console.error(`  everyone is on ${seen.stable} (stable); canary at 0%`);
  else console.error(`  now: canary ${seen.canary} at ${seen.percent}% (rollout ${seen.run?.rolloutId ?? "?"})`);
  return EXIT.stopped;
}

/** How often a follower asks for the status: a step is decided at most once per 10 s window. */
const FOLLOW_INTERVAL_MS = 2000;

function timeoutOf(v: Values): number | undefined {
  if (v.timeout === undefined) return undefined;
  const ms = duration(v.timeout);
  if (ms === null) throw new UsageError(`--timeout must be a duration such as 30m, 90s or 2h, not "${v.timeout}"`);
  return ms;
}

/** The rollout engine, which only the worker reaches: over wrangler this is a usage error, said at once. */
function rolloutControl(t: Transport, name: string): RolloutControl {
  if (!t.rollout) throw new UsageError(`${name} needs the worker: the plan lives in its Durable Object, which wrangler cannot reach; use --url <worker> (or CANARY_URL) with ${TOKEN_VARIABLE}`);
  return t.rollout;
}

/** A refusal's one-line reason on stderr (with --json its body on stdout); exit 1. */
function problem(body: Problem): number {
  if (values.json) console.log(JSON.stringify(body, null, 2));
  else for (const text of print.problem(body)) console.error(text);
  return EXIT.stopped;
}

/** A --plan file, checked with the rules' own plan schema before anything is sent. */
async function readPlan(file: string): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(resolve(process.env.INIT_CWD ?? process.cwd(), file), "utf8");
  } catch (error) {
    throw new UsageError(`cannot read --plan ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--plan ${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = PlanSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${["plan", ...issue.path].join(".")}: ${issue.message}`);
    throw new UsageError(`--plan ${file} is not a plan ({"steps": [{"percent": 5, "dwellSeconds": 600}, …]}); nothing was started: ${issues.join("; ")}`);
  }
  return parsed.data;
}

/** Where the change was made is routed on at once; every other colo follows within about 2 s (local stacks: there is one colo). */
function notePropagation(t: Transport): void {
  if (!t.target.startsWith("local")) console.error("note: the edge that took this request routes on it now; every colo within about 2 s (the release beacon)");
}

function ifMatch(v: Values): number | undefined {
  return v["if-match"] === undefined ? undefined : number(v["if-match"].replace(/"/g, ""), "--if-match");
}

function number(text: string | undefined, what: string): number {
  const value = Number(text);
  if (text === undefined || text.trim() === "" || !Number.isFinite(value)) throw new UsageError(`${what} must be a number, not "${text ?? ""}"`);
  return value;
}

/** A rules file, checked with the one schema before anything is sent or written. */
async function readDocument(file: string | undefined): Promise<Outcome<unknown>> {
  const path = resolve(process.env.INIT_CWD ?? process.cwd(), file ?? "");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    return failure(400, "unreadable_file", `cannot read ${file}: ${(error as Error).message}`);
  }
  const parsed = parseRulesText(text);
  if (!parsed.ok) return failure(400, "invalid_rules", `${file} is not a valid rules document; nothing was written`, { issues: parsed.issues });
  return success(JSON.parse(text));
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
  console.error(`canary: ${(error as Error).message}`);
  process.exitCode = usage ? 2 : 1;
}
