// The Node fallback's runtime: imports the bench worker bundle and answers the benchmark's queries over IPC.
import { pathToFileURL } from "node:url";

const bench = (await import(pathToFileURL(process.argv[2]!).href)).default as { fetch(request: Request): Promise<Response> };

process.on("message", async ({ query }: { query: string }) => {
  const response = await bench.fetch(new Request(`http://bench/measure?${query}`));
  process.send!({ status: response.status, body: await response.text() });
});
process.on("disconnect", () => process.exit(0));
