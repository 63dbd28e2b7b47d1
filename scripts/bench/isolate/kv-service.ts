/**
 * An in-memory KV namespace for the benchmark's workerd: workerd's KV binding speaks HTTP to the
 * service it is bound to (GET /<key>, metadata in CF-KV-Metadata), so the edge bundle runs
 * unchanged. The benchmark puts the rules document here on its own socket.
 */
const METADATA_HEADER = "CF-KV-Metadata";
const store = new Map<string, { value: string; metadata: string | null }>();

export default {
  async fetch(request: Request): Promise<Response> {
    const key = decodeURIComponent(new URL(request.url).pathname.slice(1));
    if (request.method === "PUT") {
      store.set(key, { value: await request.text(), metadata: request.headers.get(METADATA_HEADER) });
      return new Response(null, { status: 200 });
    }
    if (request.method !== "GET") return new Response("only GET and PUT\n", { status: 405 });
    const entry = store.get(key);
    if (!entry) return new Response(null, { status: 404 });
    return new Response(entry.value, { headers: entry.metadata ? { [METADATA_HEADER]: entry.metadata } : {} });
  },
};
