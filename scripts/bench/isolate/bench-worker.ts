import { compileRules } from "../../../worker/core/matching.ts";
import { parseRulesText, type RulesInput } from "../../../worker/core/rules.ts";
import { activeRules } from "../../../worker/edge/rules-cache.ts";
import { BENCH_SECRET, manyRules, PAGE_URL, realisticRules, userIdListRules, visitorHeaders } from "./fixtures.ts";
import { measure } from "./harness.ts";
import { decisionPath, passthroughHandler, routerEnv, routerHandler, withOriginStub } from "./paths.ts";

/**
 * The Worker that times the router from inside the runtime (bundled with esbuild, served by
 * workerd; the Node fallback imports the same bundle). The benchmark drives it over HTTP:
 *   GET /fixture?secret=<s>&blue=<url>&green=<url>  the visitor's headers (cookie signed with
 *     <s>) and the realistic rules document with those origins, for the load test
 *   GET /measure?handler=<h>&doc=<d>&seconds=<s>&sampleMs=<ms>  per-call times in µs
 * handler: passthrough | router | decision (per request); revision | refresh | json (per read of
 * the rules document: a new revision, a refresh that finds the same document, a bare JSON.parse)
 * doc: realistic | rules-<n> | userids-<n>
 */
const CACHE_FOR_THE_RUN = "3600000";

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const query = (name: string) => url.searchParams.get(name) ?? "";
    if (url.pathname === "/fixture") {
      const origins = { blue: query("blue") || "https://blue.example.com", green: query("green") || "https://green.example.com" };
      return Response.json({ url: PAGE_URL, headers: await visitorHeaders(query("secret")), rules: realisticRules(origins) });
    }
    if (url.pathname !== "/measure") return new Response("GET /fixture or /measure\n", { status: 404 });
    const text = JSON.stringify(documentNamed(query("doc") || "realistic"));
    const run = await prepare(query("handler"), text);
    return Response.json(await withOriginStub(() => measure(run, Number(query("seconds")), Number(query("sampleMs")))));
  },
};

function documentNamed(name: string): RulesInput {
  const [kind, size] = name.split("-");
  if (kind === "realistic") return realisticRules();
  if (kind === "rules") return manyRules(Number(size));
  if (kind === "userids") return userIdListRules(Number(size));
  throw new Error(`unknown document ${name}`);
}

/** The call to time; per-request handlers route the visitor with `text` already in the isolate's rules cache. */
async function prepare(handler: string, text: string): Promise<() => Promise<unknown>> {
  if (handler === "json") return async () => JSON.parse(text);
  if (handler === "revision") {
    return async () => {
      const parsed = parseRulesText(text);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      return compileRules(parsed.rules);
    };
  }
  const request = new Request(PAGE_URL, { headers: await visitorHeaders(BENCH_SECRET) });
  const env = routerEnv(text, CACHE_FOR_THE_RUN);
  const loaded = await activeRules(routerEnv(text, "0"), () => {});
  if (loaded.source !== "kv") throw new Error(`rules document rejected: ${handler}`);
  if (handler === "refresh") {
    // A KV read returns a new string each time: compare contents, not the same object.
    const sameTextAgain = routerEnv(JSON.parse(JSON.stringify(text)) as string, "0");
    return () => activeRules(sameTextAgain, () => {});
  }
  if (handler === "passthrough") return () => passthroughHandler(request);
  if (handler === "router") return () => routerHandler(request, env);
  if (handler === "decision") return () => decisionPath(request, env);
  throw new Error(`unknown handler ${handler}`);
}
