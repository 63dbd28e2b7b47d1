import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { type Builds, WORK_DIR } from "./build.ts";

/** Every port the benchmark listens on (the project's bench range is 9000-9099). */
export const PORTS = { blue: 9001, green: 9002, passthrough: 9010, router: 9011, routerNoCache: 9012, kv: 9013, bench: 9014 };

export const url = (port: number) => `http://127.0.0.1:${port}`;

/** The workerd binary that wrangler and miniflare use, run directly so its CPU time can be read from /proc. */
export function workerdBinary(): string {
  return (createRequire(import.meta.url)("workerd") as { default: string }).default;
}

export interface Workerd {
  process: ChildProcess;
  pid: number;
  /** The router's structured problem lines (worker/log.ts) so far: a clean run has none. */
  problems(): string[];
  stop(): Promise<void>;
}

/**
 * One local workerd serving, each on its own socket: the passthrough Worker, the router bundle (with
 * wrangler.toml's vars, RULES_TTL_MS as configured), the same router reading KV on every request
 * (RULES_TTL_MS "0", the KV baseline), the counting KV service and the bench worker.
 */
export async function startWorkerd(builds: Builds, secret: string): Promise<Workerd> {
  const configPath = join(WORK_DIR, "workerd.capnp");
  writeFileSync(configPath, capnpConfig(builds, secret));
  let log = "";
  const child = spawn(workerdBinary(), ["serve", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited:\n${log}`);
    try {
      if ((await fetch(`${url(PORTS.kv)}/__bench/reads`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`workerd did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    process: child,
    pid: child.pid!,
    problems: () => log.split("\n").filter((line) => line.includes('"level":"warn"')),
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function capnpConfig(builds: Builds, secret: string): string {
  const origin = url(PORTS.blue);
  const routerVars = { ...builds.vars, FALLBACK_ORIGIN: origin, CANARY_SECRET: secret, ADMIN_TOKEN: "bench-admin-token" };
  const router = (service: string, ttl: string | undefined) =>
    worker(
      modulesIn(builds.routerDir),
      builds,
      [
        ...textBindings(ttl === undefined ? routerVars : { ...routerVars, RULES_TTL_MS: ttl }),
        `(name = ${q(builds.kvBinding)}, kvNamespace = "kv")`,
        ...builds.durableObjects.map((d) => `(name = ${q(d.binding)}, durableObjectNamespace = (className = ${q(d.className)}))`),
      ],
      durableObjects(service, builds),
    );
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "loopback", network = (allow = ["public", "private", "local"])),
    (name = "passthrough", worker = ${worker(modulesIn(builds.passthroughDir), builds, textBindings({ ORIGIN: origin }))}),
    (name = "router", worker = ${router("router", undefined)}),
    (name = "router-no-cache", worker = ${router("router-no-cache", "0")}),
    (name = "kv", worker = ${worker([builds.kvServiceFile], builds, [])}),
    (name = "bench", worker = ${worker([builds.benchWorkerFile], builds, [])}),
  ],
  sockets = [
    ${socket("passthrough", PORTS.passthrough)},
    ${socket("router", PORTS.router)},
    ${socket("router-no-cache", PORTS.routerNoCache)},
    ${socket("kv", PORTS.kv)},
    ${socket("bench", PORTS.bench)},
  ],
);
`;
}

function worker(modules: string[], builds: Builds, bindings: string[], extra = ""): string {
  const embedded = modules.map((file) => `(name = ${q(file.split("/").pop()!)}, esModule = embed ${q(relative(WORK_DIR, file))})`);
  const flags = builds.compatibilityFlags.map(q).join(", ");
  return `(modules = [${embedded.join(", ")}], compatibilityDate = ${q(builds.compatibilityDate)}, compatibilityFlags = [${flags}], bindings = [${bindings.join(", ")}], globalOutbound = "loopback"${extra})`;
}

/** The router's Durable Object classes (the analysis object), stored in memory for the run. */
function durableObjects(service: string, builds: Builds): string {
  if (builds.durableObjects.length === 0) return "";
  const namespaces = builds.durableObjects.map((d) => `(className = ${q(d.className)}, uniqueKey = ${q(`${service}-${d.className}`)}, enableSql = ${d.sql})`);
  return `, durableObjectNamespaces = [${namespaces.join(", ")}], durableObjectStorage = (inMemory = void)`;
}

/** The JavaScript modules of a wrangler --outdir, the entry (index.js) first. */
function modulesIn(dir: string): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith(".js") || f.endsWith(".mjs"));
  return files.sort((a, b) => Number(b === "index.js") - Number(a === "index.js")).map((f) => join(dir, f));
}

function textBindings(vars: Record<string, string>): string[] {
  return Object.entries(vars).map(([name, value]) => `(name = ${q(name)}, text = ${q(value)})`);
}

function socket(service: string, port: number): string {
  return `(name = ${q(service)}, address = "127.0.0.1:${port}", http = (), service = ${q(service)})`;
}

const q = (text: string) => JSON.stringify(text);
