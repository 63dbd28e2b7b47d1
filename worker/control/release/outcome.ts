import type { z } from "zod";
import { issuesOf, type RulesIssue } from "../../core/rules.ts";

/**
 * What an admin action answers: a JSON body, or a problem with its HTTP status. The routes send it
 * as is and the CLI prints it, so both transports report success and failure the same way.
 */
export interface Problem {
  error: string;
  message: string;
  issues?: RulesIssue[];
  currentRevision?: number;
}

/** Optional header with the reason for a PUT /rules, percent-encoded (header values are ASCII); other writes take `reason` in the body. */
export const REASON_HEADER = "x-canary-reason";

export type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 500 | 503;

export type Outcome<T> = { ok: true; body: T } | { ok: false; status: ProblemStatus; body: Problem };

/** A successful answer. */
export function success<T>(body: T): Outcome<T> {
  return { ok: true, body };
}

/** A refusal: nothing was written, and the body says what is wrong and where. */
export function failure(status: ProblemStatus, error: string, message: string, extra: Partial<Problem> = {}): Outcome<never> {
  return { ok: false, status, body: { error, message, ...extra } };
}

/** Checks a request body against its schema; the issues use the same JSON paths as rules issues. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): Outcome<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return success(result.data);
  return failure(400, "invalid_request", "the request body is not valid", { issues: issuesOf(result.error) });
}
