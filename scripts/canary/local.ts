import { userInfo } from "node:os";
import * as actions from "../../worker/control/release/actions.ts";
import type { Intent } from "../../worker/control/release/intent.ts";
import { HISTORY_KEY, INTENT_TTL_SECONDS, intentKey, readHistory, readMirrorView, RULES_KEY, type RulesKV } from "../../worker/control/release/kv-layout.ts";
import { failure, type Outcome, type ProblemStatus, success } from "../../worker/control/release/outcome.ts";
import type { Transport, WriteAction } from "./transport.ts";
import { type KvTarget, WranglerKV } from "./wrangler-kv.ts";

/** Where the wrangler transport delivers its intents: the site (or local stack) whose release authority carries them out. */
export interface Delivery {
  /** The site's URL; undefined when none is known (writes are then refused with how to give one). */
  url: string | undefined;
  canaryPath: string;
  /** Says how to give a URL, when none is known. */
  missing: string;
}

/**
 * The wrangler transport: the operator's wrangler login instead of an admin token. Reads come from
 * the authority's mirror in KV; a write is put in KV as an intent under a random id (only someone
 * who may write the namespace can), then the site is asked to carry it out: the release authority
 * runs it in the one order, records it with the operator's name and answers with the revision
 * (release/intent.ts). Visitors follow at once, as with --url and a token.
 */
export function wranglerTransport(target: KvTarget, delivery: Delivery): Transport {
  const actor = process.env.USER || userInfo().username; // the authority records it as "<name> (wrangler)"
  const where = `${target.remote ? "remote" : "local"} KV${target.env ? ` (env ${target.env})` : ""}${target.persistTo ? ` in ${target.persistTo}` : ""}`;
  /** A fresh adapter per command, warmed with the keys a read needs. */
  const open = () => {
    const kv = new WranglerKV(target);
    kv.prefetch([RULES_KEY, HISTORY_KEY]);
    return kv;
  };
  /** Puts the intent in KV, then asks the site to carry it out. */
  const send = async (action: Intent["action"], input: unknown, ifMatch?: number, reason?: string): Promise<Outcome<actions.Written>> => {
    if (!delivery.url) return failure(400, "needs_url", delivery.missing);
    const kv = new WranglerKV(target);
    const id = await putIntent(kv, { action, input, by: actor, ifMatch, reason });
    await kv.flush();
    return deliver(`${delivery.url.replace(/\/+$/, "")}${delivery.canaryPath}/intents/${id}`);
  };
  return {
    target: `${where} via wrangler; writes carried out by the release authority at ${delivery.url ?? "(no site URL)"}`,
    rules: async () => success(await readMirrorView(open())),
    replace: (document, reason, ifMatch) => send("replace", document, ifMatch, reason),
    write: (action: WriteAction, input, ifMatch) => send(action, input, ifMatch),
    history: (limit) => actions.history(() => readHistory(open()), { limit }),
    validate: async (document) => actions.validate(document),
    joinLink: async () =>
      failure(400, "needs_http", "join links are signed with the worker's CANARY_SECRET: use --url (or CANARY_URL) and CANARY_ADMIN_TOKEN"),
  };
}

/** Puts an intent for `fields` in KV under a fresh random id (it expires after INTENT_TTL_SECONDS); returns the id. */
export async function putIntent(
  kv: RulesKV,
  fields: Omit<Intent, "expiresAt" | "ifMatch" | "reason"> & { ifMatch?: number; reason?: string },
  now = Date.now(),
  id: string = crypto.randomUUID(),
): Promise<string> {
  const intent: Intent = { action: fields.action, input: fields.input, by: fields.by, expiresAt: new Date(now + INTENT_TTL_SECONDS * 1000).toISOString() };
  if (fields.ifMatch !== undefined) intent.ifMatch = fields.ifMatch;
  if (fields.reason) intent.reason = fields.reason;
  await kv.put(intentKey(id), JSON.stringify(intent), { expirationTtl: INTENT_TTL_SECONDS });
  return id;
}

/**
 * Asks the site to carry the intent out. An intent is carried out once however often it is asked,
 * so a lost answer or a 502/503/504 is asked again with the same id, after 1 s and 2 s.
 */
export async function deliver(url: string, post: (url: string) => Promise<Response> = postTo, pause: (ms: number) => Promise<void> = sleep): Promise<Outcome<actions.Written>> {
  let last = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt) await pause(1000 * attempt);
    let response: Response;
    try {
      response = await post(url);
    } catch (error) {
      last = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      continue;
    }
    const text = await response.text();
    if ([502, 503, 504].includes(response.status) && attempt < 2) {
      last = `HTTP ${response.status}`;
      continue;
    }
    try {
      const body = JSON.parse(text);
      return response.ok ? success(body as actions.Written) : { ok: false, status: response.status as ProblemStatus, body };
    } catch {
      const message = `${url} answered HTTP ${response.status} without JSON: ${text.trim().split("\n")[0]?.slice(0, 200) ?? ""}`;
      return failure(500, `http_${response.status}`, message);
    }
  }
  const message = `could not reach ${url} (${last}): if it never arrived nothing was written (the intent expires in ${INTENT_TTL_SECONDS} s); \`history\` shows whether it was`;
  return failure(500, "unreachable", message);
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function postTo(url: string): Promise<Response> {
  return fetch(url, { method: "POST", signal: AbortSignal.timeout(30_000) });
}
