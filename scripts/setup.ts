// npm run setup -- --zone example.com --route 'www.example.com/*' --blue https://blue.example.com --green https://green.example.com --dashboard-host canary.example.com
// From a logged-in wrangler to a running deployment, and safe to run again: the KV namespace (found
// or created, its id written into both wrangler.toml files), the route, the dashboard's own host (the
// control Worker's custom domain and its DASHBOARD_HOST), the rules seeded at 0% canary,
// the secrets on the Worker that reads each (the same CANARY_SECRET on both), the control Worker
// deployed, then the edge. It reads what is there first and does only what is missing: a run that
// stopped half-way is finished by the next. --dry-run reads and prints the plan, and changes nothing.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { checkRules } from "../worker/core/rules-check.ts";
import { parseRules, type RulesInput } from "../worker/core/rules.ts";
import {
  dashboardHostProblem,
  NAMESPACE_TITLE,
  PLACEHOLDER_KV_ID,
  readCustomDomain,
  readKvId,
  readRoute,
  readVar,
  type Route,
  routeHost,
  routeMatchesHost,
  routeProblem,
  setCustomDomain,
  setKvId,
  setRoute,
  setVar,
  TOKEN_FILE,
} from "./setup/config.ts";
import { hostInDns } from "./setup/dns.ts";
import { PROJECT_ROOT, wrangler, wranglerLive } from "./wrangler.ts";

const USAGE = `Usage: npm run setup -- --zone <zone> --route <pattern> --blue <url> --green <url> [--dashboard-host <host> [--take-over-host]] [--dry-run]

  --zone <zone>            the Cloudflare zone your site is in, e.g. example.com
  --route <pattern>        where the edge Worker runs, e.g. 'www.example.com/*' (quote it)
  --blue <url>             your stable origin (blue), e.g. https://blue.example.com
  --green <url>            your canary origin (green), e.g. https://green.example.com
  --dashboard-host <host>  the release dashboard's own host, e.g. canary.example.com: a hostname
                           in one of your zones, not the site's. It becomes the control Worker's
                           custom domain (DNS record and certificate made by its deploy) and its
                           DASHBOARD_HOST. Without it the dashboard stays as worker/control/wrangler.toml has it (off when empty).
                           The route must not match it: a wildcard route such as '*.example.com/*'
                           would win over the custom domain and hand the dashboard's host to the edge.
                           A new host is looked up in DNS first: setup refuses one that resolves
                           (its deploy would replace that record, or another Worker's custom domain)
  --take-over-host         replace what the --dashboard-host is now (DNS record or custom domain),
                           or go on when the DNS lookup cannot be made
  --dry-run                read your account and print what would be done; change nothing

Needs a logged-in wrangler (npx wrangler login, or CLOUDFLARE_API_TOKEN). Run it again at any time:
it keeps the namespace, the secrets and the rules it finds. --zone and --route default to the
route in wrangler.toml; --blue and --green are needed only while KV has no rules;
--dashboard-host defaults to the one worker/control/wrangler.toml has.
Code updates afterwards: npm run deploy.`;

const EDGE_CONFIG = "wrangler.toml";
const CONTROL_CONFIG = "worker/control/wrangler.toml";
const BINDING = "CANARY_KV";
const RULES_KEY = "rules";

/** A step failed: what is done stays done, and the same command carries on from there. */
class SetupError extends Error {}
/** Bad flags: nothing was read or changed. */
class UsageError extends Error {}

const fail = (message: string): never => {
  throw new SetupError(message);
};
const usage = (message: string): never => {
  throw new UsageError(message);
};

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      zone: { type: "string" },
      route: { type: "string" },
      blue: { type: "string" },
      green: { type: "string" },
      "dashboard-host": { type: "string" },
      "take-over-host": { type: "boolean" },
      "dry-run": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (positionals.length) usage(`unexpected "${positionals.join(" ")}"\n\n${USAGE}`);
  return values;
}

/** Runs wrangler to the end; a failure throws with wrangler's own reason. */
async function run(args: string[], what: string): Promise<string> {
  const result = await wrangler(args);
  if (result.code !== 0) fail(`${what} failed: ${wranglerError(result.stderr || result.stdout)}`);
  return result.stdout;
}

