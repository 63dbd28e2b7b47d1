import type { Written } from "../../worker/control/release/actions.ts";
import type { JoinLink } from "../../worker/control/admin/join-link.ts";
import type { Outcome } from "../../worker/control/release/outcome.ts";
import type { Propagation } from "../../worker/control/release/propagation.ts";
import type { RolloutStatus } from "../../worker/control/rollout/status.ts";
import type { Rules } from "../../worker/core/rules.ts";
import type { HistoryEntry, RulesView } from "../../worker/control/release/store.ts";

/** What a worker's admin API adds to a read: the rules its isolate is routing with right now. */
export interface Serving {
  colo: string | null;
  cacheTtlMs: number;
  revision: number | null;
  source: "kv" | "fallback" | null;
  via?: "kv" | "authority" | null;
  loadedAt: string | null;
}

export type WriteAction = "ramp" | "promote" | "revert" | "rollback";

export type RolloutVerb = "start" | "pause" | "resume" | "abort";

/** The rollout engine: the plan, its analysis and the health it judges, kept by the worker's Durable Object. */
export interface RolloutControl {
  status(): Promise<Outcome<RolloutStatus>>;
  command(verb: RolloutVerb, input: object): Promise<Outcome<RolloutStatus>>;
}

/**
 * One way to reach the rules: straight to KV with wrangler, or through a worker's admin API.
 * Both answer with the admin API's own bodies, so the CLI prints and exits the same either way.
 */
export interface Transport {
  /** Shown before every command, so nobody changes local KV believing it was production. */
  readonly target: string;
  rules(): Promise<Outcome<RulesView & { serving?: Serving; propagation?: Propagation & { kvRefused?: string | null; mirrored?: number } }>>;
  replace(document: unknown, reason?: string, ifMatch?: number): Promise<Outcome<Written>>;
  write(action: WriteAction, input: object, ifMatch?: number): Promise<Outcome<Written>>;
  history(limit?: number): Promise<Outcome<{ entries: HistoryEntry[] }>>;
  validate(document: unknown): Promise<Outcome<{ valid: true; rules: Rules }>>;
  joinLink(input: object): Promise<Outcome<JoinLink>>;
  /** Only over HTTP: wrangler reaches KV, but a Durable Object only through the worker. */
  readonly rollout?: RolloutControl;
}
