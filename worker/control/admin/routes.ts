import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { rolloutRoutes } from "../rollout/routes.ts";
import { readHandoff } from "../../core/handoff.ts";
import { controlConfig } from "../config.ts";
import { MAX_RULES_BYTES } from "../../core/rules-definitions.ts";
import { REVISION_HEADER } from "../../core/release.ts";
import { releaseAuthority } from "../authority/release-authority.ts";
import * as actions from "../release/actions.ts";
import { type AdminEnv, adminAuth } from "../http/auth.ts";
import { jsonBody, reply } from "../http/json.ts";
import { joinLink } from "./join-link.ts";
import { failure, type Outcome, REASON_HEADER, success } from "../release/outcome.ts";

/** The edge refuses a larger document, so the admin API does too (one limit, rules-definitions.ts). */
const MAX_BODY_BYTES = MAX_RULES_BYTES;

/** The admin API: JSON in, JSON out, mounted at `${CANARY_PATH}/api` by worker/index.ts. */
export const admin = new Hono<AdminEnv>();

admin.use("*", adminAuth);
admin.use(
  "*",
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => c.json({ error: "too_large", message: `request bodies are limited to ${MAX_BODY_BYTES} bytes` }, 413),
  }),
);

admin.get("/rules", async (c) => {
  const view = await authority(c).read(); // first: it adopts a document written to KV around the authority
  const propagation = await authority(c).propagation();
  c.header("etag", `"${view.revision}"`);
  if (view.revision) c.header(REVISION_HEADER, String(view.revision)); // the edge isolate that handed this over routes on the head from its next request
  return c.json({ ...view, serving: serving(c), propagation });
});
admin.put("/rules", (c) => write(c, (caller, input) => authority(c).replace(caller, input, reasonHeader(c))));
admin.post("/ramp", (c) => write(c, (caller, input) => authority(c).ramp(caller, input)));
admin.post("/promote", (c) => write(c, (caller, input) => authority(c).promote(caller, input)));
admin.post("/revert", (c) => write(c, (caller, input) => authority(c).revert(caller, input)));
admin.post("/rollback", (c) => write(c, (caller, input) => authority(c).rollback(caller, input)));
admin.get("/history", async (c) => reply(c, await authority(c).history({ ...c.req.query() })));
admin.post("/validate", async (c) => {
  const input = await jsonBody(c);
  return reply(c, input.ok ? await authority(c).validate(input.body) : input); // the authority's checks, as PUT runs them
});
admin.post("/join-link", async (c) => {
  const input = await jsonBody(c);
  return reply(c, input.ok ? await joinLink(controlConfig(c.env).secret, new URL(c.req.url).origin, input.body) : input);
});
admin.route("/rollout", rolloutRoutes);

admin.notFound((c) => c.json({ error: "not_found", message: `no admin endpoint ${c.req.method} ${c.req.path}` }, 404));
admin.onError((error, c) => {
  if (error instanceof HTTPException) return error.getResponse();
  console.error(JSON.stringify({ level: "error", component: "edge-canary", event: "admin_error", error: String(error) }));
  return c.json({ error: "internal", message: `the admin API failed: ${String(error)}` }, 500);
});

const authority = (c: Context<AdminEnv>) => releaseAuthority(c.env);

/** What the edge isolate that handed this request over routes with: compare its revision with the stored one to watch a change spread. */
function serving(c: Context<AdminEnv>) {
  return readHandoff(c.req.raw.headers)?.serving ?? null;
}

/** The PUT reason; the CLI percent-encodes it because header values must be ASCII. */
function reasonHeader(c: Context<AdminEnv>): string | undefined {
  const raw = c.req.header(REASON_HEADER);
  try {
    return raw === undefined ? undefined : decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** A write: If-Match and the JSON body are checked before the action runs, with the caller's identity. */
async function write(c: Context<AdminEnv>, run: (caller: actions.Caller, input: unknown) => Promise<Outcome<actions.Written>>) {
  const ifMatch = parseIfMatch(c.req.header("if-match"));
  if (!ifMatch.ok) return reply(c, ifMatch);
  const input = await jsonBody(c);
  if (!input.ok) return reply(c, input);
  const outcome = await run({ actor: c.get("actor"), ifMatch: ifMatch.body }, input.body);
  if (outcome.ok) c.header(REVISION_HEADER, String(outcome.body.revision)); // the edge isolate that handed this over routes on it at once
  return reply(c, outcome);
}

/** If-Match carries a revision, bare or as an ETag ("7", W/"7"); `*` means any. */
function parseIfMatch(header: string | undefined): Outcome<number | undefined> {
  if (header === undefined || header.trim() === "*") return success(undefined);
  const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
  if (match) return success(Number(match[1]));
  return failure(400, "invalid_if_match", "If-Match must be a rules revision, e.g. If-Match: 7 (see GET /rules)");
}
