import type { Context } from "hono";
import type { z } from "zod";
import { failure, type Outcome, parseInput, success } from "./outcome.ts";

/**
 * Outcomes over HTTP: how every admin endpoint (the rollout commands included) reads its JSON body
 * and sends its answer, so a bad body gets the same 400 wherever it is sent.
 */

/** The request body as JSON; an empty body is "no options". */
export async function jsonBody(c: Context): Promise<Outcome<unknown>> {
  const text = await c.req.text();
  if (!text.trim()) return success(undefined);
  try {
    return success(JSON.parse(text));
  } catch (error) {
    const message = `not JSON: ${(error as Error).message}`;
    return failure(400, "invalid_json", "the request body is not JSON", { issues: [{ path: "$", message }] });
  }
}

/** The body as JSON, checked against the endpoint's schema: for endpoints whose body is all options. */
export async function jsonInput<T>(c: Context, schema: z.ZodType<T>): Promise<Outcome<T>> {
  const body = await jsonBody(c);
  return body.ok ? parseInput(schema, body.body) : body;
}

/** Sends an outcome: its body with 200, or the problem with its status. */
export function reply(c: Context, outcome: Outcome<unknown>): Response {
  return outcome.ok ? c.json(outcome.body as object, 200) : c.json(outcome.body, outcome.status);
}
