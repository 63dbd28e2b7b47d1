import { type BuildOptions, build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unstable_readConfig } from "wrangler";
import { PROJECT_ROOT, wrangler } from "../wrangler.ts";

/** Scratch space of a run (bundles, workerd config); git-ignored with the results. */
export const WORK_DIR = join(PROJECT_ROOT, "bench/results/work");
const BENCH = join(PROJECT_ROOT, "scripts/bench");

/**
 * The Workers under comparison, in the order every table shows them. "edge-copy" is the edge's
 * own bundle served a second time as a peer of its own (an A/A pair): what it reads against the
 * edge is this machine's noise alone.
 */
export const PEERS = ["edge", "edge-copy", "hand-rolled", "passthrough"] as const;
export type Peer = (typeof PEERS)[number];

/** What the run serves and measures. */
export interface Builds {
  /** `wrangler deploy --dry-run --outdir`: for the edge and control Workers exactly what a deploy uploads; the peers bundled the same way; edge-copy is the edge's folder. */
  dirs: Record<Peer | "control", string>;
  benchWorkerFile: string;
  kvServiceFile: string;
  edgeStubsFile: string;
  /** The edge Worker's settings from wrangler.toml, so local workerd runs it as configured. */
  compatibilityDate: string;
  compatibilityFlags: string[];
  vars: Record<string, string>;
  wranglerVersion: string;
}

/** Builds everything from the sources, so a clean clone needs nothing but `npm ci` first. */
export async function buildAll(): Promise<Builds> {
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
  const config = unstable_readConfig({ config: join(PROJECT_ROOT, "wrangler.toml") });
  const compatibilityDate = config.compatibility_date ?? "2026-11-01";
  const dir = (name: string) => join(WORK_DIR, name);
  const builds: Builds = {
    dirs: { edge: dir("edge"), "edge-copy": dir("edge"), control: dir("control"), "hand-rolled": dir("hand-rolled"), passthrough: dir("passthrough") },
    benchWorkerFile: dir("isolate/bench-worker.js"),
    kvServiceFile: dir("isolate/kv-service.js"),
    edgeStubsFile: dir("isolate/edge-stubs.js"),
    compatibilityDate,
    compatibilityFlags: config.compatibility_flags ?? [],
    vars: Object.fromEntries(Object.entries(config.vars ?? {}).map(([name, value]) => [name, String(value)])),
    wranglerVersion: JSON.parse(readFileSync(join(PROJECT_ROOT, "node_modules/wrangler/package.json"), "utf8")).version,
  };
  /** A peer gets a wrangler.toml of its own with the edge's compatibility date and minify setting. */
  const peerConfig = (name: string, main: string) => {
    const file = join(WORK_DIR, `${name}.wrangler.toml`);
    writeFileSync(file, `name = "bench-${name}"\nmain = ${JSON.stringify(main)}\ncompatibility_date = "${compatibilityDate}"\nminify = ${config.minify === true}\n`);
    return file;
  };
  await Promise.all([
    dryRun(builds.dirs.edge, "wrangler.toml"),
    dryRun(builds.dirs.control, "worker/control/wrangler.toml"),
    dryRun(builds.dirs["hand-rolled"], peerConfig("hand-rolled", join(BENCH, "peers/hand-rolled.ts"))),
    dryRun(builds.dirs.passthrough, peerConfig("passthrough", join(BENCH, "peers/passthrough.ts"))),
    build({
      ...ESBUILD,
      entryPoints: ["bench-worker.ts", "kv-service.ts", "edge-stubs.ts"].map((file) => join(BENCH, "isolate", file)),
      outdir: dir("isolate"),
    }),
  ]);
  return builds;
}

/** Bundles the bench's helper Workers for workerd the way wrangler does (runtime modules left to the runtime). */
const ESBUILD: BuildOptions = {
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2024",
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["module", "main"],
  external: ["cloudflare:*"],
  logLevel: "warning",
};

async function dryRun(outdir: string, config: string): Promise<void> {
  const result = await wrangler(["deploy", "--dry-run", "--config", config, "--outdir", outdir]);
  if (result.code !== 0) throw new Error(`wrangler deploy --dry-run --config ${config} failed:\n${result.stderr || result.stdout}`);
}
