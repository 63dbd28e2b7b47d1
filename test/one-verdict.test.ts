// One verdict per byte string: /validate, PUT /rules, a raw put's adoption and the edge agree on every generated document, and nothing answers 5xx.
import fc from "fast-check";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { RULES_KEY } from "../worker/core/release.ts";
import { admin } from "./admin-helpers.ts";
import { resetRelease, rulesDoc, testEnv, visit } from "./helpers.ts";
import { documents } from "./rules-documents.ts";

type Rules = { revision: number; meta: { action?: string } | null; serving: { revision: number | null } | null; propagation: { kvRefused: string | null } };
const rules = async () => (await admin("/rules")).json<Rules>();

/** The same bytes three ways: the dry run, the write, and a raw put the authority adopts or refuses; then what the edge that handed the write over routes. */
async function verdicts(text: string) {
  const validate = await admin("/validate", { body: text });
  const before = await rules();
  const put = await admin("/rules", { method: "PUT", body: text });
  const after = await rules(); // through the edge: `serving` is what the edge isolate that handed it over routes on
  await env.CANARY_KV.put(RULES_KEY, text);
  const raw = await rules();
  return { validate: validate.status, put: put.status, before, after, raw };
}

beforeAll(async () => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation(() => {});
  await resetRelease();
  await admin("/rules", { method: "PUT", body: rulesDoc() });
  await visit("/"); // the edge has reported its service bindings (GREEN_WORKER; no BLUE_WORKER)
});

describe("one verdict per byte string", () => {
  it("the dry run, the write, a raw put and the edge agree on 300 generated documents, and none gets a 5xx", { timeout: 120_000 }, async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(documents, async (doc) => {
        const text = JSON.stringify(doc);
        const v = await verdicts(text);
        expect(v.validate, text).toBeLessThan(500);
        expect(v.put, text).toBeLessThan(500);
        expect(v.validate === 200, text).toBe(v.put === 200);
        if (v.put === 200) {
          accepted += 1;
          expect(v.after.serving?.revision, text).toBe(v.after.revision); // the edge routes what was accepted
          expect(v.raw.propagation.kvRefused === null || v.raw.revision >= v.after.revision, text).toBe(true);
        } else {
          expect(v.after.revision, text).toBe(v.before.revision); // nothing written
          expect(v.raw.revision, text).toBe(v.after.revision); // the same bytes put raw are refused, not adopted
          expect(v.raw.propagation.kvRefused, text).toMatch(/not adopted/);
        }
      }),
      { numRuns: 300, seed: 20261207 },
    );
    expect(accepted).toBeGreaterThan(15); // both kinds really exercised
    expect(accepted).toBeLessThan(270);
  });

  it("refuses a body nested thousands deep with a 400, not a 500", async () => {
    const deep = `${"[".repeat(3_600)}${"]".repeat(3_600)}`;
    for (const [path, method] of [["/rules", "PUT"], ["/validate", "POST"], ["/ramp", "POST"]] as const) {
      const res = await admin(path, { method, body: `{"stable":"blue","x":${deep}}` });
      expect(res.status, path).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid_json" });
    }
  });

  it("/validate refuses what PUT refuses beyond the schema: a service binding the edge does not have", async () => {
    const doc = rulesDoc({ origins: { blue: { url: testEnv.BLUE_ORIGIN }, green: { service: "NO_SUCH_WORKER" } } });
    const [validate, put] = [await admin("/validate", { body: doc }), await admin("/rules", { method: "PUT", body: doc })];
    expect([validate.status, put.status]).toEqual([400, 400]);
    expect(await validate.json()).toMatchObject({ issues: [{ path: "$.origins.green.service" }] });
  });

  it("blue and green are the same origin however the URL is written (empty query or fragment, loopback names, case, default port)", async () => {
    const blue = new URL(testEnv.BLUE_ORIGIN);
    const same = [`${blue.origin}/?`, `${blue.origin}/#`, `${blue.origin}?`, `http://localhost:${blue.port}`, `http://LOCALHOST:${blue.port}/`, `http://127.1:${blue.port}`];
    for (const green of same) {
      const res = await admin("/rules", { method: "PUT", body: rulesDoc({ origins: { blue: { url: testEnv.BLUE_ORIGIN }, green: { url: green } } }) });
      expect(res.status, green).toBe(400);
      expect(await res.json(), green).toMatchObject({ issues: [{ path: "$.origins", message: "blue and green must be different origins" }] });
    }
    for (const [a, b] of [["https://a.example", "https://A.EXAMPLE:443/"], ["https://a.example/base", "https://a.example/base/"]]) {
      const res = await admin("/validate", { body: rulesDoc({ origins: { blue: { url: a! }, green: { url: b! } } }) });
      expect(res.status, `${a} ${b}`).toBe(400);
    }
  });
});
