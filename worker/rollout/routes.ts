import { type Context, Hono } from "hono";
import { z } from "zod";
import { issuesOf, RolloutId } from "../rules.ts";
import { analysisObject, type CommandResult } from "./analysis-object.ts";

/**
 * The rollout engine over HTTP, for the admin API to mount behind its authentication:
 *   GET  /         status: plan, current step, analysis, per-colour health
 *   POST /start    {rolloutId?, reason?}   step 1 of the plan in the live rules
 *   POST /pause    {reason?}   POST /resume {reason?}   POST /abort {reason?}
 * The operator's name comes from the `actor` context variable the admin API sets after auth.
 */
type RolloutEnv = { Bindings: Env; Variables: { actor?: string } };

const Reason = z.string().trim().min(1).max(500).optional();
const StartInput = z.strictObject({ rolloutId: RolloutId.optional(), reason: Reason });
const ReasonInput = z.strictObject({ reason: Reason });

export const rolloutRoutes = new Hono<RolloutEnv>();

rolloutRoutes.get("/", async (c) => c.json(await analysisObject(c.env).status()));

rolloutRoutes.post("/start", async (c) => {
  const input = await readInput(c.req.raw, StartInput);
  if (!input.ok) return c.json(input.body, 400);
  return answer(c, await analysisObject(c.env).start({ by: actorOf(c.var.actor), ...input.value }));
});

for (const verb of ["pause", "resume", "abort"] as const) {
  rolloutRoutes.post(`/${verb}`, async (c) => {
    const input = await readInput(c.req.raw, ReasonInput);
    if (!input.ok) return c.json(input.body, 400);
    return answer(c, await analysisObject(c.env)[verb]({ by: actorOf(c.var.actor), ...input.value }));
  });
}

function actorOf(actor: string | undefined): string {
  return actor ?? "admin API";
}

function answer(c: Context<RolloutEnv>, result: CommandResult): Response {
  return result.ok ? c.json(result.body) : c.json(result.body, result.status);
}

/** An empty body is `{}`; anything else must be a JSON object of the command's shape. */
async function readInput<T>(request: Request, schema: z.ZodType<T>) {
  const text = await request.text();
  let value: unknown = {};
  try {
    if (text.trim()) value = JSON.parse(text);
  } catch (error) {
    return { ok: false as const, body: { error: "invalid_json", message: `the body is not JSON: ${(error as Error).message}` } };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true as const, value: parsed.data };
  return { ok: false as const, body: { error: "invalid_request", message: "the request body is not valid", issues: issuesOf(parsed.error) } };
}
