import { addressKey, parseRange, rangeKey } from "../ip.ts";
import { type Condition, oneOf } from "./condition.ts";
import { PrefixIndex } from "./prefix-index.ts";

/** Conditions on where the request comes from on the network (CF-Connecting-IP, request.cf.asn). */

/** A range is the prefix of the bit strings of the addresses inside it: the prefix index finds every rule's ranges at once. */
export const ipRanges: Condition<readonly string[]> = {
  needsAddress: true,
  index: (entries, ruleCount) => {
    const index = new PrefixIndex(entries.map(({ rule, value }) => ({ rule, value: value.map((text) => rangeKey(parseRange(text))) })), ruleCount);
    return (t, hits) => {
      if (t.ip !== undefined) index.mark(addressKey(t.ip), hits);
    };
  },
};

export const asns: Condition<readonly number[]> = { index: oneOf((t) => t.asn), readsCf: true };
