import { userInfo } from "node:os";
import * as actions from "../../worker/control/admin/actions.ts";
import { failure, success } from "../../worker/control/admin/outcome.ts";
import { HISTORY_KEY, kvStore, readRules, RULES_KEY } from "../../worker/control/store.ts";
import type { Transport } from "./transport.ts";
import { type KvTarget, WranglerKV } from "./wrangler-kv.ts";

/**
 * The wrangler transport: the worker's own admin actions run here, on KV reached through the
 * operator's wrangler login. No admin token; `updatedBy` is the local user name. What it writes
 * bypasses the release authority, which adopts it as its next revision within seconds (or refuses
 * it, shown in `GET /rules`): prefer the admin API (--url) for writes, it is the one writer.
 */
export function wranglerTransport(target: KvTarget): Transport {
  const actor = `${process.env.USER || userInfo().username} (wrangler)`;
  const where = `${target.remote ? "remote" : "local"} KV${target.env ? ` (env ${target.env})` : ""}${target.persistTo ? ` in ${target.persistTo}` : ""}`;
  /** A fresh adapter per command, warmed with the two keys every write reads. */
  const open = () => {
    const kv = new WranglerKV(target);
    kv.prefetch([RULES_KEY, HISTORY_KEY]);
    return kv;
  };
  /** Runs a write and then sends what it wrote; only a flushed write counts as done. */
  const write = async <T>(run: (kv: WranglerKV, caller: actions.Caller) => Promise<T>, ifMatch?: number): Promise<T> => {
    const kv = open();
    const outcome = await run(kv, { actor, ifMatch });
    await kv.flush();
    return outcome;
  };
  return {
    target: `${where} via wrangler (around the release authority, which adopts it)`,
    rules: async () => success(await readRules(open())),
    replace: (document, reason, ifMatch) => write((kv, caller) => actions.replaceRules(kvStore(kv), caller, document, reason), ifMatch),
    write: (action, input, ifMatch) => write((kv, caller) => actions[action](kvStore(kv), caller, input), ifMatch),
    history: (limit) => actions.history(kvStore(open()), { limit }),
    validate: async (document) => actions.validate(document),
    joinLink: async () =>
      failure(400, "needs_http", "join links are signed with the worker's CANARY_SECRET: use --url (or CANARY_URL) and CANARY_ADMIN_TOKEN"),
  };
}
