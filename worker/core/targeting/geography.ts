import { type Condition, oneOf } from "./condition.ts";

/** Conditions on request.cf geography: country, continent, region, Cloudflare colo. */

export const countries: Condition<readonly string[]> = { compile: oneOf((t) => t.country), readsCf: true };
export const continents: Condition<readonly string[]> = { compile: oneOf((t) => t.continent), readsCf: true };
export const regions: Condition<readonly string[]> = { compile: oneOf((t) => t.region), readsCf: true };
export const colos: Condition<readonly string[]> = { compile: oneOf((t) => t.colo), readsCf: true };
