// `propagation.mirrored` (GET /rules, canary doctor) is the revision the authority last wrote to KV: behind the head while KV refuses the mirror.
import { describe, expect, it } from "vitest";
import { realClock } from "../worker/core/clock.ts";
import { ReleaseCore } from "../worker/control/release/authority.ts";
import type { ListableKV } from "../worker/control/release/kv-layout.ts";
import { MemoryReleaseStore } from "../worker/control/release/store-memory.ts";
import { rulesDoc } from "./helpers.ts";

/** KV in memory whose writes can be made to fail, as a KV outage (or its one write a second per key) does. */
function flakyKv() {
  const values = new Map<string, { value: string; metadata: unknown }>();
  const kv = {
    failWrites: false,
    async get(key: string) {
      return values.get(key)?.value ?? null;
    },
    async getWithMetadata<M>(key: string) {
      const entry = values.get(key);
      return { value: entry?.value ?? null, metadata: (entry?.metadata ?? null) as M | null };
    },
    async put(key: string, value: string, options?: { metadata?: unknown }) {
      if (kv.failWrites) throw new Error("KV is down");
      values.set(key, { value, metadata: options?.metadata ?? null });
    },
    async delete(key: string) {
      values.delete(key);
    },
    async list() {
      return { keys: [], list_complete: true };
    },
  };
  return kv satisfies ListableKV;
}

describe("propagation.mirrored", () => {
  it("follows the head while KV takes the mirror, and stays behind it while KV refuses", async () => {
    const kv = flakyKv();
    const core = new ReleaseCore({ store: new MemoryReleaseStore(), kv, clock: realClock, waitUntil: () => undefined, sealer: undefined });
    const caller = { actor: "test" };
    expect((await core.replace(caller, rulesDoc())).ok).toBe(true);
    expect(await core.propagation()).toMatchObject({ head: { revision: 1 }, mirrored: 1 });

    kv.failWrites = true;
    expect((await core.ramp(caller, { percent: 5 })).ok).toBe(true);
    expect(await core.propagation()).toMatchObject({ head: { revision: 2 }, mirrored: 1 });

    kv.failWrites = false;
    await core.read(); // looks at KV: the older mirror there is repaired
    expect(await core.propagation()).toMatchObject({ head: { revision: 2 }, mirrored: 2 });
  });
});
