import { expect, it } from "vitest";
import type { RulesKV } from "../../worker/control/release/kv-layout.ts";

/**
 * What every backend of RulesKV (the subset of Workers KV the rules store uses) must do, run against
 * each one: the KV binding inside workerd (kv-binding.test.ts) and the CLI's wrangler adapter
 * (test/e2e/wrangler-kv.e2e.test.ts). `open` gives a fresh view of the same store, `commit` makes a
 * view's writes durable (the wrangler adapter batches them), so reads prove what was really stored.
 */
export interface Backend {
  open(): RulesKV;
  commit(kv: RulesKV): Promise<void>;
  /** Optional: says which keys a view is about to read (the wrangler adapter then reads them in one run). */
  willRead?(kv: RulesKV, keys: string[]): void;
}

export function rulesKvConformance(backend: Backend, prefix: string, timeoutMs?: number): void {
  const key = (name: string) => `${prefix}${name}`;
  /** Value and metadata only: a backend may add fields of its own (the binding adds cacheStatus). */
  const read = async (kv: RulesKV, name: string) => {
    const { value, metadata } = await kv.getWithMetadata(key(name), "text");
    return { value, metadata };
  };

  it("reads a key that was never written as null, with null metadata", async () => {
    const kv = backend.open();
    expect(await kv.get(key("missing"), "text")).toBeNull();
    expect(await read(kv, "missing")).toEqual({ value: null, metadata: null });
  }, timeoutMs);

  it("stores text byte for byte, with and without metadata, and overwrites both", async () => {
    const text = `{"ids":["ü","🚀","a\\"b"],"pad":"${"x".repeat(200_000)}"}`;
    const writer = backend.open();
    await writer.put(key("doc"), text, { metadata: { revision: 7, updatedBy: "alice" } });
    await writer.put(key("plain"), "no metadata here");
    await writer.put(key("rules@3"), "first");
    await writer.put(key("rules@3"), "second", { metadata: { revision: 3 } });
    await backend.commit(writer);

    const reader = backend.open();
    backend.willRead?.(reader, ["doc", "plain", "rules@3"].map(key));
    expect(await read(reader, "doc")).toEqual({ value: text, metadata: { revision: 7, updatedBy: "alice" } });
    expect(await read(reader, "plain")).toEqual({ value: "no metadata here", metadata: null });
    expect(await read(reader, "rules@3")).toEqual({ value: "second", metadata: { revision: 3 } });
  }, timeoutMs);

  it("deletes a key: it reads as missing afterwards", async () => {
    const writer = backend.open();
    await writer.put(key("gone"), "soon");
    await backend.commit(writer);
    const deleter = backend.open();
    await deleter.delete(key("gone"));
    await backend.commit(deleter);
    expect(await backend.open().get(key("gone"), "text")).toBeNull();
  }, timeoutMs);
}
