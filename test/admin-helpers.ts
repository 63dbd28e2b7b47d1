import { env, exports } from "cloudflare:workers";
import { fetchControlWithEnv, resetRelease } from "./helpers.ts";

/** The token wrangler.toml's test bindings give the admin API (test/vitest.config.ts). */
export const TOKEN = "test-admin-token";
const BASE = "https://www.example.test/__canary/api";

interface AdminInit {
  method?: string;
  body?: unknown;
  token?: string | null;
  headers?: Record<string, string>;
  env?: Partial<ControlEnv>;
}

/**
 * A request to the admin API through the worker's entry point, with the test token unless told
 * otherwise. `env` overrides bindings for this request (to switch the admin API off, or Access on).
 */
export async function admin(path: string, init: AdminInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  if (init.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  const body = init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body);
  const request = new Request(`${BASE}${path}`, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  if (init.env) return fetchControlWithEnv(request, init.env);
  return exports.default.fetch(request);
}

/** Every key in the local KV with its value and metadata: compare before and after to prove nothing was written. */
export async function kvSnapshot(): Promise<Record<string, { value: string | null; metadata: unknown }>> {
  const { keys } = await env.CANARY_KV.list();
  const entries = await Promise.all(
    keys.map(async ({ name }) => [name, await env.CANARY_KV.getWithMetadata(name, "text")] as const),
  );
  return Object.fromEntries(entries.map(([name, { value, metadata }]) => [name, { value, metadata }]));
}

/** Empties the local KV and the release authority: storage is shared by the tests of a file, and each admin test starts from nothing. */
export const clearKv = resetRelease;
