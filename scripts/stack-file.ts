// Where a running local stack tells the CLI which URL its edge listens on (kept in the stack's own state folder).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
/** In a running stack's state folder: where its edge listens, so the CLI's wrangler transport can deliver its intents there. */
const STACK_FILE = "edge-canary-stack.json";

/** What a local stack says about itself: its edge's URL and, for `canary doctor`, its local admin token and dashboard URL. */
export interface StackRecord {
  url: string;
  /** The stack's own local-only admin token (npm start's is printed at start too); never a production one. */
  adminToken?: string;
  dashboardUrl?: string;
}

export async function writeStackFile(state: string, url: string, extra: Omit<StackRecord, "url"> = {}): Promise<void> {
  await mkdir(state, { recursive: true });
  await writeFile(join(state, STACK_FILE), `${JSON.stringify({ url, ...extra })}\n`);
}

/** The URL of the stack that keeps its state in `state`, or undefined when none was started there. */
export async function readStackUrl(state: string): Promise<string | undefined> {
  return (await readStack(state))?.url;
}

/** Everything the stack that keeps its state in `state` wrote about itself, or undefined. */
export async function readStack(state: string): Promise<StackRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(join(state, STACK_FILE), "utf8")) as Partial<StackRecord>;
    return typeof record.url === "string" ? (record as StackRecord) : undefined;
  } catch {
    return undefined;
  }
}
