import { DurableObject } from "cloudflare:workers";
import { realClock } from "../../core/clock.ts";
import { AUTHORITY_NAME, type BeaconAnswer, type EdgeReport, type ReleaseDocument, webCryptoSealer } from "../../core/release.ts";
import type { Rules } from "../../core/rules.ts";
import type { Caller, Written } from "../release/actions.ts";
import { type AuthorityReport, ReleaseCore } from "../release/authority.ts";
import type { Outcome } from "../release/outcome.ts";
import type { Change, HistoryEntry, RulesView } from "../release/store.ts";
import { SqlReleaseStore } from "../release/store-sql.ts";

/** The one release authority of a deployment. */
export function releaseAuthority(env: { RELEASE_AUTHORITY: DurableObjectNamespace<ReleaseAuthority> }): DurableObjectStub<ReleaseAuthority> {
  return env.RELEASE_AUTHORITY.getByName(AUTHORITY_NAME);
}

/**
 * The Durable Object that holds the release authority (release/authority.ts): its SQLite storage,
 * the KV binding and the runtime's clock. Every method is the core's; this shell adds nothing, so
 * the simulator of the release path, which runs the core on a memory store, runs what deploys.
 */
export class ReleaseAuthority extends DurableObject<ControlEnv> {
  readonly #core: ReleaseCore;

  constructor(ctx: DurableObjectState, env: ControlEnv) {
    super(ctx, env);
    this.#core = new ReleaseCore({ store: new SqlReleaseStore(ctx.storage), kv: env.CANARY_KV, clock: realClock, waitUntil: (work) => ctx.waitUntil(work), sealer: env.CANARY_SECRET ? webCryptoSealer(env.CANARY_SECRET) : undefined });
  }

  read(): Promise<RulesView> {
    return this.#core.read();
  }

  history(input: unknown): Promise<Outcome<{ entries: HistoryEntry[] }>> {
    return this.#core.history(input);
  }

  note(change: Change): Promise<void> {
    return this.#core.note(change);
  }

  replace(caller: Caller, input: unknown, reason?: string): Promise<Outcome<Written>> {
    return this.#core.replace(caller, input, reason);
  }

  ramp(caller: Caller, input: unknown): Promise<Outcome<Written>> {
    return this.#core.ramp(caller, input);
  }

  promote(caller: Caller, input: unknown): Promise<Outcome<Written>> {
    return this.#core.promote(caller, input);
  }

  revert(caller: Caller, input: unknown): Promise<Outcome<Written>> {
    return this.#core.revert(caller, input);
  }

  rollback(caller: Caller, input: unknown): Promise<Outcome<Written>> {
    return this.#core.rollback(caller, input);
  }

  validate(input: unknown): Promise<Outcome<{ valid: true; rules: Rules }>> {
    return this.#core.validate(input);
  }

  commit(document: Rules, change: Change, expected: number): Promise<Outcome<Written>> {
    return this.#core.commit(document, change, expected);
  }

  applyIntent(id: string): Promise<Outcome<Written>> {
    return this.#core.applyIntent(id);
  }

  beacon(report: EdgeReport): Promise<BeaconAnswer> {
    return this.#core.beacon(report);
  }

  document(): Promise<ReleaseDocument | null> {
    return this.#core.document();
  }

  propagation(): Promise<AuthorityReport> {
    return this.#core.propagation();
  }
}
