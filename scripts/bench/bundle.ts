import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Builds } from "./build.ts";
import { type Figure, target } from "./report.ts";

/** Raw and gzip size (KiB) of the code a deploy uploads: the .js modules of a wrangler --outdir, source maps left out. */
export function bundleSize(dir: string): { raw: number; gzip: number } {
  const code = readdirSync(dir)
    .filter((file) => /\.m?js$/.test(file))
    .map((file) => readFileSync(join(dir, file)));
  const bytes = Buffer.concat(code);
  return { raw: bytes.length / 1024, gzip: gzipSync(bytes).length / 1024 };
}

/** Both Workers' bundles as a deploy uploads them, next to the peers bundled the same way; the edge held to 30 KiB gzip. */
export function bundleFigures(builds: Builds): Figure[] {
  const section = "Bundle size (wrangler deploy --dry-run --outdir, minify as in wrangler.toml; .js modules, source maps left out)";
  const [edge, handRolled, passthrough, control] = (["edge", "hand-rolled", "passthrough", "control"] as const).map((name) => bundleSize(builds.dirs[name]));
  return [
    { section, name: "Worker on the visitor path, raw", unit: "KiB", values: { edge: edge!.raw, "hand-rolled": handRolled!.raw, passthrough: passthrough!.raw } },
    {
      section,
      name: "Worker on the visitor path, gzip",
      unit: "KiB",
      values: { edge: edge!.gzip, "hand-rolled": handRolled!.gzip, passthrough: passthrough!.gzip },
      target: target("edge gzip KiB", edge!.gzip, 30, true),
    },
    { section, name: "control Worker (worker/control), raw", unit: "KiB", values: { edge: control!.raw } },
    { section, name: "control Worker (worker/control), gzip", unit: "KiB", values: { edge: control!.gzip }, note: "not on the visitor path" },
  ];
}
