import { otherColour } from "./colours.ts";
import type { Rules } from "./rules.ts";

/** The release steps as pure edits of a rules document: the admin API, the CLI and auto-rollback share them. */

/** Sets the canary share; a new rollout id starts a fresh cohort (everyone is re-bucketed). Analysis and plan stay. */
export function ramp(rules: Rules, percent: number, rolloutId?: string): Rules {
  return { ...rules, rollout: { ...rules.rollout, id: rolloutId ?? rules.rollout.id, percent } };
}

/**
 * The canary becomes stable for everyone, all at once (blue/green switch); the next canary will be
 * the other colour. Canary-bound rules are disabled: they would now send people to the old version.
 */
export function promote(rules: Rules): Rules {
  return { ...disableCanaryRules(rules), stable: otherColour(rules.stable), rollout: { ...rules.rollout, percent: 0 } };
}

/** Everyone back on stable right now: canary at 0% and every rule that could send someone to the canary disabled. */
export function revert(rules: Rules): Rules {
  return { ...disableCanaryRules(rules), rollout: { ...rules.rollout, percent: 0 } };
}

/** True when no visitor can reach the canary (apart from testers with an override). */
export function isReverted(rules: Rules): boolean {
  return rules.rollout.percent === 0 && !rules.rules.some((rule) => rule.enabled && canReachCanary(rule));
}

function disableCanaryRules(rules: Rules): Rules {
  return { ...rules, rules: rules.rules.map((rule) => (canReachCanary(rule) ? { ...rule, enabled: false } : rule)) };
}

/** A rule that sends someone to the canary: revert and promote switch these off. */
export function canReachCanary(rule: Rules["rules"][number]): boolean {
  return rule.serve === "canary" || (rule.percent ?? 0) > 0;
}
