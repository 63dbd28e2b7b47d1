import type { Plan } from "../../core/rules.ts";

/**
 * Gates: HTTPS hooks in the rollout plan that the control plane calls with a signed JSON body;
 * a 2xx answer in time is a go, anything else (another status, a redirect, no answer) a no-go.
 * The body is signed with the gate key, derived from CANARY_SECRET (so no other secret to keep);
 * the admin API gives it to operators (GET /rollout/gate-key) for their hooks to check with.
 */

export type Gate = NonNullable<NonNullable<Plan["gates"]>["beforeStart"]>;
export type GatePhase = "before-start" | "before-promote" | "after-promote" | "after-rollback";

/** One call of a gate and its answer, as the rollout's gate log keeps it. */
export interface GateCall {
  gate: GatePhase;
  rolloutId: string;
  url: string;
  at: string;
  ms: number;
  /** The answer's status; null when none came (time-out, unreachable). */
  status: number | null;
  /** The answer's first 200 characters (or why there was none). */
  answer: string;
  go: boolean;
}

/** Gate calls kept in the log. */
export const GATE_CALLS_KEPT = 20;

const KEY_LABEL = "edge-canary gate key v1";

/** The key that signs gate calls: HMAC-SHA256(CANARY_SECRET, "edge-canary gate key v1"), hex. One-way: it reveals nothing of CANARY_SECRET. */
export function gateKey(secret: string): Promise<string> {
  return hmacHex(secret, KEY_LABEL);
}

/** `x-canary-signature: v1=<hex>`: HMAC-SHA256 with the gate key of `<x-canary-timestamp>.<body>`. */
export function gateSignature(key: string, timestamp: number, body: string): Promise<string> {
  return hmacHex(key, `${timestamp}.${body}`);
}

/** Calls `gate` with `payload`, signed; never throws: a failure is a no-go with its reason. */
export async function callGate(gate: Gate, phase: GatePhase, rolloutId: string, payload: object, key: string, now: () => number = Date.now): Promise<GateCall> {
  const body = JSON.stringify({ event: phase, rolloutId, ...payload });
  const started = now();
  const timestamp = Math.floor(started / 1000);
  const call = { gate: phase, rolloutId, url: gate.url, at: new Date(started).toISOString() };
  try {
    const response = await fetch(gate.url, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/json",
        "x-canary-gate": phase,
        "x-canary-timestamp": String(timestamp),
        "x-canary-signature": `v1=${await gateSignature(key, timestamp, body)}`,
      },
      body,
      signal: AbortSignal.timeout(gate.timeoutSeconds * 1000),
    });
    const answer = (await response.text()).replace(/\s+/g, " ").trim().slice(0, 200);
    return { ...call, ms: now() - started, status: response.status, answer, go: response.status >= 200 && response.status <= 299 };
  } catch (error) {
    const timedOut = (error as Error).name === "TimeoutError";
    return { ...call, ms: now() - started, status: null, answer: timedOut ? `no answer within ${gate.timeoutSeconds} s` : String((error as Error).message), go: false };
  }
}

/** "before-start gate https://ci.example.com/smoke answered 503 in 84 ms: smoke test failed". */
export function describeCall(call: GateCall): string {
  const answered = call.status === null ? "gave no answer" : `answered ${call.status}`;
  return `${call.gate} gate ${call.url} ${answered} in ${call.ms} ms${call.answer ? `: ${call.answer}` : ""}`;
}

async function hmacHex(secret: string, text: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
  return [...signature].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
