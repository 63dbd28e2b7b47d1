import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Builds } from "./build.ts";
import { type Row, row } from "./report.ts";

/** Raw and gzip size (KiB) of the code a deploy uploads: the .js modules of a wrangler --outdir, source maps left out. */
export function bundleSize(dir: string): { raw: number; gzip: number } {
  const code = readdirSync(dir)
    .filter((file) => /\.m?js$/.test(file))
    .map((file) => readFileSync(join(dir, file)));
  const bytes = Buffer.concat(code);
  return { raw: bytes.length / 1024, gzip: gzipSync(bytes).length / 1024 };
}

/** Where the router bundle's bytes come from, by package, from wrangler's esbuild metafile. */
export function composition(dir: string): Record<string, number> {
  const file = join(dir, "bundle-meta.json");
  if (!existsSync(file)) return {};
  const meta = JSON.parse(readFileSync(file, "utf8")) as { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> };
  const shares: Record<string, number> = {};
  for (const output of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const owner = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input.split("/").find((part) => part && part !== "..") ?? input;
      shares[owner] = (shares[owner] ?? 0) + bytesInOutput / 1024;
    }
  }
  return shares;
}

/** Bundle sizes from `wrangler deploy --dry-run --outdir`, against the passthrough Worker bundled the same way. */
export function bundleRows(builds: Builds): Row[] {
  const section = "Bundle size (wrangler deploy --dry-run --outdir; gzip as uploaded)";
  const router = bundleSize(builds.routerDir);
  const minified = bundleSize(builds.routerMinifiedDir);
  const passthrough = bundleSize(builds.passthroughDir);
  const parts = Object.entries(composition(builds.routerDir))
    .sort((x, y) => y[1] - x[1])
    .slice(0, 3)
    .map(([name, kib]) => `${name} ${kib.toFixed(0)} KiB`)
    .join(", ");
  return [
    row(section, "router, raw", router.raw, "KiB", { figure: "passthrough", value: passthrough.raw }, parts && `largest parts: ${parts}`),
    row(section, "router, gzip", router.gzip, "KiB", { figure: "passthrough", value: passthrough.gzip }),
    row(section, "router with --minify, raw", minified.raw, "KiB", { figure: "router as configured", value: router.raw }),
    row(section, "router with --minify, gzip", minified.gzip, "KiB", { figure: "router as configured", value: router.gzip }),
  ];
}
