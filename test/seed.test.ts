import localRules from "../config/rules.local.json";
import { describe, expect, it } from "vitest";
import { seedRules, stateDir } from "../scripts/local-stack.ts";

/** What `npm start` seeds and where it keeps it: the seed follows the demo origins' ports, each port its own state folder. */
describe("npm start's seed and state folder", () => {
  it("moves each colour's origin to its port and leaves the rest of the document as it is", () => {
    const seeded = JSON.parse(seedRules(JSON.stringify(localRules), { blue: 9201, green: 9202 }));
    expect(seeded.origins).toEqual({ blue: { url: "http://127.0.0.1:9201" }, green: { url: "http://127.0.0.1:9202" } });
    expect({ ...seeded, origins: null }).toEqual({ ...localRules, origins: null });
  });

  it("keeps a path and a trailing slash, and a service origin untouched", () => {
    const doc = { ...localRules, origins: { blue: { url: "http://localhost:8101/app/" }, green: { service: "GREEN_WORKER" } } };
    const seeded = JSON.parse(seedRules(JSON.stringify(doc), { blue: 9301, green: 9302 }));
    expect(seeded.origins).toEqual({ blue: { url: "http://localhost:9301/app/" }, green: { service: "GREEN_WORKER" } });
  });

  it("refuses a seed that is not a valid rules document, saying where", () => {
    expect(() => seedRules(JSON.stringify({ ...localRules, stable: "purple" }), { blue: 1, green: 2 })).toThrow(/\$\.stable/);
    expect(() => seedRules("{", { blue: 1, green: 2 })).toThrow();
  });

  it("gives each port its own folder, wrangler's default for 8787", () => {
    expect(stateDir(8787)).toBe(".wrangler/state");
    expect(new Set([9787, 9788, 8788].map(stateDir)).size).toBe(3);
  });
});
