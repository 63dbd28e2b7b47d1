/**
 * Where the live rules sit in KV, as both Workers read them: the `rules` key, with its revision and
 * change record in the key's metadata. A document put with plain `wrangler kv key put` has no
 * metadata and is routed all the same.
 */
export const RULES_KEY = "rules";

/** Who changed the rules, when, how and why. */
export interface RulesMeta {
  revision: number;
  updatedAt?: string;
  updatedBy?: string;
  action?: string;
  reason?: string;
}

/** The part of KV a reader of the live rules needs. */
export interface RulesReader {
  getWithMetadata<M>(key: string, type: "text"): Promise<{ value: string | null; metadata: M | null }>;
}

/** The raw live rules text and its metadata. */
export async function readRulesRecord(kv: RulesReader): Promise<{ text: string | null; meta: RulesMeta | null }> {
  const { value, metadata } = await kv.getWithMetadata<RulesMeta>(RULES_KEY, "text");
  return { text: value, meta: metadata };
}
