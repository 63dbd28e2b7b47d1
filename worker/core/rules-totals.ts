import { LIMITS } from "./rules-definitions.ts";

/** The conditions whose values go into prefix indexes (targeting/prefix-index.ts). */
const PREFIX_MATCHED: ReadonlySet<string> = new Set(["pathPrefixes", "userIdSuffixes", "ipRanges"]);

type Named = { name: string; values: readonly unknown[] };
type CheckedRule = { when: { header?: Named; cookie?: Named } & Record<string, unknown> };

/**
 * The document-wide limits (LIMITS.entries to LIMITS.cookieNames), for rules already valid one by
 * one: both validators call this, so they refuse the same documents with the same words. Disabled
 * rules count too: enabling one must not make a document too large to route.
 */
export function totalsProblems(rules: readonly CheckedRule[]): string[] {
  let entries = 0;
  let prefixEntries = 0;
  const headers = new Set<string>();
  const cookies = new Set<string>();
  for (const { when } of rules) {
    for (const [name, value] of Object.entries(when)) {
      const list = name === "header" || name === "cookie" ? (value as Named).values : value;
      if (!Array.isArray(list)) continue;
      entries += list.length;
      if (PREFIX_MATCHED.has(name)) prefixEntries += list.length;
    }
    if (when.header) headers.add(when.header.name.toLowerCase());
    if (when.cookie) cookies.add(when.cookie.name);
  }
  const over = (count: number, limit: number, what: string) => (count > limit ? [`at most ${limit} ${what} (this document has ${count})`] : []);
  return [
    ...over(entries, LIMITS.entries, "list entries in all rules together"),
    ...over(prefixEntries, LIMITS.prefixEntries, "path prefixes, user-ID suffixes and IP ranges in all rules together"),
    ...over(headers.size, LIMITS.headerNames, "different header names in header conditions"),
    ...over(cookies.size, LIMITS.cookieNames, "different cookie names in cookie conditions"),
  ];
}
