import * as z from "zod";

/**
 * A write the CLI's wrangler transport asks for. The CLI proves it may write by putting the intent in
 * KV under a fresh random id (only someone with the namespace's write access can), then asks the
 * control Worker to carry it out: the release authority reads it, runs the same action as the admin
 * API would, in the same order as every other write, and answers with the revision (docs/operating.md).
 */

/** crypto.randomUUID(): 122 random bits, so an id cannot be guessed. */
export const INTENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const INTENT_ACTIONS = ["replace", "ramp", "promote", "revert", "rollback"] as const;

export const Intent = z.strictObject({
  action: z.enum(INTENT_ACTIONS),
  /** The action's own body (the admin API's), checked by the action. */
  input: z.unknown(),
  /** Who asks: the operator's user name (the history shows it followed by "(wrangler)"). */
  by: z.string().trim().min(1).max(200),
  /** The revision the operator's change is based on: refused (412) when the rules moved on. */
  ifMatch: z.int().min(0).optional(),
  /** Why, for a whole-document replace (the other actions carry it in `input`). */
  reason: z.string().trim().min(1).max(500).optional(),
  /** An intent is never carried out after this (ISO time): one that was not acted on at once is dropped. */
  expiresAt: z.iso.datetime(),
});

export type Intent = z.infer<typeof Intent>;
