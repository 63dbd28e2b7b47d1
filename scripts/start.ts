// npm start: two demo origins, local KV seeded from config/rules.local.json, and the router under wrangler dev.
import { startDemoOrigin } from "./demo-origin.ts";
import { wrangler, wranglerLive } from "./wrangler.ts";

const BLUE_PORT = Number(process.env.BLUE_PORT ?? 8101);
const GREEN_PORT = Number(process.env.GREEN_PORT ?? 8102);
const PORT = Number(process.env.PORT ?? 8787);
/** Local-only secrets; production ones are set with `wrangler secret put` (see README). */
const LOCAL_SECRET = "local-dev-secret-not-for-production";
const LOCAL_ADMIN_TOKEN = "local-dev-admin-token";

const blue = await startDemoOrigin("blue", BLUE_PORT);
const green = await startDemoOrigin("green", GREEN_PORT);
console.log(`demo origins: blue ${blue.url}, green ${green.url}`);

const existing = await wrangler(["kv", "key", "list", "--binding", "CANARY_KV", "--local"]);
const keys = existing.code === 0 ? (JSON.parse(existing.stdout) as { name: string }[]) : [];
if (keys.some((k) => k.name === "rules") && !process.argv.includes("--reseed")) {
  console.log("local KV already has rules: keeping them (npm start -- --reseed starts over from config/rules.local.json)");
} else {
  const put = await wrangler(["kv", "key", "put", "rules", "--binding", "CANARY_KV", "--local", "--path", "config/rules.local.json"]);
  if (put.code !== 0) {
    console.error(put.stderr || put.stdout);
    process.exit(1);
  }
  console.log("seeded local KV key `rules` from config/rules.local.json");
}

// Both Workers in one dev session: the edge (wrangler.toml) serves the port, the control Worker sits behind its binding.
const dev = wranglerLive([
  "dev",
  "-c", "wrangler.toml",
  "-c", "worker/control/wrangler.toml",
  "--port", String(PORT),
  "--ip", "127.0.0.1",
  "--show-interactive-dev-session=false",
  "--var", `FALLBACK_ORIGIN:${blue.url}`,
  "--var", "RULES_TTL_MS:1000",
], { CANARY_SECRET: LOCAL_SECRET, ADMIN_TOKEN: LOCAL_ADMIN_TOKEN });
const stop = () => {
  dev.kill("SIGTERM");
  void blue.close();
  void green.close();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("exit", (code) => {
  void blue.close();
  void green.close();
  process.exit(code ?? 0);
});
