import { type Context, Hono } from "hono";
import type { z } from "zod";
import { ReasonInput } from "../release/actions.ts";
import type { AdminEnv } from "../http/auth.ts";
import { jsonInput, reply } from "../http/json.ts";
import { REVISION_HEADER } from "../../core/release.ts";
import { Plan, RolloutId } from "../../core/rules.ts";
import { analysisObject } from "./analysis-object.ts";
import { controlConfig } from "../config.ts";
import { failure, type Outcome } from "../release/outcome.ts";
import { gateKey } from "./gate.ts";
import type { Operator } from "./commands.ts";
import type { RolloutStatus } from "./status.ts";

/**
 * The rollout engine over HTTP, mounted by the admin API at `/rollout`, behind its authentication:
 *   GET  /         status: plan, current step, analysis, per-colour health
 *   POST /start    {rolloutId?, plan?, reason?}   step 1 of the plan in the live rules (or of `plan`, which replaces it)
 *   POST /pause    {reason?}   POST /resume {reason?}   POST /abort {reason?}
 *   GET  /gate-key the key gate calls are signed with, for the hooks to check them (gate.ts)
 * The history names the operator the admin API authenticated (its `actor`).
 */
const StartInput = ReasonInput.extend({ rolloutId: RolloutId.optional(), plan: Plan.optional() });

export const rolloutRoutes = new Hono<AdminEnv>()
  .get("/", async (c) => c.json(await analysisObject(c.env).status()))
  .post("/start", (c) => command(c, StartInput, (operator) => analysisObject(c.env).start(operator, new URL(c.req.url).origin)))
  .get("/gate-key", async (c) => {
    const secret = controlConfig(c.env).secret;
    if (!secret) return reply(c, failure(409, "no_secret", "CANARY_SECRET is not set: gate calls cannot be signed"));
    return c.json({ key: await gateKey(secret), signature: "x-canary-signature: v1=<hex HMAC-SHA256(key, <x-canary-timestamp>.<body>)>" });
  })
  .post("/pause", (c) => command(c, ReasonInput, (operator) => analysisObject(c.env).pause(operator)))
  .post("/resume", (c) => command(c, ReasonInput, (operator) => analysisObject(c.env).resume(operator)))
  .post("/abort", (c) => command(c, ReasonInput, (operator) => analysisObject(c.env).abort(operator)));

/** Checks the body (nothing reaches the engine otherwise), then runs the command as the caller. */
async function command<T extends object>(
  c: Context<AdminEnv>,
  schema: z.ZodType<T>,
  run: (operator: Operator & T) => Promise<Outcome<RolloutStatus>>,
): Promise<Response> {
  const input = await jsonInput(c, schema);
  if (!input.ok) return reply(c, input);
  const outcome = await run({ ...input.body, by: c.get("actor") });
  // The rules revision after the command: the edge isolate that handed it over routes on it at once (as after an admin write).
  if (outcome.ok && outcome.body.revision) c.header(REVISION_HEADER, String(outcome.body.revision));
  return reply(c, outcome);
}
