// `npm run setup`, `npm run deploy` and the CLI's --remote transport, run as an operator runs them,
// with the real wrangler talking to a fake Cloudflare API on 127.0.0.1 (fake-cloudflare.ts): every
// API call is recorded, and each command must make exactly the calls it should, in order. Each
// scenario runs in a copy of the project (its own wrangler.toml files), never in the repository.
import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { TOKEN_FILE } from "../../scripts/setup/config.ts";
import { PROJECT_ROOT } from "../../scripts/wrangler.ts";
import { type FakeCloudflare, startFakeCloudflare } from "./fake-cloudflare.ts";
import { type FakeDns, startFakeDns } from "./fake-dns.ts";
import { budget } from "./helpers.ts";
import { live } from "./stack.ts";

// The commands exactly as README.md and docs/operating.md give them; SETUP_NO_DASHBOARD leaves the dashboard as the file has it (off).
const SETUP_NO_DASHBOARD = ["setup", "--", "--zone", "example.com", "--route", "www.example.com/*", "--blue", "https://blue.example.com", "--green", "https://green.example.com"];
const DASHBOARD_HOST = "canary.example.com";
const SETUP = [...SETUP_NO_DASHBOARD, "--dashboard-host", DASHBOARD_HOST];
const EDGE = "edge-canary";
const CONTROL = "edge-canary-control";

