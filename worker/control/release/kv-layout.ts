import { isMirror, type MirrorMeta, RULES_KEY } from "../../core/release.ts";
import { parseRulesText } from "../../core/rules.ts";
import type { HistoryEntry, RulesMeta, RulesView } from "./store.ts";

/**
 * Every key of the CANARY_KV namespace, and who writes it (this module is the only one that names them):
 *   rules         the live document; written by the release authority (its mirror, marked in the
 *                 metadata) and by operators with raw `wrangler kv key put` (unmarked: the authority
 *                 adopts or refuses it, the edge never routes it before); read by the edge and the CLI
 *   history       the audit trail, newest first; written by the authority, read by the CLI
 *   intent/<id>   a write the CLI's wrangler transport asks for (expires after INTENT_TTL_SECONDS);
 *                 written by the CLI, read and deleted by the authority
 *   rules@<n>     per-revision copies an earlier version kept; deleted by the authority
 */
export { RULES_KEY };
export const HISTORY_KEY = "history";
export const INTENT_PREFIX = "intent/";
export const intentKey = (id: string) => `${INTENT_PREFIX}${id}`;
export const LEGACY_REVISION_PREFIX = "rules@";
/** How long an intent stays in KV: the CLI asks the authority to carry it out at once; an intent never acted on expires. */
export const INTENT_TTL_SECONDS = 120;

/** The part of Workers KV the release path uses: the binding in the Workers, the wrangler adapter in the CLI, a model in the simulator. */
export interface RulesKV {
  get(key: string, type: "text"): Promise<string | null>;
  getWithMetadata<M>(key: string, type: "text"): Promise<{ value: string | null; metadata: M | null }>;
  put(key: string, value: string, options?: { metadata?: unknown; expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** …and listing, which only the authority needs (to remove the legacy per-revision keys). */
export interface ListableKV extends RulesKV {
  list(options: { prefix: string; cursor?: string }): Promise<{ keys: { name: string }[]; list_complete: boolean; cursor?: string }>;
}

/** The raw live text and its metadata. */
export async function readLive(kv: RulesKV): Promise<{ text: string | null; meta: (RulesMeta & { authority?: true }) | null }> {
  const { value, metadata } = await kv.getWithMetadata<RulesMeta & { authority?: true }>(RULES_KEY, "text");
  return { text: value, meta: metadata };
}

/**
 * The live rules as the authority last mirrored them (what the CLI's wrangler transport shows); a
 * value written around the authority shows with revision 0 and no change record until it is adopted.
 */
export async function readMirrorView(kv: RulesKV): Promise<RulesView & { adopted: boolean }> {
  const { text, meta } = await readLive(kv);
  const adopted = isMirror(meta);
  const { authority: _, ...record } = adopted ? meta : { authority: undefined };
  const revision = adopted ? meta.revision : 0;
  const shown = adopted ? (record as RulesMeta) : null;
  if (text === null) return { revision, meta: shown, rules: null, adopted, issues: [{ path: "$", message: "KV has no `rules` key yet" }] };
  const parsed = parseRulesText(text);
  return parsed.ok ? { revision, meta: shown, rules: parsed.rules, adopted } : { revision, meta: shown, rules: null, adopted, issues: parsed.issues };
}

/** The audit trail as the authority last mirrored it, newest first. */
export async function readHistory(kv: RulesKV): Promise<HistoryEntry[]> {
  const text = await kv.get(HISTORY_KEY, "text");
  return text === null ? [] : (JSON.parse(text) as HistoryEntry[]);
}

/** Mirrors a revision: `rules` with the authority's mark and seal, then the history. KV metadata is at most 1 KiB: the reason and the author are cut to fit (the history keeps them whole). */
export async function writeMirror(kv: RulesKV, text: string, entry: HistoryEntry, history: HistoryEntry[], seal: string | undefined): Promise<void> {
  const { changes: _, reason, ...rest } = entry;
  const metadata: MirrorMeta = { ...rest, ...(reason ? { reason } : {}), ...(seal ? { seal } : {}), authority: true };
  for (const field of ["reason", "updatedBy"] as const) {
    while (metadata[field] && new TextEncoder().encode(JSON.stringify(metadata)).length > 1000) metadata[field] = `${metadata[field]!.slice(0, Math.floor(metadata[field]!.length / 2))}…`;
  }
  await kv.put(RULES_KEY, text, { metadata });
  await kv.put(HISTORY_KEY, JSON.stringify(history));
}

/** Deletes up to 50 of the per-revision copies an earlier version wrote (nothing reads them any more); how many were left to delete. */
export async function deleteLegacyRevisions(kv: ListableKV): Promise<number> {
  const page = await kv.list({ prefix: LEGACY_REVISION_PREFIX });
  const batch = page.keys.slice(0, 50); // a Worker's subrequests are limited: the rest go on later mirrors
  await Promise.all(batch.map((key) => kv.delete(key.name)));
  return page.keys.length;
}
