import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { type Builds, type Peer, WORK_DIR } from "./build.ts";

/** Every port the benchmark listens on (the project's bench range is 9300-9399). */
export const PORTS = { blue: 9301, green: 9302, passthrough: 9310, "hand-rolled": 9311, edge: 9312, kv: 9313, bench: 9314, "edge-copy": 9315 } satisfies Record<Peer, number> & Record<string, number>;

export const url = (port: number) => `http://127.0.0.1:${port}`;

/** The workerd binary that wrangler and miniflare use, run directly so its CPU time can be read from /proc. */
export function workerdBinary(): string {
  return (createRequire(import.meta.url)("workerd") as { default: string }).default;
}

export interface Workerd {
  process: ChildProcess;
  pid: number;
  /** The edge's structured problem lines (worker/core/log.ts) so far: a clean run has none. */
  problems(): string[];
  stop(): Promise<void>;
}

/** Where the origins listen and the secret the edge and the hand-rolled router sign cookies with. */
export interface Serving {
  blue: string;
  green: string;
  secret: string;
}

/**
 * One local workerd serving, each on its own socket: the peers (the edge bundle with
 * wrangler.toml's vars and its bindings: the in-memory KV service, a control Worker stub, an
 * analysis object stub and a release authority stub; edge-copy the same bundle with the same
 * bindings, a service and so an isolate of its own), the KV service and the bench worker.
 */
export async function startWorkerd(builds: Builds, serving: Serving): Promise<Workerd> {
  const configPath = join(WORK_DIR, "workerd.capnp");
  writeFileSync(configPath, capnpConfig(builds, serving));
  let log = "";
  const child = spawn(workerdBinary(), ["serve", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited:\n${log}`);
    try {
      if ((await fetch(`${url(PORTS.bench)}/`)).status === 404) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`workerd did not start (ports ${PORTS.passthrough}-${PORTS["edge-copy"]} in use?):\n${log}`);
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

function capnpConfig(builds: Builds, { blue, green, secret }: Serving): string {
  const edgeBindings = [
    ...textBindings({ ...builds.vars, FALLBACK_ORIGIN: blue, CANARY_SECRET: secret }),
    `(name = "CANARY_KV", kvNamespace = "kv")`,
    `(name = "CONTROL", service = "edge-stubs")`,
    `(name = "CANARY_ANALYSIS", durableObjectNamespace = (className = "CanaryAnalysis", serviceName = "edge-stubs"))`,
    `(name = "RELEASE_AUTHORITY", durableObjectNamespace = (className = "ReleaseAuthority", serviceName = "edge-stubs"))`,
  ];
  const objects = [`(className = "CanaryAnalysis", uniqueKey = "bench-analysis", enableSql = true)`, `(className = "ReleaseAuthority", uniqueKey = "bench-authority", enableSql = true)`];
  const stubObjects = `, durableObjectNamespaces = [${objects.join(", ")}], durableObjectStorage = (inMemory = void)`;
  const services: [string, string][] = [
    ["passthrough", worker(modulesIn(builds.dirs.passthrough), builds, textBindings({ ORIGIN: blue }))],
    ["hand-rolled", worker(modulesIn(builds.dirs["hand-rolled"]), builds, textBindings({ BLUE_ORIGIN: blue, GREEN_ORIGIN: green, CANARY_SECRET: secret }))],
    ["edge", worker(modulesIn(builds.dirs.edge), builds, edgeBindings)],
    ["edge-copy", worker(modulesIn(builds.dirs["edge-copy"]), builds, edgeBindings)],
    ["edge-stubs", worker([builds.edgeStubsFile], builds, [], stubObjects)],
    ["kv", worker([builds.kvServiceFile], builds, [])],
    ["bench", worker([builds.benchWorkerFile], builds, [])],
  ];
  const sockets = (["passthrough", "hand-rolled", "edge", "edge-copy", "kv", "bench"] as const).map((name) => socket(name, PORTS[name]));
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "loopback", network = (allow = ["public", "private", "local"])),
    ${services.map(([name, body]) => `(name = ${q(name)}, worker = ${body})`).join(",\n    ")},
  ],
  sockets = [
    ${sockets.join(",\n    ")},
  ],
);
`;
}

function worker(modules: string[], builds: Builds, bindings: string[], extra = ""): string {
  const embedded = modules.map((file) => `(name = ${q(file.split("/").pop()!)}, esModule = embed ${q(relative(WORK_DIR, file))})`);
  const flags = builds.compatibilityFlags.map(q).join(", ");
  return `(modules = [${embedded.join(", ")}], compatibilityDate = ${q(builds.compatibilityDate)}, compatibilityFlags = [${flags}], bindings = [${bindings.join(", ")}], globalOutbound = "loopback"${extra})`;
}

/** The JavaScript modules of a wrangler --outdir, the entry (the first one wrangler names after main) first. */
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
