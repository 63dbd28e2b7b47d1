import * as z from "zod";
import { signToken } from "../../core/cookies.ts";
import { OVERRIDE_PARAM, overridePayload } from "../../core/override.ts";
import { COLOURS } from "../../core/rules.ts";
import { failure, type Outcome, parseInput, success } from "../release/outcome.ts";

const DAY = 24 * 3600;
const JoinInput = z.strictObject({
  colour: z.enum(COLOURS),
  ttlSeconds: z.int().min(60).max(30 * DAY).default(DAY),
  path: z.string().startsWith("/").default("/"),
});

/** A signed join link, ready to hand to a tester. */
export interface JoinLink {
  url: string;
  colour: (typeof COLOURS)[number];
  expiresAt: string;
}

/**
 * A "join the canary" link: opening it pins the browser to a colour until the link expires. It is
 * signed with CANARY_SECRET, so it works under the `signed` override policy and cannot be forged.
 */
export async function joinLink(secret: string | undefined, siteOrigin: string, input: unknown): Promise<Outcome<JoinLink>> {
  const body = parseInput(JoinInput, input);
  if (!body.ok) return body;
  if (!secret) return failure(409, "no_secret", "CANARY_SECRET is not set, so links cannot be signed: it must be the same on both Workers (wrangler secret put CANARY_SECRET, and the same value with wrangler secret put CANARY_SECRET -c worker/control/wrangler.toml; or npm run setup)");
  const { colour, ttlSeconds, path } = body.body;
  const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
  const url = new URL(path, siteOrigin);
  if (url.origin !== new URL(siteOrigin).origin) {
    return failure(400, "invalid_request", "the request body is not valid", { issues: [{ path: "$.path", message: "must be a path on this site" }] });
  }
  url.searchParams.set(OVERRIDE_PARAM, await signToken(overridePayload(colour, expires), secret));
  return success({ url: url.toString(), colour, expiresAt: new Date(expires * 1000).toISOString() });
}
