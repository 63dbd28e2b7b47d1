// npm start: two demo origins, a local state folder of its own seeded from config/rules.local.json, both Workers under wrangler dev, and the dashboard on a port of its own.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { RULES_KEY } from "../worker/core/release.ts";
import { parseRulesText } from "../worker/core/rules.ts";
import { WranglerKV } from "./canary/wrangler-kv.ts";
import { startDashboardPort } from "./dashboard-port.ts";
import { startDemoOrigin } from "./demo-origin.ts";
import { DEFAULT_PORT, seedRules, stateDir } from "./local-stack.ts";
import { isFree } from "./ports.ts";
import { writeStackFile } from "./stack-file.ts";
import { PROJECT_ROOT, wranglerLive } from "./wrangler.ts";

/** Local-only secrets; production ones are set with `wrangler secret put` (see README). */
const LOCAL_SECRET = "local-dev-secret-not-for-production";
const LOCAL_ADMIN_TOKEN = "local-dev-admin-token";
const SEED = "config/rules.local.json";
const INSPECTOR_OFFSET = 9229 - DEFAULT_PORT;

function port(name: string, fallback: number): number {
  const text = process.env[name];
  const value = Number(text ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 65535) fail(`${name} must be a port number (1-65535), not "${text ?? fallback}"`);
  return value;
}

function fail(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

const PORT = port("PORT", DEFAULT_PORT);
const BLUE_PORT = port("BLUE_PORT", 8101);
const GREEN_PORT = port("GREEN_PORT", 8102);
/** The dashboard's own origin (DASHBOARD_HOST), as a custom domain gives it one in production: never the site's port. */
const DASHBOARD_PORT = port("DASHBOARD_PORT", PORT + 1);
/** wrangler's own 9229 for the default stack, and one per PORT for the others (two stacks starting at once never race for it). */
const INSPECTOR_PORT = port("INSPECTOR_PORT", PORT + INSPECTOR_OFFSET);
if (new Set([PORT, DASHBOARD_PORT, BLUE_PORT, GREEN_PORT, INSPECTOR_PORT]).size < 5) fail(`PORT, DASHBOARD_PORT, BLUE_PORT, GREEN_PORT and INSPECTOR_PORT must differ`);
const reseed = process.argv.includes("--reseed");
const state = stateDir(PORT);

// Everything that can be refused is checked before anything is changed: the seed, then the ports.
const seed = await readFile(join(PROJECT_ROOT, SEED), "utf8")
  .then((text) => seedRules(text, { blue: BLUE_PORT, green: GREEN_PORT }))
  .catch((error: Error) => fail(`${SEED}: ${error.message}`));
if (!(await isFree(PORT))) fail(`port ${PORT} is in use (another stack?): pick another with PORT=…`);
if (!(await isFree(INSPECTOR_PORT))) fail(`inspector port ${INSPECTOR_PORT} is in use: pick another with INSPECTOR_PORT=…`);
if (!(await isFree(DASHBOARD_PORT))) fail(`dashboard port ${DASHBOARD_PORT} is in use: pick another with DASHBOARD_PORT=…`);
const blue = await startDemoOrigin("blue", BLUE_PORT).catch((error: Error) => fail(`blue origin on ${BLUE_PORT}: ${error.message}`));
const green = await startDemoOrigin("green", GREEN_PORT).catch((error: Error) => fail(`green origin on ${GREEN_PORT}: ${error.message}`));
console.log(`demo origins: blue ${blue.url}, green ${green.url}`);
const dashboard = await startDashboardPort(DASHBOARD_PORT, PORT).catch((error: Error) => fail(`dashboard on ${DASHBOARD_PORT}: ${error.message}`));
console.log(`dashboard: ${dashboard.url} (its own origin; sign in with ${LOCAL_ADMIN_TOKEN})`);

if (reseed) {
  await rm(join(PROJECT_ROOT, state), { recursive: true, force: true });
  console.log(`--reseed: removed ${state} (rules, revisions, history and the analysis object's state)`);
}
const kv = new WranglerKV({ remote: false, persistTo: join(PROJECT_ROOT, state) });
const kept = await kv.get(RULES_KEY);
if (kept !== null) {
  console.log(`${state} already has rules: keeping them (npm start -- --reseed starts over from ${SEED})`);
  const origins = parseRulesText(kept);
  const urls = origins.ok ? [origins.rules.origins.blue.url, origins.rules.origins.green.url] : [];
  if (!urls.includes(blue.url) || !urls.includes(green.url)) {
    console.warn(`warning: the kept rules do not route to this start's origins (${blue.url}, ${green.url}): npm start -- --reseed`);
  }
} else {
  await kv.put(RULES_KEY, seed);
  await kv.flush();
  console.log(`seeded ${state} from ${SEED}, origins moved to ${BLUE_PORT} and ${GREEN_PORT}`);
}

// The CLI's wrangler transport delivers its writes here; canary doctor checks this stack with no flags.
await writeStackFile(join(PROJECT_ROOT, state), `http://127.0.0.1:${PORT}`, { adminToken: LOCAL_ADMIN_TOKEN, dashboardUrl: dashboard.url });
const cli = PORT === DEFAULT_PORT ? "npm run canary -- status" : `npm run canary -- status --persist-to ${state}`;
console.log(`state ${state} · inspector 127.0.0.1:${INSPECTOR_PORT} · CLI for this stack: ${cli}`);

// Both Workers in one dev session: the edge (wrangler.toml) serves the port, the control Worker sits behind its binding.
// DASHBOARD_HOST goes with the secrets: --var sets only the first config's (the edge's) vars, and wrangler dev lets
// the process environment replace a [vars] entry of a config that declares [secrets], as the control Worker's does.
const dev = wranglerLive([
  "dev",
  "-c", "wrangler.toml",
  "-c", "worker/control/wrangler.toml",
  "--port", String(PORT),
  "--ip", "127.0.0.1",
  "--inspector-port", String(INSPECTOR_PORT),
  "--persist-to", state,
  "--show-interactive-dev-session=false",
  "--var", `FALLBACK_ORIGIN:${blue.url}`,
  "--var", "RULES_TTL_MS:1000",
], { CANARY_SECRET: LOCAL_SECRET, ADMIN_TOKEN: LOCAL_ADMIN_TOKEN, DASHBOARD_HOST: `127.0.0.1:${DASHBOARD_PORT}` });
const stop = () => {
  dev.kill("SIGTERM");
  void blue.close();
  void green.close();
  void dashboard.close();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("exit", (code) => {
  void blue.close();
  void green.close();
  void dashboard.close();
  process.exit(code ?? 0);
});

// Once it answers, one read of the admin API: the release authority takes the seeded document over (as revision 1 after --reseed).
for (let tries = 0; tries < 600 && dev.exitCode === null; tries++) {
  const answer = await fetch(`http://127.0.0.1:${PORT}/__canary/api/rules`, { headers: { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}` } }).catch(() => null);
  if (answer?.ok) {
    const { revision } = (await answer.json()) as { revision: number };
    console.log(`ready: http://127.0.0.1:${PORT}/ routes on rules revision ${revision}; the dashboard is ${dashboard.url}`);
    break;
  }
  await answer?.arrayBuffer();
  await new Promise((done) => setTimeout(done, 500));
}
