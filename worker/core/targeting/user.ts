import { type Condition, oneOf } from "./condition.ts";

/** Conditions on the user ID (stickiness.userIdHeader / userIdCookie). */

export const userIds: Condition<readonly string[]> = { compile: oneOf((t) => t.userId) };

export const userIdSuffixes: Condition<readonly string[]> = {
  compile: (suffixes) => (t) => t.userId !== undefined && suffixes.some((s) => t.userId!.endsWith(s)),
};

/** "odd" / "even": the user ID's last character is an odd or even digit. */
export const userIdParity: Condition<"odd" | "even"> = {
  compile: (parity) => {
    const wanted = parity === "odd" ? 1 : 0;
    return (t) => {
      const last = t.userId?.charCodeAt(t.userId.length - 1) ?? -1;
      return last >= 48 && last <= 57 && (last - 48) % 2 === wanted;
    };
  },
};
