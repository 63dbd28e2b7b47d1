import { decide } from "../../../worker/core/decide.ts";
import { compileRules } from "../../../worker/core/matching.ts";
import { checkRulesText } from "../../../worker/core/rules-check.ts";
import { parseRulesText } from "../../../worker/core/rules.ts";
import { traitsOf } from "../../../worker/core/traits.ts";
import { type LargestCase, largestCases } from "./largest.ts";

/**
 * What the "largest document" figures time, for one case of largest.ts: `decide` for its costliest
 * visitor, `compileRules` alone, and what a new isolate pays for a new revision (the edge's check
 * of the text and compileRules). Both validators must accept the document, or the case proves nothing.
 */
export type LargestPart = "decide" | "compile" | "check+compile";

export function largestPath(index: number, part: LargestPart): () => Promise<unknown> {
  const found = largestCases()[index];
  if (!found) throw new Error(`no largest case ${index}`);
  const text = JSON.stringify(found.rules);
  const checked = checkRulesText(text);
  if (!checked.ok || !parseRulesText(text).ok) throw new Error(`${found.name}: refused by a validator: ${JSON.stringify(checked.ok ? "zod" : checked.issues.slice(0, 3))}`);
  if (part === "check+compile") return async () => compileRules((checkRulesText(text) as { rules: typeof checked.rules }).rules);
  if (part === "compile") return async () => compileRules(checked.rules);
  const compiled = compileRules(checked.rules);
  const traits = visitorTraits(found, compiled);
  const decision = decide(compiled, traits, 0);
  if (decision.reason !== "split") throw new Error(`${found.name}: the visitor matched ${decision.rule}; it must fail the last condition of every rule`);
  return async () => decide(compiled, traits, 0);
}

function visitorTraits(found: LargestCase, compiled: ReturnType<typeof compileRules>) {
  const request = new Request(found.request.url, { headers: found.request.headers, cf: found.request.cf } as RequestInit);
  return traitsOf(request, new URL(request.url), compiled.rules.stickiness, compiled);
}

/** The cases' names, in order (an index names a case in the bench worker's handlers). */
export const largestNames = () => largestCases().map((found) => found.name);
