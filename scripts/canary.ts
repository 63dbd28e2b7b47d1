// npm run canary -- <command>: ramp, promote, revert and roll back the canary, over wrangler or the admin API.
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { failure, type Outcome, success } from "../worker/control/release/outcome.ts";
import { parseRulesText } from "../worker/core/rules.ts";
import { judge, lines as doctorLines, scrubbed } from "./canary/doctor.ts";
import { probe } from "./canary/doctor-probe.ts";
import { httpTransport, TOKEN_VARIABLE } from "./canary/http.ts";
import { wranglerTransport } from "./canary/local.ts";
import type { KvTarget } from "./canary/wrangler-kv.ts";
import { DEFAULT_PORT, stateDir } from "./local-stack.ts";
import { readStack, readStackUrl } from "./stack-file.ts";
import { PROJECT_ROOT } from "./wrangler.ts";
import * as print from "./canary/print.ts";
import { rolloutStatus } from "./canary/print-rollout.ts";
import type { RolloutVerb, Transport } from "./canary/transport.ts";

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

Exit status: 0 done, 1 refused or failed (one-line reason on stderr), 2 bad usage.`;

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
