import { Hono } from "hono";
import { REVISION_HEADER } from "../../core/release.ts";
import { releaseAuthority } from "../authority/release-authority.ts";
import { reply } from "../http/json.ts";

/**
 * `POST ${CANARY_PATH}/intents/<id>`: carry out a write the CLI's wrangler transport put in KV
 * (release/intent.ts). No admin token: the credential is the KV write access the CLI used to put the
 * intent under a random id; the authority reads it from KV, runs it in the one order, exactly once.
 */
export const intentRoutes = new Hono<{ Bindings: ControlEnv }>().post("/:id", async (c) => {
  const outcome = await releaseAuthority(c.env).applyIntent(c.req.param("id"));
  if (outcome.ok && !outcome.body.unchanged) c.header(REVISION_HEADER, String(outcome.body.revision));
  return reply(c, outcome);
});
