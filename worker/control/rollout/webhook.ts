import { logProblem } from "../../core/log.ts";
import { otherColour, type Rules } from "../../core/rules.ts";
import type { Latch } from "./engine.ts";

const WEBHOOK_TIMEOUT_MS = 5000;

/**
 * Tells the operators (chat, pager) that the analysis rolled a canary back. Best effort: it never
 * throws and gives up after 5 s, because the rollback itself has already happened. The payload's
 * `text` makes it readable as a Slack-style incoming webhook as it is.
 */
export async function notify(url: string, payload: Notice["payload"]): Promise<void> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    if (!response.ok) logProblem("webhook_failed", { status: response.status });
  } catch (error) {
    logProblem("webhook_failed", { error: String(error) });
  }
}

/** A webhook call to make once the state that caused it is saved. */
export interface Notice {
  url: string;
  payload: { text: string } & Record<string, unknown>;
}

/** What the webhook receives after an automatic rollback: a sentence for people, the facts for machines. */
export function rollbackPayload(rules: Rules, latch: Latch): Notice["payload"] {
  const canary = otherColour(rules.stable);
  const rolloutId = rules.rollout.id;
  const text = `edge-canary rolled back the ${canary} canary of rollout ${rolloutId} (revision ${latch.revision}): ${latch.reason}`;
  return { event: "auto-rollback", text, rolloutId, canary, revision: latch.revision, reason: latch.reason, at: new Date(latch.at).toISOString() };
}
