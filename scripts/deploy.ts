// npm run deploy [-- wrangler flags, e.g. --env production]: the control Worker first (the edge's service
// binding and Durable Object binding name it), then the edge Worker. Stops at the first failure.
import { wranglerLive } from "./wrangler.ts";

const extra = process.argv.slice(2);
const steps = [
  { name: "control Worker (worker/control/wrangler.toml)", args: ["deploy", "-c", "worker/control/wrangler.toml", ...extra] },
  { name: "edge Worker (wrangler.toml)", args: ["deploy", "-c", "wrangler.toml", ...extra] },
];
for (const step of steps) {
  console.log(`\n== deploying the ${step.name}`);
  const code = await new Promise<number>((done) => wranglerLive(step.args).once("exit", (c) => done(c ?? 1)));
  if (code !== 0) {
    console.error(`deploying the ${step.name} failed (exit ${code}); nothing after it was deployed`);
    process.exit(code);
  }
}
console.log("\nboth Workers deployed");
