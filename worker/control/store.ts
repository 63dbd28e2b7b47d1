import { storedRulesText } from "../core/rules-definitions.ts";
import { briefChange } from "../core/diff.ts";
import { RULES_KEY } from "../core/release.ts";
import { parseRulesText, type Rules, type RulesIssue } from "../core/rules.ts";

/**
 * KV layout. `rules`: the live document, its revision and change record in the key's metadata.
 * `history`: the audit trail, newest first. The release authority (authority/) keeps both in its
 * own storage and mirrors them here; the CLI's wrangler transport writes here with `kvStore` and
 * the authority adopts that as its next revision (docs/operating.md). `rules@<n>`: a revision's
 * document as the wrangler transport keeps it.
 */
export { RULES_KEY };
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

/** Who changed the rules, when, how and why. */
export interface RulesMeta {
  revision: number;
  updatedAt?: string;
  updatedBy?: string;
  action?: string;
  reason?: string;
  /** Set on the copy the release authority mirrors into KV; a `rules` value without it was written around the authority. */
  authority?: true;
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

/**
 * Where the admin actions read and write the rules: the release authority's own storage in the
 * control Worker, or KV through wrangler for the CLI. `refuse` adds the edge's own checks (its
 * service bindings) to the schema's, so nothing the edge would refuse is ever stored.
 */
export interface RulesStore {
  read(): Promise<RulesView>;
  history(): Promise<HistoryEntry[]>;
  revision(revision: number): Promise<Rules | null>;
  commit(rules: Rules, change: Change, expectedRevision: number): Promise<CommitResult>;
  refuse?(rules: Rules): RulesIssue[];
}

/** The rules in KV as a store: what the CLI's wrangler transport writes with. */
export function kvStore(kv: RulesKV): RulesStore {
  return {
    read: () => readRules(kv),
    history: () => readHistory(kv),
    revision: (revision) => readRevision(kv, revision),
    commit: (rules, change, expected) => commitRules(kv, rules, change, expected),
  };
}

export type CommitResult = { ok: true; meta: RulesMeta; changes: string[] } | { ok: false; currentRevision: number };

/** The raw live rules text and its metadata. */
export async function readRulesRecord(kv: RulesKV): Promise<{ text: string | null; meta: RulesMeta | null }> {
  const { value, metadata } = await kv.getWithMetadata<RulesMeta>(RULES_KEY, "text");
  return { text: value, meta: metadata };
}

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
  const changes = briefChange(before?.ok ? before.rules : null, rules);
  const revision = Math.max(current, history[0]?.revision ?? 0) + 1;
  const meta: RulesMeta = { revision, updatedAt: new Date().toISOString(), updatedBy: change.by, action: change.action };
  if (change.reason) meta.reason = change.reason;
  const text = storedRulesText(rules);

  await kv.put(revisionKey(revision), text, { metadata: meta });
  await kv.put(RULES_KEY, text, { metadata: meta });
  await kv.put(HISTORY_KEY, JSON.stringify([{ ...meta, changes }, ...history].slice(0, HISTORY_LIMIT)));
  if (revision > HISTORY_LIMIT) await kv.delete(revisionKey(revision - HISTORY_LIMIT));
  return { ok: true, meta, changes };
}
