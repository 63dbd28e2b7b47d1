// Writes config/rules.schema.json from the one rules schema (worker/core/rules.ts); --check fails when it is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { rulesJsonSchema } from "../worker/core/rules.ts";

const path = new URL("../config/rules.schema.json", import.meta.url);
const text = `${JSON.stringify({ title: "edge-canary rules document", ...rulesJsonSchema() }, null, 2)}\n`;

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(path, "utf8");
  } catch {}
  if (current !== text) {
    console.error("config/rules.schema.json is out of date with worker/core/rules.ts: run `npm run schema`.");
    process.exit(1);
  }
} else {
  writeFileSync(path, text);
  console.log("wrote config/rules.schema.json");
}
