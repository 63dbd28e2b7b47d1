import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe } from "vitest";
import { MemoryReleaseStore } from "../../worker/control/release/store-memory.ts";
import { SqlReleaseStore } from "../../worker/control/release/store-sql.ts";
import { releaseStoreConformance } from "./release-store.ts";

/** The release authority's store, on each backend: a fresh one per case. */
describe("release store conformance: the Durable Object's SQLite", () => {
  releaseStoreConformance((run) =>
    runInDurableObject(env.RELEASE_AUTHORITY.getByName(`conformance-${crypto.randomUUID()}`), (_, state) => run(new SqlReleaseStore(state.storage))),
  );
});

describe("release store conformance: memory (what the release simulator runs the authority on)", () => {
  releaseStoreConformance(async (run) => run(new MemoryReleaseStore()));
});
