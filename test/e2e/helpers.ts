import { inject } from "vitest";
import { runNode, type WranglerResult } from "../../scripts/wrangler.ts";

export type Run = WranglerResult;

/** The transports under test: flags that point the CLI at the wrangler dev's KV, or at its admin API. */
export const TRANSPORTS = {
  wrangler: () => ({ flags: ["--local", "--persist-to", inject("persistTo")], env: {} }),
  http: () => ({ flags: ["--url", inject("workerUrl")], env: { CANARY_ADMIN_TOKEN: inject("adminToken") } }),
};

/** Runs `npm run canary -- <args>` as an operator would (same script, same Node), and collects its output. */
export function canary(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runNode(["scripts/canary.ts", ...args], { CANARY_URL: "", CANARY_ADMIN_TOKEN: "", USER: "e2e-operator", ...env });
}

/** The share of 100 visitors (distinct user IDs) that the worker sent to green right now. */
export async function greenShare(): Promise<number> {
  const url = inject("workerUrl");
  const colours = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const response = await fetch(`${url}/`, { headers: { "x-user-id": `user-${i}` } });
      await response.arrayBuffer();
      return response.headers.get("x-canary-version");
    }),
  );
  return colours.filter((colour) => colour === "green").length / 100;
}

/** A rules document for the demo origins, stable blue, canary at `percent`. */
export function releaseDoc(percent = 0, rolloutId = "e2e") {
  return {
    stable: "blue",
    origins: { blue: { url: inject("blueOrigin") }, green: { url: inject("greenOrigin") } },
    rollout: { id: rolloutId, percent },
    stickiness: { userIdHeader: "x-user-id" },
    overrides: "signed",
    rules: [{ name: "beta testers", when: { header: { name: "x-tier", values: ["beta"] } }, serve: "canary" }],
  };
}
