import { inRange, parseRange } from "../ip.ts";
import { type Condition, oneOf } from "./condition.ts";

/** Conditions on where the request comes from on the network (CF-Connecting-IP, request.cf.asn). */

export const ipRanges: Condition<readonly string[]> = {
  needsAddress: true,
  compile: (texts) => {
    const ranges = texts.map(parseRange);
    return (t) => t.ip !== undefined && ranges.some((range) => inRange(t.ip!, range));
  },
};

export const asns: Condition<readonly number[]> = { compile: oneOf((t) => t.asn), readsCf: true };
