// One `npm start` stack's own local state and seed: stacks on other ports never share KV, revisions or the analysis object.
import { parseRulesText } from "../worker/core/rules.ts";

export const DEFAULT_PORT = 8787;

/**
 * The folder (relative to the project) where the stack on `port` keeps its local KV and Durable
 * Object: wrangler's own default for the default port, so plain `wrangler kv … --local` and
 * `npm run canary` without flags see it; `.wrangler/state-<port>` for any other port.
 */
export function stateDir(port: number): string {
  return port === DEFAULT_PORT ? ".wrangler/state" : `.wrangler/state-${port}`;
}

/**
 * The seed rules with each colour's origin URL moved to that colour's demo origin port (a service
 * origin stays as it is). Refused with the schema's issues if the result is not a valid document.
 */
export function seedRules(text: string, ports: { blue: number; green: number }): string {
  const document = JSON.parse(text) as { origins?: Record<string, { url?: string }> };
  for (const colour of ["blue", "green"] as const) {
    const origin = document.origins?.[colour];
    if (!origin?.url) continue;
    const url = new URL(origin.url);
    url.port = String(ports[colour]);
    origin.url = origin.url.endsWith("/") ? url.href : url.href.replace(/\/$/, "");
  }
  const seeded = JSON.stringify(document, null, 2);
  const parsed = parseRulesText(seeded);
  if (!parsed.ok) throw new Error(`the seed is not a valid rules document: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  return `${seeded}\n`;
}