/** The JSON wrangler printed (after any banner). */
function json<T>(stdout: string, what: string): T {
  const start = stdout.search(/^[[{]/m);
  try {
    return JSON.parse(stdout.slice(start)) as T;
  } catch {
    return fail(`${what}: wrangler printed no JSON: ${stdout.trim().split("\n")[0] ?? ""}`);
  }
}

/** Wrangler's one-line reason (its ✘ [ERROR] line and the next), without colours or its log-file footer. */
function wranglerError(output: string): string {
  const lines = output.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("🪵"));
  const at = lines.findIndex((line) => line.includes("[ERROR]"));
  if (at < 0) return lines.at(-1) ?? "no output";
  return lines.slice(at, at + 3).join(" ").replace(/^✘\s*\[ERROR\]\s*/, "");
}

/** The secrets a Worker has, or null when the Worker does not exist yet. */
async function secretsOf(config: string, name: string): Promise<Set<string> | null> {
  const result = await wrangler(["secret", "list", "-c", config]);
  if (result.code !== 0) {
    if (/Worker "[^"]+" not found/.test(result.stderr + result.stdout)) return null;
    fail(`listing the secrets of ${name} failed: ${wranglerError(result.stderr || result.stdout)}`);
  }
  return new Set(json<{ name: string }[]>(result.stdout, `secrets of ${name}`).map((s) => s.name));
}

/** The seed: the two origins, blue stable, 0% canary, signed tester overrides, no targeting rules. */
function seedDocument(blue: string, green: string): string {
  const document: RulesInput = {
    stable: "blue",
    origins: { blue: { url: blue }, green: { url: green } },
    rollout: { id: "initial", percent: 0 },
    overrides: "signed",
    rules: [],
  };
  const text = `${JSON.stringify(document, null, 2)}\n`;
  const schema = parseRules(document);
  if (!schema.ok) usage(`--blue/--green: ${schema.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  const edge = checkRules(document);
  if (!edge.ok) usage(`--blue/--green: the edge would refuse these rules: ${edge.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  return text;
}

function workerName(text: string, file: string): string {
  return /^name\s*=\s*"([^"]+)"/m.exec(text)?.[1] ?? fail(`${file} has no name`);
}

const secret = () => randomBytes(32).toString("base64url");
const token = () => randomBytes(32).toString("hex");

async function main(argv: string[]): Promise<void> {
  const args = parse(argv);
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const dry = Boolean(args["dry-run"]);
  const at = (file: string) => join(PROJECT_ROOT, file);
  const edgeText = await readFile(at(EDGE_CONFIG), "utf8");
  const controlText = await readFile(at(CONTROL_CONFIG), "utf8");
  const edgeName = workerName(edgeText, EDGE_CONFIG);
  const controlName = workerName(controlText, CONTROL_CONFIG);
  const canaryPath = readVar(edgeText, "CANARY_PATH") ?? "/__canary";

  // Everything that can be refused without asking Cloudflare is checked first.
  const kept = readRoute(edgeText);
  if ((args.zone === undefined) !== (args.route === undefined) && !kept) usage(`give both --zone and --route\n\n${USAGE}`);
  const route: Route | undefined = args.route || args.zone ? { pattern: args.route ?? kept!.pattern, zone: args.zone ?? kept!.zone } : kept;
  if (!route) usage(`the edge Worker needs a route in front of your site: --zone example.com --route 'www.example.com/*'\n\n${USAGE}`);
  const problem = routeProblem(route!);
  if (problem) usage(problem);
  if ((args.blue === undefined) !== (args.green === undefined)) usage("give both --blue and --green (your stable and your canary origin)");
  const seed = args.blue && args.green ? seedDocument(args.blue, args.green) : undefined;
  const dashboardHost = args["dashboard-host"]?.toLowerCase();
  const takeOver = Boolean(args["take-over-host"]);
  if (takeOver && dashboardHost === undefined) usage("--take-over-host goes with --dashboard-host <host>");
  let hostCheck: string | undefined;
  if (dashboardHost !== undefined) {
    const wrong = dashboardHostProblem(dashboardHost, route!);
    if (wrong) usage(wrong);
    let current: string | undefined;
    try {
      current = readCustomDomain(controlText);
    } catch (error) {
      usage(`${CONTROL_CONFIG} ${(error as Error).message}`);
    }
    if (readVar(controlText, "DASHBOARD_HOST") === undefined) usage(`${CONTROL_CONFIG} has no DASHBOARD_HOST under [vars]: add the line DASHBOARD_HOST = "" there (as the file ships), then run setup again`);
    // A new host: its deploy overrides whatever has the hostname (wrangler runs without a terminal here), so ask DNS first.
    if (dashboardHost !== current?.toLowerCase()) hostCheck = await checkNewHost(dashboardHost, takeOver);
  } else {
    // The dashboard host the file already has must not be matched by the route either.
    const kept = readCustomDomainOrNone(controlText) || readVar(controlText, "DASHBOARD_HOST") || undefined;
    if (kept && routeMatchesHost(route!.pattern, kept)) {
      usage(`the dashboard's host ${kept} (in ${CONTROL_CONFIG}) is matched by the route ${route!.pattern}: a Worker route wins over a custom domain, so the edge would serve the dashboard's host; narrow the route (e.g. 'www.${route!.zone}/*'), or move the dashboard with --dashboard-host`);
    }
  }

  console.log(dry ? "edge-canary setup, dry run: reads your account, changes nothing\n" : "edge-canary setup\n");

  // 1. Read what is there: the namespace, each Worker's secrets, the rules.
  const listed = await wrangler(["kv", "namespace", "list"]);
  if (listed.code !== 0) fail(`listing your KV namespaces failed (is wrangler logged in? npx wrangler whoami): ${wranglerError(listed.stderr || listed.stdout)}`);
  const namespaces = json<{ id: string; title: string }[]>(listed.stdout, "KV namespaces");
  const known = new Map(namespaces.map((ns) => [ns.id, ns.title]));
  const configured = [readKvId(edgeText, BINDING), readKvId(controlText, BINDING)].filter((id): id is string => !!id && id !== PLACEHOLDER_KV_ID);
  let namespaceId = configured.find((id) => known.has(id)) ?? namespaces.find((ns) => ns.title === NAMESPACE_TITLE)?.id;
  const stale = configured.filter((id) => !known.has(id));
  if (stale.length) console.log(`note: ${[...new Set(stale)].join(", ")} in wrangler.toml is not a namespace of this account: replaced`);

  const controlSecrets = await secretsOf(CONTROL_CONFIG, controlName);
  const edgeSecrets = await secretsOf(EDGE_CONFIG, edgeName);

  let hasRules = false;
  if (namespaceId) {
    const keys = json<{ name: string }[]>(await run(["kv", "key", "list", "--namespace-id", namespaceId, "--remote", "--prefix", RULES_KEY], "reading the rules key"), "KV keys");
    hasRules = keys.some((key) => key.name === RULES_KEY);
  }
  if (!hasRules && !seed) usage(`KV has no rules yet: give your two origins, --blue https://blue.example.com --green https://green.example.com`);

  // 2. The plan: what is kept, what is made.
  const newCanarySecret = !(controlSecrets?.has("CANARY_SECRET") && edgeSecrets?.has("CANARY_SECRET"));
  const newAdminToken = !controlSecrets?.has("ADMIN_TOKEN");
  const rotating = newCanarySecret && (controlSecrets?.has("CANARY_SECRET") || edgeSecrets?.has("CANARY_SECRET"));
  const say = (step: string, text: string) => console.log(`${step.padEnd(14)}${text}`);
  if (hostCheck) say("dashboard", hostCheck);

  // 3. The namespace.
  if (namespaceId) say("KV namespace", `${known.get(namespaceId)} (${namespaceId}): found, kept`);
  else if (dry) say("KV namespace", `would create "${NAMESPACE_TITLE}"`);
  else {
    const created = await run(["kv", "namespace", "create", NAMESPACE_TITLE], `creating the KV namespace "${NAMESPACE_TITLE}"`);
    namespaceId = /"?id"?\s*[=:]\s*"([0-9a-f]{32})"/.exec(created)?.[1] ?? fail(`wrangler created "${NAMESPACE_TITLE}" but printed no id: run setup again (it finds the namespace by its title)`);
    say("KV namespace", `${NAMESPACE_TITLE} (${namespaceId}): created`);
  }

  // 4. The config files: the namespace id in both, the route (and, when seeding, the fallback origin) in the edge's.
  const id = namespaceId ?? "<new namespace id>";
  let nextEdge = setRoute(setKvId(edgeText, BINDING, id), route!);
  if (!hasRules && args.blue) nextEdge = setVar(setVar(nextEdge, "FALLBACK_ORIGIN", args.blue), "FALLBACK_COLOUR", "blue");
  let nextControl = setKvId(controlText, BINDING, id);
  // The dashboard's own host: the control Worker's custom domain (its deploy makes the DNS record and
  // certificate) and the var it answers on. Without the flag both stay as the file has them.
  if (dashboardHost !== undefined) nextControl = setVar(setCustomDomain(nextControl, dashboardHost), "DASHBOARD_HOST", dashboardHost);
  const dashboard = readVar(nextControl, "DASHBOARD_HOST") || undefined;
  const domain = readCustomDomainOrNone(nextControl);
  for (const [file, before, after] of [[EDGE_CONFIG, edgeText, nextEdge], [CONTROL_CONFIG, controlText, nextControl]] as const) {
    const changes = describeChanges(before, after);
    if (!changes.length) say("config", `${file}: up to date`);
    else if (dry) say("config", `${file}: would set ${changes.join(", ")}`);
    else {
      await writeFile(at(file), after);
      say("config", `${file}: set ${changes.join(", ")}`);
    }
  }
  if (hasRules && readVar(nextEdge, "FALLBACK_ORIGIN") === "https://blue.example.com") {
    console.log(`note: FALLBACK_ORIGIN in ${EDGE_CONFIG} is still the example's; set it to your stable origin, then npm run deploy`);
  }

  // 5. The rules: seeded once, never overwritten (change them with npm run canary).
  if (hasRules) say("rules", `already in KV: kept${seed ? " (--blue/--green are used only for the first rules; change them with npm run canary -- rules set)" : ""}`);
  else if (dry) say("rules", `would seed: blue ${args.blue} stable, green ${args.green} at 0%`);
  else {
    await withFile("rules.json", seed!, (file) => run(["kv", "key", "put", RULES_KEY, "--path", file, "--namespace-id", namespaceId!, "--remote"], "seeding the rules"));
    say("rules", `seeded: blue ${args.blue} stable, green ${args.green} at 0%`);
  }

  // 6. Secrets, uploaded with each Worker's deploy (a new Worker cannot be deployed without its required secrets).
  const canarySecret = newCanarySecret ? secret() : undefined;
  const adminToken = newAdminToken ? token() : undefined;
  const controlPut: Record<string, string> = { ...(canarySecret ? { CANARY_SECRET: canarySecret } : {}), ...(adminToken ? { ADMIN_TOKEN: adminToken } : {}) };
  const edgePut: Record<string, string> = canarySecret ? { CANARY_SECRET: canarySecret } : {};
  const verb = dry ? "would put" : "puts";
  say("secrets", newCanarySecret ? `CANARY_SECRET: new, setup ${verb} the same value on both Workers${rotating ? " (only one had it, and a secret cannot be read back)" : ""}` : "CANARY_SECRET: both Workers have it: kept");
  say("", newAdminToken ? `ADMIN_TOKEN: new, setup ${verb} it on ${controlName}, written to ${TOKEN_FILE} (mode 0600)` : `ADMIN_TOKEN: ${controlName} has it: kept`);
  if (adminToken && !dry) {
    const file = at(TOKEN_FILE);
    await mkdir(dirname(file), { recursive: true });
    // A new file, created readable by this user only (an old one, whatever its mode, is removed first).
    await rm(file, { force: true });
    await writeFile(file, `${adminToken}\n`, { mode: 0o600, flag: "wx" });
  }

  // 7. Deploy: the control Worker first (the edge's service and Durable Object bindings name it), then the edge.
  for (const [name, config, secrets, also] of [
    [controlName, CONTROL_CONFIG, controlPut, domain ? `, custom domain ${domain}` : ""],
    [edgeName, EDGE_CONFIG, edgePut, `, route ${route!.pattern}`],
  ] as const) {
    const names = Object.keys(secrets);
    const withSecrets = names.length ? ` with ${names.join(", ")}` : "";
    if (dry) {
      say("deploy", `would deploy ${name} (${config})${withSecrets}${also}`);
      continue;
    }
    say("deploy", `${name} (${config})${withSecrets}${also}`);
    const code = names.length
      ? await withFile("secrets.json", JSON.stringify(secrets), (file) => deploy(config, ["--secrets-file", file]))
      : await deploy(config, []);
    if (code !== 0) fail(`deploying ${name} failed (wrangler exit ${code}, its reason above)`);
  }

  const site = routeHost(route!.pattern).includes("*") ? undefined : `https://${routeHost(route!.pattern)}`;
  const url = site ?? "https://<your site>";
  if (dry) {
    console.log(`\ndry run: nothing was changed. Without --dry-run the same command does the above.`);
    return;
  }
  console.log(`
done: ${edgeName} routes ${route!.pattern} (zone ${route!.zone}); ${controlName} behind it

  site          ${url}/
  tester page   ${url}${canaryPath}/
  dashboard     ${dashboard ? `https://${dashboard}/  (sign in with the admin token)` : "off: rerun with --dashboard-host canary.example.com"}
  admin token   ${adminToken ? `${TOKEN_FILE} (mode 0600): keep it in your password manager, then delete the file` : `kept on ${controlName}; ${(await exists(at(TOKEN_FILE))) ? `${TOKEN_FILE} still holds the one setup generated` : "setup cannot show it again"}`}

next:
  npm run canary -- status --remote
  npm run canary -- ramp 5 --remote --url ${url} --reason "first 5%"
  npm run canary -- doctor --url ${url}${dashboard ? ` --dashboard-url https://${dashboard}${canaryPath}/admin` : ""}   # with CANARY_ADMIN_TOKEN exported

Run this command again at any time (it keeps what it finds); npm run deploy for code updates.`);
}

/**
 * Refuses a new dashboard host that DNS says is in use, or that could not be looked up, unless
 * --take-over-host; otherwise returns what the check found, for the log.
 */
async function checkNewHost(host: string, takeOver: boolean): Promise<string> {
  const found = await hostInDns(host);
  if (found.state === "free") return `${host}: not in DNS, free for the control Worker's custom domain`;
  const what =
    found.state === "in-use"
      ? `${host} is in use (${found.records.join(", ")}): deploying would replace that DNS record, or move another Worker's custom domain`
      : `${host} could not be looked up in DNS (${found.code}), so setup cannot tell whether it is in use: deploying would replace whatever it is`;
  if (takeOver) return `${what}; taking it over (--take-over-host)`;
  return usage(`--dashboard-host ${what}. Pass --take-over-host if replacing it is intended, or give another host`);
}

/** The control Worker's custom domain, for the log; undefined when it has none or routes setup does not write. */
function readCustomDomainOrNone(text: string): string | undefined {
  try {
    return readCustomDomain(text);
  } catch {
    return undefined;
  }
}

/** The keys whose values differ between two versions of a config file, for the log. */
function describeChanges(before: string, after: string): string[] {
  const a = before.split("\n");
  const b = after.split("\n");
  const changed = b.filter((line) => !a.includes(line)).map((line) => line.replace(/\s*=.*$/, "").trim());
  return changed.map((key) => (key === "id" ? `${BINDING} id` : key));
}

/** Writes `content` to a file only this user can read, in a fresh temp folder removed afterwards. */
async function withFile<T>(name: string, content: string, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "edge-canary-setup-"));
  try {
    const file = join(dir, name);
    await writeFile(file, content, { mode: 0o600 });
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** `wrangler deploy` with its output on this terminal (it never prints a secret's value). */
function deploy(config: string, extra: string[]): Promise<number> {
  return new Promise((done) => {
    const child = wranglerLive(["deploy", "-c", config, ...extra], {}, { stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", () => done(1));
    child.once("exit", (code) => done(code ?? 1));
  });
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    console.error(`setup: ${(error as Error).message}`);
    process.exitCode = 2;
  } else if (error instanceof SetupError) {
    console.error(`\nsetup: ${error.message}`);
    console.error("setup: what is done stays done; fix the cause and run the same command again: it carries on from what it finds");
    process.exitCode = 1;
  } else throw error;
}
