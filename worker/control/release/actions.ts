import * as z from "zod";
import { describeChange } from "../../core/diff.ts";
import * as operations from "../../core/operations.ts";
import { parseRules, type Rules, type RulesIssue } from "../../core/rules.ts";
import { failure, type Outcome, parseInput, success } from "./outcome.ts";
import { type Change, HISTORY_LIMIT, type HistoryEntry, type RulesMeta, type RulesView } from "./store.ts";

/**
 * The admin operations on the rules, as pure steps over a RulesStore. The release authority runs
 * them for every writer (admin API, dashboard, CLI intents over either transport, rollout engine,
 * documents adopted from KV), so a ramp behaves the same whichever way an operator sends it.
 */

/** What the actions read and commit through: the release authority's view of its store. */
export interface RulesStore {
  read(): Promise<RulesView>;
  revision(revision: number): Promise<Rules | null>;
  /** Compare-and-swap: commits `rules` as the next revision only if the head is still `expectedRevision`. */
  commit(rules: Rules, change: Change, expectedRevision: number): Promise<CommitResult>;
  /** The edge's own checks beyond the schema (its service bindings, the stored size): nothing the edge would refuse is ever stored. */
  refuse?(rules: Rules): RulesIssue[];
}

export type CommitResult = { ok: true; meta: RulesMeta; changes: string[] } | { ok: false; currentRevision: number };

/** Who asks, and the revision they based the request on (If-Match), if they said. */
export interface Caller {
  actor: string;
  ifMatch?: number;
}

/** A write's answer: the change record and what changed; `unchanged` when it already was so (nothing written). */
export interface Written {
  revision: number;
  meta: RulesMeta | null;
  changes: string[];
  unchanged: boolean;
  rules: Rules;
}

/** Why: recorded in the history. Optional everywhere, so it never stands in the way of an emergency. */
const Reason = z.string().trim().min(1).max(500).optional();
/** The body of a write that takes nothing but a reason (promote, revert, and the rollout commands). */
export const ReasonInput = z.strictObject({ reason: Reason });
const RampInput = z.strictObject({ percent: z.number(), rolloutId: z.string().optional(), reason: Reason });
const RollbackInput = z.strictObject({ revision: z.int().min(1), reason: Reason });
const HistoryInput = z.strictObject({ limit: z.coerce.number().int().min(1).max(HISTORY_LIMIT).optional() });

/** Replaces the whole document (PUT /rules, `rules set`). */
export function replaceRules(store: RulesStore, caller: Caller, input: unknown, reason?: string): Promise<Outcome<Written>> {
  return write(store, caller, { action: "replace", reason }, { document: input });
}

/** Moves the canary to a percentage, optionally with a new rollout id (a fresh cohort). */
export async function ramp(store: RulesStore, caller: Caller, input: unknown): Promise<Outcome<Written>> {
  const body = parseInput(RampInput, input);
  if (!body.ok) return body;
  const { percent, rolloutId, reason } = body.body;
  return write(store, caller, { action: "ramp", reason }, (live) => operations.ramp(live, percent, rolloutId));
}

/** The canary becomes stable for everyone. */
export async function promote(store: RulesStore, caller: Caller, input: unknown): Promise<Outcome<Written>> {
  const body = parseInput(ReasonInput, input);
  if (!body.ok) return body;
  return write(store, caller, { action: "promote", reason: body.body.reason }, operations.promote);
}

/** Everyone back on stable now. A reason is recorded when given but never required: this is the emergency path. */
export async function revert(store: RulesStore, caller: Caller, input: unknown): Promise<Outcome<Written>> {
  const body = parseInput(ReasonInput, input);
  if (!body.ok) return body;
  return write(store, caller, { action: "revert", reason: body.body.reason }, operations.revert);
}

/** Restores a past revision's document as a new revision, so the rollback itself is in the history too. */
export async function rollback(store: RulesStore, caller: Caller, input: unknown): Promise<Outcome<Written>> {
  const body = parseInput(RollbackInput, input);
  if (!body.ok) return body;
  const { revision, reason } = body.body;
  const past = await store.revision(revision);
  if (!past) return failure(404, "unknown_revision", `revision ${revision} is not kept (only the last ${HISTORY_LIMIT} are)`);
  const why = reason ? `${reason} (back to revision ${revision})` : `back to revision ${revision}`;
  return write(store, caller, { action: "rollback", reason: why }, { document: past });
}

/** A whole document decided elsewhere (the rollout engine, a document adopted from KV), as `change` says; If-Match as the caller says. */
export function commitDocument(store: RulesStore, caller: Caller, change: Omit<Change, "by">, document: unknown): Promise<Outcome<Written>> {
  return write(store, caller, change, { document });
}

/** The audit trail, newest first (`entries`: the whole kept trail, from wherever it is kept). */
export async function history(entries: () => Promise<HistoryEntry[]>, input: unknown): Promise<Outcome<{ entries: HistoryEntry[] }>> {
  const body = parseInput(HistoryInput, input);
  if (!body.ok) return body;
  return success({ entries: (await entries()).slice(0, body.body.limit ?? HISTORY_LIMIT) });
}

/** Dry run: checks a document against the one schema and shows it with defaults filled in. */
export function validate(input: unknown): Outcome<{ valid: true; rules: Rules }> {
  const parsed = parseRules(input);
  return parsed.ok ? success({ valid: true, rules: parsed.rules }) : invalidRules(parsed.issues);
}

/**
 * Read, check If-Match, edit the live document (or take a whole new one), validate with the one
 * schema, commit. Every write takes this path, so none can store a document the router would
 * reject, and a no-op is not recorded as a revision.
 */
async function write(
  store: RulesStore,
  caller: Caller,
  change: Omit<Change, "by">,
  next: ((live: Rules) => Rules) | { document: unknown },
): Promise<Outcome<Written>> {
  const current = await store.read();
  if (caller.ifMatch !== undefined && caller.ifMatch !== current.revision) return conflict(current.revision, caller.ifMatch);
  let proposed: unknown;
  if (typeof next !== "function") proposed = next.document;
  else if (current.rules) proposed = next(current.rules);
  else {
    const message = `there is no valid rules document to ${change.action}: put one first (PUT /rules, \`rules set\`)`;
    return failure(409, "no_valid_rules", message, { issues: current.issues });
  }
  const parsed = parseRules(proposed);
  if (!parsed.ok) return invalidRules(parsed.issues);
  const rules = parsed.rules;
  const refused = store.refuse?.(rules) ?? [];
  if (refused.length) return invalidRules(refused);
  if (current.rules && describeChange(current.rules, rules).length === 0) {
    return success({ revision: current.revision, meta: current.meta, changes: [], unchanged: true, rules });
  }
  const result = await store.commit(rules, { ...change, by: caller.actor }, current.revision);
  if (!result.ok) return conflict(result.currentRevision, current.revision);
  return success({ revision: result.meta.revision, meta: result.meta, changes: result.changes, unchanged: false, rules });
}

function conflict(currentRevision: number, expected: number): Outcome<never> {
  return failure(412, "revision_conflict", `the rules are at revision ${currentRevision}, not ${expected}: read them again and retry`, {
    currentRevision,
  });
}

export function invalidRules(issues: RulesIssue[]): Outcome<never> {
  return failure(400, "invalid_rules", "the rules document is not valid; nothing was written", { issues });
}
