import type { Match } from "../rules.ts";
import type { Condition } from "./condition.ts";
import { colos, continents, countries, regions } from "./geography.ts";
import { asns, ipRanges } from "./network.ts";
import { cookie, header, hosts, pathPrefixes } from "./request.ts";
import { userIdParity, userIds, userIdSuffixes } from "./user.ts";

/** Every targeting condition of the schema's `when`, by name: a condition the schema adds and this table lacks does not compile. */
export const CONDITIONS: { [K in keyof Match]-?: Condition<NonNullable<Match[K]>> } = {
  userIds,
  userIdSuffixes,
  userIdParity,
  ipRanges,
  asns,
  countries,
  continents,
  regions,
  colos,
  header,
  cookie,
  hosts,
  pathPrefixes,
};

export type { Condition } from "./condition.ts";
