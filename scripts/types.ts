// npm run types: each Worker's bindings typed by `wrangler types` from its own config (`-- --check` verifies them).
import { wrangler } from "./wrangler.ts";

const check = process.argv.includes("--check") ? ["--check"] : [];
const runs = [
  // The edge Worker's Env, with the control Worker's config so its service binding and Durable Object are typed; runtime types here.
  ["types", "--strict-vars=false", "-c", "wrangler.toml", "-c", "worker/control/wrangler.toml", "worker/edge/worker-configuration.d.ts"],
  ["types", "--strict-vars=false", "--env-interface", "ControlEnv", "--include-runtime=false", "-c", "worker/control/wrangler.toml", "worker/control/worker-configuration.d.ts"],
];
for (const args of runs) {
  const result = await wrangler([...args, ...check]);
  if (result.code !== 0) {
    console.error(result.stderr || result.stdout);
    process.exit(result.code);
  }
}
console.log(check.length ? "Worker types are up to date" : "Worker types written");
