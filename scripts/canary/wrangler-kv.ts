import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RulesKV } from "../../worker/control/release/kv-layout.ts";
import { wrangler, type WranglerResult } from "../wrangler.ts";

/** Where `wrangler kv` reads and writes: the binding plus --local/--remote, --env and --persist-to. */
export interface KvTarget {
  remote: boolean;
  env?: string;
  persistTo?: string;
}

/**
 * The rules KV seen through the operator's own wrangler login: the CLI reads the authority's mirror
 * and puts its intents with it, without an admin token. Each key is read once per run; writes are
 * collected and sent together by flush(), as one `wrangler kv bulk put`. Local
 * runs go one at a time: two local wranglers on one folder can fail with "database is locked".
 */
export class WranglerKV implements RulesKV {
  readonly #flags: string[];
  readonly #values = new Map<string, Promise<string | null>>();
  readonly #metadata = new Map<string, Promise<unknown>>();
  readonly #writes = new Map<string, { value: string; metadata?: unknown; expiration_ttl?: number } | null>();
  readonly #remote: boolean;
  readonly #run: (args: string[]) => Promise<WranglerResult>;
  /** The last local wrangler run: the next one starts after it. */
  #queue: Promise<unknown> = Promise.resolve();

  /** `run` runs one wrangler command (a test passes its own). */
  constructor(target: KvTarget, binding = "CANARY_KV", run: (args: string[]) => Promise<WranglerResult> = wrangler) {
    this.#remote = target.remote;
    this.#run = run;
    this.#flags = ["--binding", binding, target.remote ? "--remote" : "--local"];
    if (target.env) this.#flags.push("--env", target.env);
    if (target.persistTo) this.#flags.push("--persist-to", target.persistTo);
  }

  get(key: string): Promise<string | null> {
    this.prefetch([key]);
    return this.#values.get(key)!;
  }

  async getWithMetadata<M>(key: string): Promise<{ value: string | null; metadata: M | null }> {
    const [value, metadata] = await Promise.all([this.get(key), this.#metadataOf(key)]);
    return { value, metadata: (metadata ?? null) as M | null };
  }

  async put(key: string, value: string, options?: { metadata?: unknown; expirationTtl?: number }): Promise<void> {
    this.#remember(key, value, options?.metadata ?? null);
    this.#writes.set(key, { value, ...(options?.metadata ? { metadata: options.metadata } : {}), ...(options?.expirationTtl ? { expiration_ttl: options.expirationTtl } : {}) });
  }

  async delete(key: string): Promise<void> {
    this.#remember(key, null, null);
    this.#writes.set(key, null);
  }

  /** Reads these keys with one wrangler run; later reads of them cost nothing. */
  prefetch(keys: string[]): void {
    const missing = keys.filter((key) => !this.#values.has(key));
    if (!missing.length) return;
    const read = this.#json<Record<string, BulkValue>>(["kv", "bulk", "get", "{file}"], missing);
    for (const key of missing) this.#values.set(key, this.#handled(read.then((all) => valueOf(all[key]))));
  }

  /** Sends the collected writes: puts first (revision, rules, history), then deletes of old revisions. */
  async flush(): Promise<void> {
    const writes = [...this.#writes];
    this.#writes.clear();
    const puts = writes.flatMap(([key, entry]) => (entry ? [{ key, ...entry }] : []));
    const deletes = writes.flatMap(([key, entry]) => (entry ? [] : [key]));
    if (puts.length) await this.#json(["kv", "bulk", "put", "{file}"], puts);
    if (deletes.length) await this.#json(["kv", "bulk", "delete", "{file}", "--force"], deletes);
  }

  /** A read some caller may never await (prefetched keys): its failure still reaches whoever does await it. */
  #handled<T>(read: Promise<T>): Promise<T> {
    read.catch(() => {});
    return read;
  }

  #remember(key: string, value: string | null, metadata: unknown): void {
    this.#values.set(key, Promise.resolve(value));
    this.#metadata.set(key, Promise.resolve(metadata));
  }

  /** KV returns metadata from list, not from get: list the key's prefix and pick the key. */
  #metadataOf(key: string): Promise<unknown> {
    let metadata = this.#metadata.get(key);
    if (!metadata) {
      metadata = this.#handled(
        this.#json<{ name: string; metadata?: unknown }[]>(["kv", "key", "list", "--prefix", key]).then((keys) => keys.find((k) => k.name === key)?.metadata ?? null),
      );
      this.#metadata.set(key, metadata);
    }
    return metadata;
  }

  /** Remote runs go at once; a local one waits for the one before it (the folder's database takes one writer at a time). */
  #wrangler(args: string[]): Promise<WranglerResult> {
    if (this.#remote) return this.#run(args);
    const result = this.#queue.then(() => this.#run(args));
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Runs wrangler (with `input` written to a temp file in place of "{file}") and parses what it prints. */
  async #json<T>(args: string[], input?: unknown): Promise<T> {
    const dir = input === undefined ? undefined : await mkdtemp(join(tmpdir(), "canary-kv-"));
    try {
      if (dir) await writeFile(join(dir, "input.json"), JSON.stringify(input));
      const full = [...args.map((arg) => (arg === "{file}" && dir ? join(dir, "input.json") : arg)), ...this.#flags];
      const result = await this.#wrangler(full);
      if (result.code !== 0) throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed: ${lastError(result.stderr || result.stdout)}`);
      const start = result.stdout.search(/^[[{]/m);
      return (start < 0 ? undefined : JSON.parse(result.stdout.slice(start))) as T;
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }
}

/**
 * One key of `wrangler kv bulk get`: locally wrangler prints `{ "value": … }`, remotely the API's own
 * answer, which is the text itself (or null for a missing key).
 */
type BulkValue = string | { value: string | null } | null | undefined;

function valueOf(entry: BulkValue): string | null {
  return typeof entry === "string" ? entry : (entry?.value ?? null);
}

/** Wrangler's own one-line reason (the ✘ [ERROR] line), without colours or its log-file footer. */
function lastError(output: string): string {
  const lines = output.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((line) => line.trim()).filter(Boolean);
  const error = lines.find((line) => line.includes("[ERROR]"));
  return (error ?? lines.at(-1) ?? "no output").replace(/^✘\s*\[ERROR\]\s*/, "");
}
