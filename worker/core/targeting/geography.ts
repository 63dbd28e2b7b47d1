import { type Condition, oneOf } from "./condition.ts";

/** Conditions on request.cf geography: country, continent, region, Cloudflare colo. */

export const countries: Condition<readonly string[]> = { index: oneOf((t) => t.country), readsCf: true };
export const continents: Condition<readonly string[]> = { index: oneOf((t) => t.continent), readsCf: true };
export const regions: Condition<readonly string[]> = { index: oneOf((t) => t.region), readsCf: true };
export const colos: Condition<readonly string[]> = { index: oneOf((t) => t.colo), readsCf: true };
