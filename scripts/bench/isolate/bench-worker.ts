import { activeRules } from "../../../worker/edge/rules-cache.ts";
import { BENCH_SECRET, PAGE_URL, realisticRules, visitorHeaders } from "./fixtures.ts";
import { measure } from "./harness.ts";
import { decisionAndStamp, decisionPath, decisionSteps, edgeEnv, edgeHandler, handRolledHandler, passthroughHandler, withOriginStub } from "./paths.ts";

/**
 * The Worker that times code from inside workerd (bundled with esbuild, served by the benchmark's
 * workerd). The benchmark drives it over HTTP:
 *   GET /fixture?secret=<s>&blue=<url>&green=<url>  the visitor's headers (cookie signed with <s>)
 *     and the realistic rules document with those origins, for the load test
 *   GET /measure?handler=<h>&seconds=<s>&sampleMs=<ms>  per-call times in µs
 *   GET /steps  the names of the decision path's steps
 * handler: passthrough | hand-rolled | edge | decision | decision+stamp | step:<name> (one step of the decision
 * path, names in paths.ts decisionSteps)
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
    if (url.pathname === "/steps") return Response.json(Object.keys(await decisionSteps(new Request(PAGE_URL), await rulesLoaded())));
    if (url.pathname !== "/measure") return new Response("GET /fixture or /measure\n", { status: 404 });
    return Response.json(await withOriginStub(async () => measure(await prepare(query("handler")), Number(query("seconds")), Number(query("sampleMs")))));
  },
};

/** An edge env whose realistic rules document is in the isolate's rules cache for the rest of the run. */
async function rulesLoaded(): Promise<Env> {
  const text = JSON.stringify(realisticRules());
  const loaded = await activeRules(edgeEnv(text, "0"), () => {});
  if (loaded.source !== "kv") throw new Error("the realistic rules document was rejected");
  return edgeEnv(text, CACHE_FOR_THE_RUN);
}

/** The call to time, with the realistic document already in the isolate's rules cache. */
async function prepare(handler: string): Promise<() => Promise<unknown>> {
  const request = new Request(PAGE_URL, { headers: await visitorHeaders(BENCH_SECRET) });
  const env = await rulesLoaded();
  if (handler.startsWith("step:")) {
    const step = (await decisionSteps(request, env))[handler.slice(5)];
    if (!step) throw new Error(`unknown step ${handler}`);
    return step;
  }
  const handlers: Record<string, () => Promise<unknown>> = {
    passthrough: () => passthroughHandler(request),
    "hand-rolled": () => handRolledHandler(request),
    edge: () => edgeHandler(request, env),
    decision: () => decisionPath(request, env),
    "decision+stamp": () => decisionAndStamp(request, env),
  };
  const run = handlers[handler];
  if (!run) throw new Error(`unknown handler ${handler}`);
  // The decision path ends before the fetch: its steady state is checked on the same path carried through to the response.
  const check = (await (handler === "decision" ? handlers["decision+stamp"]! : run)()) as Response;
  if (check.status !== 200 || check.headers.getSetCookie().length > 0) throw new Error(`${handler}: ${check.status}, set-cookie ${check.headers.getSetCookie().join(" | ")}: not the steady state`);
  return run;
}
