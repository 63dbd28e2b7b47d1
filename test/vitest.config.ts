import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** A Worker that stands in for a version deployed as a Worker (service-binding origin, WebSockets). */
const GREEN_WORKER = `export default {
  async fetch(request) {
    if (request.headers.get("upgrade") === "websocket") {
      const [client, server] = Object.values(new WebSocketPair());
      server.accept();
      server.addEventListener("message", (event) => server.send("green says: " + event.data));
      return new Response(null, { status: 101, webSocket: client });
    }
    return Response.json({ colour: "green-worker", url: request.url, version: request.headers.get("x-canary-version") });
  },
};`;

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      // The edge Worker's own config; test/worker.ts adds the control Worker as a named entrypoint
      // (the CONTROL binding) and hosts its Durable Object, so one workerd runs both Workers.
      wrangler: { configPath: here("../wrangler.toml") },
      main: here("./worker.ts"),
      miniflare: {
        durableObjects: {
          CANARY_ANALYSIS: { className: "CanaryAnalysis", useSQLite: true },
          RELEASE_AUTHORITY: { className: "ReleaseAuthority", useSQLite: true },
        },
        bindings: {
          CANARY_SECRET: "test-secret",
          ADMIN_TOKEN: "test-admin-token",
          ACCESS_TEAM_DOMAIN: "",
          ACCESS_AUD: "",
          DASHBOARD_HOST: "canary.example.test", // the dashboard's own host (test/pages/dashboard.test.ts); the site is www.example.test
          RULES_TTL_MS: "0",
          FALLBACK_ORIGIN: inject("blueOrigin"),
          BLUE_ORIGIN: inject("blueOrigin"),
          GREEN_ORIGIN: inject("greenOrigin"),
          FLAKY_GREEN_ORIGIN: inject("flakyGreenOrigin"),
          WEBHOOK_URL: inject("webhookUrl"),
        },
        serviceBindings: { GREEN_WORKER: "green-worker", CONTROL: { name: "edge-canary", entrypoint: "Control" } },
        workers: [{ name: "green-worker", modules: true, script: GREEN_WORKER, compatibilityDate: "2026-11-01" }],
      },
    })),
  ],
  test: {
    root: here(".."),
    globalSetup: [here("./global-setup.ts")],
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**", "test/simulation/**", "**/node_modules/**"],
    // Generous for a busy 2-core machine: a test that is slow there is not a failing test (speed is npm run bench's job).
    testTimeout: 30_000,
  },
});
