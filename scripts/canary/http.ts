import { type Outcome, type ProblemStatus, REASON_HEADER } from "../../worker/control/release/outcome.ts";
import type { Transport } from "./transport.ts";

/** The environment variable that carries the admin token: never a flag (shell history), never printed. */
export const TOKEN_VARIABLE = "CANARY_ADMIN_TOKEN";

/**
 * The HTTP transport: the worker's admin API at `<url><CANARY_PATH>/api`, with the bearer token
 * from CANARY_ADMIN_TOKEN. The worker validates and commits; this only sends and reads JSON.
 */
export function httpTransport(baseUrl: string, canaryPath: string, token: string): Transport {
  const api = `${baseUrl.replace(/\/+$/, "")}${canaryPath}/api`;
  const call = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Outcome<T>> => {
    let response: Response;
    try {
      response = await fetch(`${api}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new Error(`cannot reach ${api}: ${cause}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      const message = `${api}${path} answered HTTP ${response.status} without JSON: ${text.trim().split("\n")[0]?.slice(0, 200) ?? ""}`;
      return { ok: false, status: response.status as ProblemStatus, body: { error: `http_${response.status}`, message } };
    }
    return response.ok ? { ok: true, body: parsed as T } : { ok: false, status: response.status as ProblemStatus, body: parsed as never };
  };
  const ifMatchHeader = (ifMatch?: number): Record<string, string> => (ifMatch === undefined ? {} : { "if-match": `"${ifMatch}"` });
  return {
    target: api,
    rules: () => call("GET", "/rules"),
    replace: (document, reason, ifMatch) =>
      call("PUT", "/rules", document, { ...ifMatchHeader(ifMatch), ...(reason ? { [REASON_HEADER]: encodeURIComponent(reason) } : {}) }),
    write: (action, input, ifMatch) => call("POST", `/${action}`, input, ifMatchHeader(ifMatch)),
    history: (limit) => call("GET", limit === undefined ? "/history" : `/history?limit=${limit}`),
    validate: (document) => call("POST", "/validate", document),
    joinLink: (input) => call("POST", "/join-link", input),
    rollout: {
      status: () => call("GET", "/rollout"),
      command: (verb, input) => call("POST", `/rollout/${verb}`, input),
    },
  };
}
