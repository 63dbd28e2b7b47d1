import { inCanary } from "./bucketing.ts";
import type { CompiledRules } from "./matching.ts";
import { type Colour, otherColour } from "./colours.ts";
import type { Traits } from "./traits.ts";

/** Which version a request gets and why: the why is what the tester page and logs show. */
export interface Decision {
  colour: Colour;
  role: "stable" | "canary";
  /** "fallback": routing failed and the visitor was sent to stable without a decision (router.ts). */
  reason: "override" | "rule" | "split" | "fallback";
  rule?: string;
  bucket: number;
}

/** Tester override first, then the first matching targeting rule, then the rollout percentage. */
export function decide(compiled: CompiledRules, traits: Traits, bucket: number, forced?: Colour): Decision {
  const { stable, rollout } = compiled.rules;
  const canary = otherColour(stable);
  const verdict = (isCanary: boolean) => ({
    colour: isCanary ? canary : stable,
    role: isCanary ? ("canary" as const) : ("stable" as const),
    bucket,
  });

  if (forced) return { ...verdict(forced === canary), reason: "override" };
  const rule = compiled.targeting.firstMatch(traits);
  if (rule) {
    const isCanary = rule.serve ? rule.serve === "canary" : inCanary(bucket, rule.percent!);
    return { ...verdict(isCanary), reason: "rule", rule: rule.name };
  }
  return { ...verdict(inCanary(bucket, rollout.percent)), reason: "split" };
}
