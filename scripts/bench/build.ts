import { type BuildOptions, build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unstable_readConfig } from "wrangler";
import { PROJECT_ROOT, wrangler } from "../wrangler.ts";

/** Scratch space of a run (bundles, workerd config); git-ignored with the results. */
export const WORK_DIR = join(PROJECT_ROOT, "bench/results/work");
const ISOLATE = join(PROJECT_ROOT, "scripts/bench/isolate");

/** What the run serves and measures: the deployable bundles and the in-runtime bench workers. */
export interface Builds {
  /** `wrangler deploy --dry-run --outdir` of the router, exactly what a deploy would upload. */
  routerDir: string;
  routerMinifiedDir: string;
  /** The bare passthrough Worker bundled the same way: the size baseline and load baseline (b). */
  passthroughDir: string;
  benchWorkerFile: string;
  /** The same bench worker for the Node fallback, with `cloudflare:workers` replaced by a shim. */
  benchWorkerNodeFile: string;
  kvServiceFile: string;
  /** The router's settings from wrangler.toml, so local workerd runs it as configured. */
  compatibilityDate: string;
  compatibilityFlags: string[];
  vars: Record<string, string>;
  kvBinding: string;
  /** Durable Object bindings of wrangler.toml; workerd keeps their storage in memory. */
  durableObjects: { binding: string; className: string; sql: boolean }[];
  wranglerVersion: string;
}

/** Builds everything from the sources, so a clean clone needs nothing but `npm ci` first. */
export async function buildAll(): Promise<Builds> {
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
  const config = unstable_readConfig({ config: join(PROJECT_ROOT, "wrangler.toml") });
  const compatibilityDate = config.compatibility_date ?? "2026-11-01";
  const passthroughConfig = join(WORK_DIR, "passthrough.wrangler.toml");
  writeFileSync(
    passthroughConfig,
    `name = "bench-passthrough"\nmain = ${JSON.stringify(join(ISOLATE, "passthrough-worker.ts"))}\ncompatibility_date = "${compatibilityDate}"\n`,
  );
  const builds: Builds = {
    routerDir: join(WORK_DIR, "router"),
    routerMinifiedDir: join(WORK_DIR, "router-minified"),
    passthroughDir: join(WORK_DIR, "passthrough"),
    benchWorkerFile: join(WORK_DIR, "isolate/bench-worker.js"),
    benchWorkerNodeFile: join(WORK_DIR, "node/bench-worker.js"),
    kvServiceFile: join(WORK_DIR, "isolate/kv-service.js"),
    compatibilityDate,
    compatibilityFlags: config.compatibility_flags ?? [],
    vars: Object.fromEntries(Object.entries(config.vars ?? {}).map(([name, value]) => [name, String(value)])),
    kvBinding: config.kv_namespaces[0]?.binding ?? "CANARY_KV",
    durableObjects: config.durable_objects.bindings.map(({ name, class_name }: { name: string; class_name: string }) => ({
      binding: name,
      className: class_name,
      sql: config.migrations.some((migration: { new_sqlite_classes?: string[] }) => migration.new_sqlite_classes?.includes(class_name)),
    })),
    wranglerVersion: JSON.parse(readFileSync(join(PROJECT_ROOT, "node_modules/wrangler/package.json"), "utf8")).version,
  };
  await Promise.all([
    dryRun(["--outdir", builds.routerDir, "--metafile"]),
    dryRun(["--outdir", builds.routerMinifiedDir, "--minify"]),
    dryRun(["--outdir", builds.passthroughDir, "--config", passthroughConfig]),
    build({ ...ESBUILD, entryPoints: [join(ISOLATE, "bench-worker.ts"), join(ISOLATE, "kv-service.ts")], outdir: join(WORK_DIR, "isolate") }),
    build({
      ...ESBUILD,
      entryPoints: [join(ISOLATE, "bench-worker.ts")],
      outdir: join(WORK_DIR, "node"),
      external: [],
      alias: { "cloudflare:workers": join(ISOLATE, "cloudflare-workers-shim.ts") },
    }),
  ]);
  return builds;
}

/** Bundles a Worker for workerd the way wrangler does (runtime modules left to the runtime). */
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

async function dryRun(args: string[]): Promise<void> {
  const result = await wrangler(["deploy", "--dry-run", ...args]);
  if (result.code !== 0) throw new Error(`wrangler deploy --dry-run ${args.join(" ")} failed:\n${result.stderr || result.stdout}`);
}