// setup asks DNS whether a new dashboard host is in use (CANARY_SETUP_DNS_SERVER): this one says
// NXDOMAIN (free) for every name but shop.example.com (an A record) and broken.example.com (SERVFAIL).
let dns: FakeDns;
beforeAll(async () => {
  dns = await startFakeDns({ a: { "shop.example.com": "192.0.2.10" }, fail: ["broken.example.com"] });
});
afterAll(() => dns?.close());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A copy of the project a scenario may change: config files, sources and scripts; node_modules linked. */
async function projectCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "canary-setup-"));
  for (const entry of ["package.json", "tsconfig.json", "wrangler.toml", "worker", "scripts", "config"]) {
    await cp(join(PROJECT_ROOT, entry), join(dir, entry), { recursive: true });
  }
  await symlink(join(PROJECT_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

/**
 * `npm run <args>` in the copy, with wrangler pointed at the fake (and its caches and logs kept in the
 * copy). With `login`, as an operator after `wrangler login` with one account: no account id given,
 * wrangler finds it and keeps it in its cache; else as CI does, with CLOUDFLARE_ACCOUNT_ID. Killed
 * with everything it started when the test ends.
 */
function npmRun(dir: string, fake: FakeCloudflare, args: string[], { login = false } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLOUDFLARE_API_BASE_URL: fake.url,
    CLOUDFLARE_API_TOKEN: "fake-api-token",
    CLOUDFLARE_ACCOUNT_ID: fake.accountId,
    WRANGLER_CACHE_DIR: join(dir, ".wrangler-cache"),
    WRANGLER_LOG_PATH: join(dir, "wrangler-logs"),
    WRANGLER_SEND_METRICS: "false",
    NO_COLOR: "1",
    CANARY_URL: "",
    CANARY_ADMIN_TOKEN: "",
    USER: "e2e-operator",
    CANARY_SETUP_DNS_SERVER: dns.server,
  };
  for (const name of ["CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL", ...(login ? ["CLOUDFLARE_ACCOUNT_ID"] : [])]) delete env[name];
  const child = spawn("npm", ["run", ...args], {
    cwd: dir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const process_ = live(child);
  onTestFinished(() => process_.stop());
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return process_.exited.then((code) => ({ code, stdout, stderr }));
}

function ok(run: Run): Run {
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

// ---- the calls each step makes (paths with the account as :account, namespace ids as :ns, zone ids as :zone)
const A = "/accounts/:account";
const NAMESPACES = `GET ${A}/storage/kv/namespaces`;
const secretsOf = (name: string) => `GET ${A}/workers/scripts/${name}/secrets`;

/** A custom domain (routes = [{ pattern, custom_domain = true }]), after workers.dev: what would change, then the whole state put. */
const customDomain = (name: string) => [
  `POST ${A}/workers/scripts/${name}/domains/changeset`, // ?replace_state=true: added, updated, removed, conflicting DNS records
  `PUT ${A}/workers/scripts/${name}/domains/records`, // the script's custom domains, as wrangler.toml has them
];

/** `wrangler deploy` of a Worker that does not exist yet: one PUT of the script (with its secrets and any migrations). */
function firstDeploy(name: string, { migrations = false, route = false, domain = false } = {}): string[] {
  return [
    `GET ${A}/workers/services/${name}`, // does it exist? (404: no)
    `GET ${A}/workers/scripts/${name}/secrets`, // would a secret shadow a var?
    `GET ${A}/workers/scripts/${name}/deployments`, // the latest deployment, if a gradual one is under way
    ...(migrations ? [`GET ${A}/workers/services/${name}`] : []), // its Durable Object migration tag
    `GET ${A}/workers/scripts/${name}/settings`, // bindings to provision
    `PUT ${A}/workers/scripts/${name}`, // the upload: code, bindings, secrets, migrations
    `GET ${A}/workers/workers/${name}`, // workers.dev state
    `POST ${A}/workers/scripts/${name}/subdomain`, // workers.dev off
    ...(route ? [`GET /zones`, `GET /zones/:zone/workers/routes`, `PUT ${A}/workers/scripts/${name}/routes`] : []),
    ...(domain ? customDomain(name) : []),
  ];
}

/** `wrangler deploy` of a Worker that exists (and has its migrations): a new version, deployed at 100%. */
function redeploy(name: string, { migrations = false, route = false, domain = false } = {}): string[] {
  return [
    `GET ${A}/workers/services/${name}`,
    `GET ${A}/workers/scripts/${name}/secrets`,
    `GET ${A}/workers/scripts/${name}/deployments`,
    ...(migrations ? [`GET ${A}/workers/services/${name}`] : []),
    `GET ${A}/workers/scripts/${name}/settings`,
    `POST ${A}/workers/scripts/${name}/versions`,
    `POST ${A}/workers/scripts/${name}/deployments`,
    `PATCH ${A}/workers/scripts/${name}/script-settings`,
    `GET ${A}/workers/workers/${name}`,
    `POST ${A}/workers/scripts/${name}/subdomain`,
    ...(route ? [`GET /zones`, `GET /zones/:zone/workers/routes`, `PUT ${A}/workers/scripts/${name}/routes`] : []),
    ...(domain ? customDomain(name) : []),
  ];
}

/** The control Worker with its dashboard host as a custom domain (setup --dashboard-host), and without one. */
const CONTROL_DEPLOY = { migrations: true, domain: true };
const CONTROL_DEPLOY_NO_DASHBOARD = { migrations: true };
const EDGE_DEPLOY = { route: true };

/** Everything a run printed must not contain any secret the fake holds. */
function expectNoSecrets(fake: FakeCloudflare, ...runs: Run[]) {
  const values = [...fake.scripts.values()].flatMap((s) => [...s.secrets.values()]);
  expect(values.length).toBeGreaterThan(0);
  for (const run of runs) for (const value of values) expect(`${run.stdout}${run.stderr}`).not.toContain(value);
}

const secretOf = (fake: FakeCloudflare, script: string, name: string) => fake.scripts.get(script)?.secrets.get(name);

describe("npm run setup against a Cloudflare API that runs here", () => {
  // As an operator after `wrangler login` (one account, found by wrangler on its first call).
  const npm = (dir: string, fake: FakeCloudflare, args: string[]) => npmRun(dir, fake, args, { login: true });
  let fake: FakeCloudflare;
  let dir = "";
  let original: { edge: string; control: string };
  const read = (file: string) => readFile(join(dir, file), "utf8");

  beforeAll(async () => {
    fake = await startFakeCloudflare();
    dir = await projectCopy();
    original = { edge: await read("wrangler.toml"), control: await read("worker/control/wrangler.toml") };
  });
  afterAll(async () => {
    await fake?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("--dry-run only reads: it prints the plan and changes nothing", { timeout: budget({ wrangler: 3 }) }, async () => {
    const from = fake.calls.length;
    const run = ok(await npm(dir, fake, [...SETUP, "--dry-run"]));
    const calls = fake.since(from);
    // wrangler's first command finds the account (both at once) and keeps it for the others.
    expect(calls.slice(0, 2).sort()).toEqual(["GET /accounts", "GET /memberships"]);
    expect(calls.slice(2)).toEqual([NAMESPACES, secretsOf(CONTROL), secretsOf(EDGE)]);
    expect(run.stdout).toContain('would create "edge-canary-rules"');
    expect(run.stdout).toContain("would seed: blue https://blue.example.com stable, green https://green.example.com at 0%");
    expect(run.stdout).toContain(`would deploy ${CONTROL}`);
    expect(run.stdout).toContain("worker/control/wrangler.toml: would set routes, DASHBOARD_HOST, CANARY_KV id");
    expect(run.stdout).toMatch(new RegExp(`would deploy ${CONTROL} .*, custom domain canary\\.example\\.com\n`));
    // The new dashboard host was looked up in DNS first, and is free.
    expect(dns.asked).toEqual(["A canary.example.com", "AAAA canary.example.com", "CNAME canary.example.com"]);
    expect(run.stdout).toContain("dashboard     canary.example.com: not in DNS, free for the control Worker's custom domain");
    expect(run.stdout).toContain("nothing was changed");
    expect(await read("wrangler.toml")).toBe(original.edge);
    expect(await read("worker/control/wrangler.toml")).toBe(original.control);
    await expect(stat(join(dir, TOKEN_FILE))).rejects.toThrow();
  });

  it("creates the namespace, writes its id, seeds the rules, deploys the control Worker then the edge with their secrets", { timeout: budget({ wrangler: 8 }) }, async () => {
    const from = fake.calls.length;
    const run = ok(await npm(dir, fake, SETUP));
    expect(fake.since(from)).toEqual([
      NAMESPACES, // 1. read: the namespace, each Worker's secrets (neither Worker exists)
      secretsOf(CONTROL),
      secretsOf(EDGE),
      `POST ${A}/storage/kv/namespaces`, // 2. create the namespace
      `PUT ${A}/storage/kv/namespaces/:ns/values/rules`, // 3. seed the rules
      ...firstDeploy(CONTROL, CONTROL_DEPLOY), // 4. the control Worker, with CANARY_SECRET and ADMIN_TOKEN
      ...firstDeploy(EDGE, EDGE_DEPLOY), // 5. the edge, with CANARY_SECRET, and its route
    ]);

    // The namespace, in both config files; only the id, the route and the fallback origin changed.
    const [namespace] = [...fake.namespaces.values()];
    expect(namespace?.title).toBe("edge-canary-rules");
    const id = namespace!.id;
    const edge = await read("wrangler.toml");
    const control = await read("worker/control/wrangler.toml");
    expect(edge).toBe(
      original.edge
        .replace('id = "00000000000000000000000000000000"', `id = "${id}"`)
        .replace(/(# routes = .*\n)/, `$1routes = [{ pattern = "www.example.com/*", zone_name = "example.com" }]\n`),
    );
    // The control Worker's: the id, its custom domain under the commented example, and DASHBOARD_HOST.
    expect(control).toBe(
      original.control
        .replace('id = "00000000000000000000000000000000"', `id = "${id}"`)
        .replace(/(# routes = .*\n)/, `$1routes = [{ pattern = "canary.example.com", custom_domain = true }]\n`)
        .replace('DASHBOARD_HOST = ""', 'DASHBOARD_HOST = "canary.example.com"'),
    );

    // The rules: the two origins, blue stable, 0% canary.
    const rules = JSON.parse(namespace!.values.get("rules")!.value.toString("utf8"));
    expect(rules).toMatchObject({ stable: "blue", origins: { blue: { url: "https://blue.example.com" }, green: { url: "https://green.example.com" } }, rollout: { percent: 0 } });

    // Each secret on the Worker that reads it: one CANARY_SECRET on both, ADMIN_TOKEN on the control Worker only.
    const canarySecret = secretOf(fake, CONTROL, "CANARY_SECRET");
    expect(canarySecret).toMatch(/^[\w-]{43}$/);
    expect(secretOf(fake, EDGE, "CANARY_SECRET")).toBe(canarySecret);
    expect([...fake.scripts.get(EDGE)!.secrets.keys()]).toEqual(["CANARY_SECRET"]);
    const adminToken = secretOf(fake, CONTROL, "ADMIN_TOKEN");
    expect(adminToken).toMatch(/^[0-9a-f]{64}$/);
    // …whose only copy is the operator's file, readable by them alone; no secret is ever printed.
    expect((await read(TOKEN_FILE)).trim()).toBe(adminToken);
    expect((await stat(join(dir, TOKEN_FILE))).mode & 0o777).toBe(0o600);
    expectNoSecrets(fake, run);

    // The control Worker's Durable Objects exist (its migrations ran); the edge is on the route.
    expect(fake.scripts.get(CONTROL)).toMatchObject({ migrationTag: "v2", classes: new Set(["CanaryAnalysis", "ReleaseAuthority"]) });
    expect(fake.routes.map((r) => [r.pattern, r.script])).toEqual([["www.example.com/*", EDGE]]);

    // The dashboard's host: the control Worker's deploy asked for it as a custom domain (a changeset, then
    // the state put, overriding what is there: wrangler runs without a terminal), in the zone it is in...
    const at = (call: string) => fake.since(from).indexOf(call) + from;
    expect(fake.bodies.get(at(customDomain(CONTROL)[0]!))).toEqual([{ hostname: "canary.example.com" }]);
    expect(fake.bodies.get(at(customDomain(CONTROL)[1]!))).toEqual({
      override_scope: true,
      override_existing_origin: true,
      override_existing_dns_record: true,
      origins: [{ hostname: "canary.example.com" }],
    });
    expect(fake.domains).toEqual([{ id: expect.any(String), hostname: "canary.example.com", service: CONTROL, environment: "production", zoneId: fake.zones.get("example.com"), zoneName: "example.com" }]);
    // ...and its upload carries DASHBOARD_HOST (the edge's does not).
    expect(fake.scripts.get(CONTROL)!.versions.at(-1)!.bindings).toContainEqual({ type: "plain_text", name: "DASHBOARD_HOST", text: "canary.example.com" });
    expect(fake.scripts.get(EDGE)!.versions.at(-1)!.bindings.map((b) => b.name)).not.toContain("DASHBOARD_HOST");

    // The URLs and the next command.
    expect(run.stdout).toContain("site          https://www.example.com/");
    expect(run.stdout).toContain("dashboard     https://canary.example.com/  (sign in with the admin token)");
    expect(run.stdout).toContain("npm run canary -- doctor --url https://www.example.com --dashboard-url https://canary.example.com/__canary/admin");
    expect(run.stdout).toContain(`admin token   ${TOKEN_FILE} (mode 0600)`);
    expect(run.stdout).toContain("npm run canary -- status --remote");
    expect(run.stdout).toContain("npm run canary -- ramp 5 --remote --url https://www.example.com");
  });

  it("a second run finds everything: no namespace created, secrets kept, rules not reseeded; it redeploys both", { timeout: budget({ wrangler: 7 }) }, async () => {
    const before = {
      edge: await read("wrangler.toml"),
      control: await read("worker/control/wrangler.toml"),
      rules: [...fake.namespaces.values()][0]!.values.get("rules")!.value.toString("utf8"),
      canarySecret: secretOf(fake, CONTROL, "CANARY_SECRET"),
      adminToken: secretOf(fake, CONTROL, "ADMIN_TOKEN"),
      domains: structuredClone(fake.domains),
    };
    const from = fake.calls.length;
    const run = ok(await npm(dir, fake, SETUP));
    expect(fake.since(from)).toEqual([
      NAMESPACES, // two pages: the namespace, then an empty page
      NAMESPACES,
      secretsOf(CONTROL),
      secretsOf(EDGE),
      `GET ${A}/storage/kv/namespaces/:ns/keys`, // is there a rules key? (yes: not reseeded)
      ...redeploy(CONTROL, CONTROL_DEPLOY), // no secrets sent: each is inherited from the Worker's last version; the same custom domain put again
      ...redeploy(EDGE, EDGE_DEPLOY),
    ]);
    expect(run.stdout).toContain("found, kept");
    expect(run.stdout).toContain("worker/control/wrangler.toml: up to date");
    // The host is the file's custom domain already: not looked up again.
    expect(run.stdout).not.toContain("not in DNS");
    // The custom domain is the same one (same id), not made again.
    expect(fake.domains).toEqual(before.domains);
    expect(run.stdout).toContain("CANARY_SECRET: both Workers have it: kept");
    expect(run.stdout).toContain("rules         already in KV: kept");
    expect(await read("wrangler.toml")).toBe(before.edge);
    expect(await read("worker/control/wrangler.toml")).toBe(before.control);
    expect([...fake.namespaces.values()][0]!.values.get("rules")!.value.toString("utf8")).toBe(before.rules);
    expect(secretOf(fake, CONTROL, "CANARY_SECRET")).toBe(before.canarySecret);
    expect(secretOf(fake, EDGE, "CANARY_SECRET")).toBe(before.canarySecret);
    expect(secretOf(fake, CONTROL, "ADMIN_TOKEN")).toBe(before.adminToken);
    expect(fake.namespaces.size).toBe(1);
    expectNoSecrets(fake, run);
  });

  it("without --dashboard-host a run keeps the dashboard host the file has: the same custom domain put again", { timeout: budget({ wrangler: 7 }) }, async () => {
    const before = { control: await read("worker/control/wrangler.toml"), domains: structuredClone(fake.domains) };
    const from = fake.calls.length;
    const run = ok(await npm(dir, fake, SETUP_NO_DASHBOARD));
    expect(fake.since(from)).toEqual([
      NAMESPACES,
      NAMESPACES,
      secretsOf(CONTROL),
      secretsOf(EDGE),
      `GET ${A}/storage/kv/namespaces/:ns/keys`,
      ...redeploy(CONTROL, CONTROL_DEPLOY),
      ...redeploy(EDGE, EDGE_DEPLOY),
    ]);
    expect(await read("worker/control/wrangler.toml")).toBe(before.control);
    expect(fake.domains).toEqual(before.domains);
    expect(run.stdout).toContain("dashboard     https://canary.example.com/");
  });

  it("a bad --dashboard-host is refused with the reason, before any call and with nothing changed", { timeout: budget({ otherMs: 40_000 }) }, async () => {
    const before = { edge: await read("wrangler.toml"), control: await read("worker/control/wrangler.toml") };
    const from = fake.calls.length;
    for (const [host, reason] of [
      ["www.example.com", "--dashboard-host www.example.com is the site's own host (the route www.example.com/*): the dashboard needs a host of its own"],
      ["https://canary.example.com/", '--dashboard-host "https://canary.example.com/" must be a bare hostname (no scheme, port, path or wildcard)'],
      ["canary.example.com:8443", "must be a bare hostname"],
      ["canary", '--dashboard-host "canary" is not a hostname, e.g. --dashboard-host canary.example.com'],
      // In use (a DNS record): its deploy would replace it; or the lookup failed: setup cannot tell.
      ["shop.example.com", "--dashboard-host shop.example.com is in use (A 192.0.2.10): deploying would replace that DNS record, or move another Worker's custom domain. Pass --take-over-host if replacing it is intended"],
      ["broken.example.com", "--dashboard-host broken.example.com could not be looked up in DNS (ESERVFAIL), so setup cannot tell whether it is in use: deploying would replace whatever it is. Pass --take-over-host"],
    ] as const) {
      const run = await npm(dir, fake, [...SETUP_NO_DASHBOARD, "--dashboard-host", host]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(reason);
    }
    // A wildcard route that matches the dashboard's host would win over its custom domain: refused,
    // whether the host is given or is the one the file has.
    const withRoute = (pattern: string) => SETUP_NO_DASHBOARD.map((arg) => (arg === "www.example.com/*" ? pattern : arg));
    for (const pattern of ["*example.com/*", "*.example.com/*"]) {
      let run = await npm(dir, fake, [...withRoute(pattern), "--dashboard-host", DASHBOARD_HOST]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(`--dashboard-host canary.example.com is matched by the route ${pattern}: a Worker route wins over a custom domain, so the edge would serve the dashboard's host`);
      run = await npm(dir, fake, withRoute(pattern));
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(`the dashboard's host canary.example.com (in worker/control/wrangler.toml) is matched by the route ${pattern}`);
    }
    // A control file without the DASHBOARD_HOST line is refused before anything, not half-way.
    await writeFile(join(dir, "worker/control/wrangler.toml"), before.control.replace(/^DASHBOARD_HOST = .*\n/m, ""));
    const noVar = await npm(dir, fake, [...SETUP_NO_DASHBOARD, "--dashboard-host", "dash.example.com", "--dry-run"]);
    await writeFile(join(dir, "worker/control/wrangler.toml"), before.control);
    expect(noVar.code, noVar.stdout + noVar.stderr).toBe(2);
    expect(noVar.stderr).toContain('worker/control/wrangler.toml has no DASHBOARD_HOST under [vars]: add the line DASHBOARD_HOST = ""');
    expect(fake.since(from)).toEqual([]);
    expect(await read("wrangler.toml")).toBe(before.edge);
    expect(await read("worker/control/wrangler.toml")).toBe(before.control);
  });

  it("--take-over-host goes on with a dashboard host that is in use, and says so", { timeout: budget({ wrangler: 3 }) }, async () => {
    const before = { control: await read("worker/control/wrangler.toml") };
    const run = ok(await npm(dir, fake, [...SETUP_NO_DASHBOARD, "--dashboard-host", "shop.example.com", "--take-over-host", "--dry-run"]));
    expect(run.stdout).toContain("dashboard     shop.example.com is in use (A 192.0.2.10): deploying would replace that DNS record, or move another Worker's custom domain; taking it over (--take-over-host)");
    expect(run.stdout).toMatch(new RegExp(`would deploy ${CONTROL} .*, custom domain shop\\.example\\.com\n`));
    expect(await read("worker/control/wrangler.toml")).toBe(before.control);
  });

  it("npm run deploy (code updates): the control Worker, then the edge", { timeout: budget({ wrangler: 2 }) }, async () => {
    const from = fake.calls.length;
    ok(await npm(dir, fake, ["deploy"]));
    expect(fake.since(from)).toEqual([...redeploy(CONTROL, CONTROL_DEPLOY), ...redeploy(EDGE, EDGE_DEPLOY)]);
  });

  it("the CLI over --remote reads the seeded rules with two KV calls", { timeout: budget({ wrangler: 4 }) }, async () => {
    let from = fake.calls.length;
    const status = ok(await npm(dir, fake, ["canary", "--", "status", "--remote"]));
    // The value (bulk get, with the history) and its metadata (a key list) are read at once, by two wranglers.
    const reads = [`GET ${A}/storage/kv/namespaces/:ns/keys`, `POST ${A}/storage/kv/namespaces/:ns/bulk/get`];
    expect(fake.since(from).sort()).toEqual(reads);
    expect(status.stderr).toContain("→ remote KV via wrangler");
    expect(status.stdout).toMatch(/stable +blue +https:\/\/blue\.example\.com/);
    expect(status.stdout).toMatch(/canary +green +https:\/\/green\.example\.com +0% of visitors/);

    from = fake.calls.length;
    const got = ok(await npm(dir, fake, ["-s", "canary", "--", "rules", "get", "--remote"]));
    expect(fake.since(from).sort()).toEqual(reads);
    expect(JSON.parse(got.stdout)).toMatchObject({ stable: "blue", origins: { blue: { url: "https://blue.example.com" } }, rollout: { percent: 0 } });
  });

  it("a write over --remote without --url is refused with how to give it, before any call", { timeout: budget({ otherMs: 5000 }) }, async () => {
    const from = fake.calls.length;
    const run = await npm(dir, fake, ["canary", "--", "ramp", "5", "--remote"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("writes over --remote are carried out by the site's release authority: give its URL with --url https://www.example.com");
    expect(fake.since(from)).toEqual([]);
  });
});

/** A fake API and a project copy of the test's own (a scenario from scratch), removed when the test ends. */
async function freshProject() {
  const fake = await startFakeCloudflare();
  const dir = await projectCopy();
  onTestFinished(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { fake, dir, read: (file: string) => readFile(join(dir, file), "utf8") };
}

/** The calls of a first run up to its first deploy: the reads, the namespace created, the rules seeded. */
const FIRST_RUN_READS = [NAMESPACES, secretsOf(CONTROL), secretsOf(EDGE), `POST ${A}/storage/kv/namespaces`, `PUT ${A}/storage/kv/namespaces/:ns/values/rules`];
/** The calls of a rerun up to its first deploy: it finds the namespace (looked up again once its id is in the file) and the rules. */
const RERUN_READS = [NAMESPACES, NAMESPACES, secretsOf(CONTROL), secretsOf(EDGE), `GET ${A}/storage/kv/namespaces/:ns/keys`];

/**
 * Setup (as CI runs it: CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID) with the fake refusing one call: it fails
 * naming the Worker whose deploy failed and the API's reason, says to run it again, and makes `calls`.
 */
async function stoppedAt(project: Awaited<ReturnType<typeof freshProject>>, args: string[], refusal: Parameters<FakeCloudflare["refuse"]>[0] & { message: string }, worker: string, calls: string[]): Promise<Run> {
  const { fake, dir } = project;
  fake.refuse(refusal);
  const from = fake.calls.length;
  const failed = await npmRun(dir, fake, args);
  expect(failed.code, failed.stdout + failed.stderr).toBe(1);
  expect(failed.stdout + failed.stderr).toContain(refusal.message);
  expect(failed.stderr).toContain(`setup: deploying ${worker} failed`);
  expect(failed.stderr).toContain("run the same command again");
  expect(fake.since(from)).toEqual(calls);
  expect(fake.scripts.has(EDGE)).toBe(false); // no edge in front of the site yet
  return failed;
}

/** The same command again: it makes `calls`, and both Workers end with one CANARY_SECRET and the ADMIN_TOKEN the first run made. */
async function rerun(project: Awaited<ReturnType<typeof freshProject>>, args: string[], calls: string[], failed: Run): Promise<{ repaired: Run; canarySecret: string }> {
  const { fake, dir } = project;
  const adminToken = secretOf(fake, CONTROL, "ADMIN_TOKEN");
  expect(adminToken).toMatch(/\S{32,}/);
  const from = fake.calls.length;
  const repaired = ok(await npmRun(dir, fake, args));
  expect(fake.since(from)).toEqual(calls);
  const canarySecret = secretOf(fake, CONTROL, "CANARY_SECRET")!;
  expect(canarySecret).toMatch(/^[\w-]{43}$/);
  expect(secretOf(fake, EDGE, "CANARY_SECRET")).toBe(canarySecret);
  expect(secretOf(fake, CONTROL, "ADMIN_TOKEN")).toBe(adminToken);
  expect(fake.routes.map((r) => [r.pattern, r.script])).toEqual([["www.example.com/*", EDGE]]);
  expect(fake.namespaces.size).toBe(1);
  expectNoSecrets(fake, failed, repaired);
  return { repaired, canarySecret };
}

describe("npm run setup stopped half-way, then run again", () => {
  it("the edge upload is refused: the next run finishes, with one CANARY_SECRET on both Workers", { timeout: budget({ wrangler: 15 }) }, async () => {
    const project = await freshProject();
    const { fake, read } = project;
    const failed = await stoppedAt(
      project,
      SETUP_NO_DASHBOARD,
      { method: "PUT", path: new RegExp(`/workers/scripts/${EDGE}$`), code: 10021, message: "the fake refuses this upload (a failure half-way)" },
      EDGE,
      [...FIRST_RUN_READS, ...firstDeploy(CONTROL, CONTROL_DEPLOY_NO_DASHBOARD), ...firstDeploy(EDGE, EDGE_DEPLOY).slice(0, 5)], // …up to the refused upload
    );
    // Left behind: the namespace, the rules, the control Worker with its secrets; no edge.
    const firstSecret = secretOf(fake, CONTROL, "CANARY_SECRET");
    expect((await read(TOKEN_FILE)).trim()).toBe(secretOf(fake, CONTROL, "ADMIN_TOKEN"));
    const rulesText = () => [...fake.namespaces.values()][0]!.values.get("rules")!.value.toString("utf8");
    const rules = rulesText();

    const { repaired, canarySecret } = await rerun(
      project,
      SETUP_NO_DASHBOARD,
      [
        ...RERUN_READS,
        ...redeploy(CONTROL, CONTROL_DEPLOY_NO_DASHBOARD), // a new CANARY_SECRET (the old one cannot be read back), ADMIN_TOKEN inherited
        ...firstDeploy(EDGE, EDGE_DEPLOY), // the same new CANARY_SECRET
      ],
      failed,
    );
    expect(repaired.stdout).toContain("only one had it");
    expect(canarySecret).not.toBe(firstSecret);
    expect((await read(TOKEN_FILE)).trim()).toBe(secretOf(fake, CONTROL, "ADMIN_TOKEN"));
    expect(rulesText()).toBe(rules);
    // Without --dashboard-host the dashboard stays off, as the file has it: no custom domain, and the printout says how to turn it on.
    expect(fake.domains).toEqual([]);
    expect(await read("worker/control/wrangler.toml")).not.toMatch(/^routes/m);
    expect(repaired.stdout).toContain("dashboard     off: rerun with --dashboard-host canary.example.com");
    expect(repaired.stdout).toContain("npm run canary -- doctor --url https://www.example.com   # with CANARY_ADMIN_TOKEN exported");
  });

  it("with --dashboard-host, the custom domain is refused: the next run finishes, domain attached, edge deployed, one CANARY_SECRET on both", { timeout: budget({ wrangler: 15 }) }, async () => {
    const project = await freshProject();
    const { fake, read } = project;
    const failed = await stoppedAt(
      project,
      SETUP,
      { method: "PUT", path: new RegExp(`/workers/scripts/${CONTROL}/domains/records$`), code: 100117, message: "the fake refuses this custom domain (a failure half-way)" },
      CONTROL,
      [...FIRST_RUN_READS, ...firstDeploy(CONTROL, CONTROL_DEPLOY)], // …to the refused custom domain
    );
    // Left behind: the control Worker (uploaded, with its secrets) without its domain; no edge.
    expect(fake.domains).toEqual([]);
    // The file has the host now: the rerun does not look it up again.
    expect(await read("worker/control/wrangler.toml")).toContain('routes = [{ pattern = "canary.example.com", custom_domain = true }]');
    const asked = dns.asked.length;

    const { repaired } = await rerun(
      project,
      SETUP,
      [
        ...RERUN_READS,
        ...redeploy(CONTROL, CONTROL_DEPLOY), // a new CANARY_SECRET, ADMIN_TOKEN inherited; the custom domain put again
        ...firstDeploy(EDGE, EDGE_DEPLOY), // the same new CANARY_SECRET
      ],
      failed,
    );
    expect(dns.asked.length).toBe(asked);
    expect(fake.domains).toEqual([expect.objectContaining({ hostname: "canary.example.com", service: CONTROL })]);
    expect(repaired.stdout).toContain("dashboard     https://canary.example.com/  (sign in with the admin token)");
  });
});
