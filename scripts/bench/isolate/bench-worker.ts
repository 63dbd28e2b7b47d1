import { activeRules } from "../../../worker/edge/rules.ts";
import { BENCH_SECRET, mirrorMetadata, PAGE_URL, realisticRules, visitors } from "./fixtures.ts";
import { measure } from "./harness.ts";
import { type LargestPart, largestNames, largestPath } from "./largest-paths.ts";
import { decisionAndStamp, decisionPath, decisionSteps, edgeEnv, edgeHandler, handRolledHandler, passthroughHandler, withOriginStub } from "./paths.ts";

/**
 * The Worker that times code from inside workerd (bundled with esbuild, served by the benchmark's
 * workerd). The benchmark drives it over HTTP:
 *   GET /fixture?secret=<s>&blue=<url>&green=<url>  the visitors (cookies signed with <s>, each
 *     with its version) and the realistic rules document with those origins and its KV metadata, for the load test
 *   GET /measure?handler=<h>&seconds=<s>&sampleMs=<ms>  per-call times in µs
 *   GET /steps  the names of the decision path's steps
 *   GET /largest  the names of the largest documents the validators accept (largest.ts)
 * handler: passthrough | hand-rolled | edge | decision | decision+stamp | step:<name> (one step of the decision
 * path, names in paths.ts decisionSteps) | largest:<part>:<i> (decide, compile or check+compile of largest document i)
 */
const CACHE_FOR_THE_RUN = "3600000";

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const query = (name: string) => url.searchParams.get(name) ?? "";
    if (url.pathname === "/fixture") {
      const origins = { blue: query("blue") || "https://blue.example.com", green: query("green") || "https://green.example.com" };
      const text = JSON.stringify(realisticRules(origins));
      return Response.json({ url: PAGE_URL, visitors: await visitors(query("secret")), text, metadata: await mirrorMetadata(text, query("secret")) });
    }
    if (url.pathname === "/largest") return Response.json(largestNames());
    if (url.pathname === "/steps") return Response.json(Object.keys(await decisionSteps(new Request(PAGE_URL), await rulesLoaded())));
    if (url.pathname !== "/measure") return new Response("GET /fixture or /measure\n", { status: 404 });
    return Response.json(await withOriginStub(async () => measure(await prepare(query("handler")), Number(query("seconds")), Number(query("sampleMs")))));
  },
};

/** An edge env whose realistic rules document is in the isolate's rules cache for the rest of the run. */
async function rulesLoaded(): Promise<Env> {
  const text = JSON.stringify(realisticRules());
  const metadata = await mirrorMetadata(text, BENCH_SECRET);
  const loaded = await activeRules(edgeEnv(text, metadata, "0"), () => {});
  if (loaded.source !== "kv") throw new Error("the realistic rules document was rejected");
  return edgeEnv(text, metadata, CACHE_FOR_THE_RUN);
}

/**
 * The call to time, with the realistic document already in the isolate's rules cache. Whole
 * handlers and the decision path take the visitors in turn (the load test's mix); a step is timed
 * for the first, stable, visitor.
 */
async function prepare(handler: string): Promise<() => Promise<unknown>> {
  if (handler.startsWith("largest:")) {
    const [, part, index] = handler.split(":");
    return largestPath(Number(index), part as LargestPart);
  }
  const mix = await visitors(BENCH_SECRET);
  const requests = mix.map((visitor) => new Request(PAGE_URL, { headers: visitor.headers }));
  const env = await rulesLoaded();
  if (handler.startsWith("step:")) {
    const step = (await decisionSteps(requests[0]!, env))[handler.slice(5)];
    if (!step) throw new Error(`unknown step ${handler}`);
    return step;
  }
  const handlers: Record<string, (request: Request) => Promise<unknown>> = {
    passthrough: (request) => passthroughHandler(request),
    "hand-rolled": (request) => handRolledHandler(request),
    edge: (request) => edgeHandler(request, env),
    decision: (request) => decisionPath(request, env),
    "decision+stamp": (request) => decisionAndStamp(request, env),
  };
  const run = handlers[handler];
  if (!run) throw new Error(`unknown handler ${handler}`);
  // The decision path ends before the fetch: its steady state is checked on the same path carried through to the response.
  for (const [i, request] of requests.entries()) {
    const check = (await (handler === "decision" ? handlers["decision+stamp"]! : run)(request)) as Response;
    const colour = check.headers.get("x-canary-version");
    if (check.status !== 200 || check.headers.getSetCookie().length > 0 || (handler !== "passthrough" && colour !== mix[i]!.colour)) {
      throw new Error(`${handler}: ${check.status}, ${colour} for a ${mix[i]!.colour} visitor, set-cookie ${check.headers.getSetCookie().join(" | ")}: not the steady state`);
    }
  }
  let next = 0;
  return () => run(requests[next++ % requests.length]!);
}
