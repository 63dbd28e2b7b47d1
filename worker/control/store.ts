import { describeChange } from "../core/diff.ts";
import { parseRulesText, type Rules, type RulesIssue } from "../core/rules.ts";
import { readRulesRecord, RULES_KEY, type RulesMeta } from "../core/rules-record.ts";

export { readRulesRecord, RULES_KEY, type RulesMeta };

/**
 * KV layout. `rules`: the live document, its revision and change record in the key's metadata.
 * `rules@<n>`: every revision's document, for rollback. `history`: the audit trail, newest first.
 * A document put with plain `wrangler kv key put` has no metadata and is routed with all the same.
 */
export const HISTORY_KEY = "history";
export const HISTORY_LIMIT = 100;
export const revisionKey = (revision: number) => `rules@${revision}`;

/**
 * The part of KVNamespace the store uses: the worker passes its binding, the CLI an adapter that
 * runs `wrangler kv`, so both write revisions and history through the same commitRules.
 */
export interface RulesKV {
  get(key: string, type: "text"): Promise<string | null>;
  getWithMetadata<M>(key: string, type: "text"): Promise<{ value: string | null; metadata: M | null }>;
  put(key: string, value: string, options?: { metadata?: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** One audit record: the change record plus what changed, line by line. */
export interface HistoryEntry extends RulesMeta {
  changes: string[];
}

/** A change an operator (or the automatic analysis) asks for. */
export interface Change {
  action: string;
  by: string;
  reason?: string;
}

export type CommitResult = { ok: true; meta: RulesMeta; changes: string[] } | { ok: false; currentRevision: number };

/** The live document: `rules` is null when the key is missing or invalid, and `issues` says why. */
export interface RulesView {
  revision: number;
  meta: RulesMeta | null;
  rules: Rules | null;
  issues?: RulesIssue[];
}

/**
 * The live rules with their revision, readable even when the stored document is broken: the admin
 * API shows it, every write starts from it, and the rollout engine decides on it.
 */
export async function readRules(kv: RulesKV): Promise<RulesView> {
  const { text, meta } = await readRulesRecord(kv);
  const revision = meta?.revision ?? 0;
  if (text === null) return { revision, meta, rules: null, issues: [{ path: "$", message: "KV has no `rules` key yet" }] };
  const parsed = parseRulesText(text);
  return parsed.ok ? { revision, meta, rules: parsed.rules } : { revision, meta, rules: null, issues: parsed.issues };
}

/** The audit trail, newest first. */
export async function readHistory(kv: RulesKV): Promise<HistoryEntry[]> {
  const text = await kv.get(HISTORY_KEY, "text");
  return text === null ? [] : (JSON.parse(text) as HistoryEntry[]);
}

/** A past revision's document, if it is still kept (the last HISTORY_LIMIT are). */
export async function readRevision(kv: RulesKV, revision: number): Promise<Rules | null> {
  const text = await kv.get(revisionKey(revision), "text");
  if (text === null) return null;
  const parsed = parseRulesText(text);
  return parsed.ok ? parsed.rules : null;
}

/**
 * Writes an already validated document as the next revision. With `expectedRevision`, refuses
 * (nothing written) when the live revision differs: KV has no compare-and-swap, so this catches
 * conflicting operators, not two writes in the same instant from different places.
 */
export async function commitRules(
  kv: RulesKV,
  rules: Rules,
  change: Change,
  expectedRevision?: number,
): Promise<CommitResult> {
  const [live, history] = await Promise.all([readRulesRecord(kv), readHistory(kv)]);
  const current = live.meta?.revision ?? 0;
  if (expectedRevision !== undefined && expectedRevision !== current) return { ok: false, currentRevision: current };

  const before = live.text === null ? null : parseRulesText(live.text);
  const changes = describeChange(before?.ok ? before.rules : null, rules);
  const revision = Math.max(current, history[0]?.revision ?? 0) + 1;
  const meta: RulesMeta = { revision, updatedAt: new Date().toISOString(), updatedBy: change.by, action: change.action };
  if (change.reason) meta.reason = change.reason;
  const text = JSON.stringify(rules, null, 2);

  await kv.put(revisionKey(revision), text, { metadata: meta });
  await kv.put(RULES_KEY, text, { metadata: meta });
  await kv.put(HISTORY_KEY, JSON.stringify([{ ...meta, changes }, ...history].slice(0, HISTORY_LIMIT)));
  if (revision > HISTORY_LIMIT) await kv.delete(revisionKey(revision - HISTORY_LIMIT));
  return { ok: true, meta, changes };
}
