// Where a running local stack tells the CLI which URL its edge listens on (kept in the stack's own state folder).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
/** In a running stack's state folder: where its edge listens, so the CLI's wrangler transport can deliver its intents there. */
const STACK_FILE = "edge-canary-stack.json";

export async function writeStackFile(state: string, url: string): Promise<void> {
  await mkdir(state, { recursive: true });
  await writeFile(join(state, STACK_FILE), `${JSON.stringify({ url })}\n`);
}

/** The URL of the stack that keeps its state in `state`, or undefined when none was started there. */
export async function readStackUrl(state: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(state, STACK_FILE), "utf8")) as { url?: string }).url;
  } catch {
    return undefined;
  }
}
