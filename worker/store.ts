/** KV layout: the rules document under one key, its revision and change record in the key's metadata. */
export const RULES_KEY = "rules";

/** Who changed the rules, when and why; stored as KV metadata next to the document. */
export interface RulesMeta {
  revision: number;
  updatedAt?: string;
  updatedBy?: string;
  reason?: string;
}

/** The raw rules text and its metadata; a document put with plain `wrangler kv key put` has no metadata. */
export async function readRulesRecord(kv: KVNamespace): Promise<{ text: string | null; meta: RulesMeta | null }> {
  const { value, metadata } = await kv.getWithMetadata<RulesMeta>(RULES_KEY, "text");
  return { text: value, meta: metadata };
}
