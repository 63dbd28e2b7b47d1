import { env } from "cloudflare:workers";
import { describe } from "vitest";
import { rulesKvConformance } from "./conformance.ts";

/** The Workers KV binding the Workers use, in workerd with local storage. */
describe("RulesKV conformance: the KV binding", () => {
  rulesKvConformance({ open: () => env.CANARY_KV, commit: async () => {} }, "conformance-binding/");
});
