import type { Context } from "hono";
import type { z } from "zod";
import { failure, type Outcome, parseInput, success } from "../release/outcome.ts";

/**
 * Outcomes over HTTP: how every admin endpoint (the rollout commands included) reads its JSON body
 * and sends its answer, so a bad body gets the same 400 wherever it is sent.
 */

/**
 * The request body as JSON; an empty body is "no options". A body must say it is JSON: a plain
 * HTML form on another site cannot send that, so an operator's browser cannot be made to post here.
 */
export async function jsonBody(c: Context): Promise<Outcome<unknown>> {
  const text = await c.req.text();
  const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
  // Forms (even empty ones) always say what they are; only JSON, or nothing at all with no body, is taken.
  if ((type !== undefined || text.trim()) && type !== "application/json") {
    return failure(415, "unsupported_media_type", "send the body as JSON with Content-Type: application/json");
  }
  if (!text.trim()) return success(undefined);
  try {
    const value: unknown = JSON.parse(text);
    if (tooDeep(value)) return failure(400, "invalid_json", `the request body nests arrays and objects more than ${MAX_DEPTH} deep`, { issues: [{ path: "$", message: `nested more than ${MAX_DEPTH} deep` }] });
    return success(value);
  } catch (error) {
    const message = `not JSON: ${(error as Error).message}`;
    return failure(400, "invalid_json", "the request body is not JSON", { issues: [{ path: "$", message }] });
  }
}

/** No rules document nests beyond a handful of levels; a deeper body is refused before it reaches the authority (whose call would overflow on it). */
const MAX_DEPTH = 64;

function tooDeep(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== "object") continue;
    if (depth > MAX_DEPTH) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
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
