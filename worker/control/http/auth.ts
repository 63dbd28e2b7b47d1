import type { Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { createMiddleware } from "hono/factory";
import { controlConfig } from "../config.ts";
import { accessIdentity } from "./access.ts";

/** The admin sub-app's context: the bindings plus who is calling, for the audit trail. */
export type AdminEnv = { Bindings: ControlEnv; Variables: { actor: string } };

/** The `updatedBy` of changes made with the shared ADMIN_TOKEN (Access callers are named by email). */
export const TOKEN_ACTOR = "admin-token";

/** Query parameters that look like a credential: URLs end up in logs, browser history and Referer headers. */
const CREDENTIAL_PARAMS = new Set(["token", "access_token", "admin_token", "api_key", "apikey", "key", "auth", "authorization", "bearer"]);

/**
 * Lets a request through only with a valid Cloudflare Access JWT (when Access is configured) or
 * the ADMIN_TOKEN bearer token, compared in constant time. With neither configured the admin
 * API is off: every request is refused, it is never open.
 */
export const adminAuth = createMiddleware<AdminEnv>(async (c, next) => {
  const leaked = [...new URL(c.req.url).searchParams.keys()].find((name) => CREDENTIAL_PARAMS.has(name.toLowerCase()));
  if (leaked) {
    return deny(c, 400, "token_in_query", `credentials are refused in the query string (?${leaked}=): send Authorization: Bearer <token>`);
  }
  const { access, adminToken: token } = controlConfig(c.env);
  if (!token && !access) {
    return deny(c, 403, "admin_disabled", "the admin API is disabled: set the ADMIN_TOKEN secret on the control Worker, which reads it (wrangler secret put ADMIN_TOKEN -c worker/control/wrangler.toml, or npm run setup)");
  }
  const assertion = c.req.header("cf-access-jwt-assertion");
  if (access && assertion) {
    const identity = await accessIdentity(assertion, access);
    if (!identity) return deny(c, 401, "access_denied", "the Cf-Access-Jwt-Assertion is not valid for this application");
    c.set("actor", identity);
    return next();
  }
  if (!token) return deny(c, 401, "unauthorized", "this admin API accepts Cloudflare Access identities only");
  c.set("actor", TOKEN_ACTOR);
  return bearerAuth<AdminEnv>({
    token,
    noAuthenticationHeader: { message: problem("unauthorized", "send Authorization: Bearer <ADMIN_TOKEN>") },
    invalidAuthenticationHeader: { message: problem("bad_authorization", "the Authorization header must be `Bearer <token>`") },
    invalidToken: { message: problem("unauthorized", "wrong admin token") },
  })(c, next);
});

function problem(error: string, message: string) {
  return { error, message };
}

function deny(c: Context<AdminEnv>, status: 400 | 401 | 403, error: string, message: string): Response {
  return c.json(problem(error, message), status);
}
