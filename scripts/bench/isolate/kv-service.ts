/**
 * An in-memory KV namespace for local workerd that counts reads. workerd's KV binding speaks HTTP
 * to the service it is bound to (GET /<key>, metadata in CF-KV-Metadata), so the router bundle
 * runs unchanged and every KV read it makes passes through here and is counted.
 * The benchmark seeds and reads it on its own socket under /__bench/.
 */
const METADATA_HEADER = "CF-KV-Metadata";
const store = new Map<string, { value: string; metadata: string | null }>();
let reads = 0;

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/reads") return Response.json({ reads });
    if (url.pathname === "/__bench/reset") {
      reads = 0;
      return Response.json({ reads });
    }
    const key = decodeURIComponent(url.pathname.slice(1));
    if (request.method === "PUT") {
      store.set(key, { value: await request.text(), metadata: request.headers.get(METADATA_HEADER) });
      return new Response(null, { status: 200 });
    }
    if (request.method !== "GET") return new Response("only GET and PUT\n", { status: 405 });
    reads++;
    const entry = store.get(key);
    if (!entry) return new Response(null, { status: 404 });
    return new Response(entry.value, { headers: entry.metadata ? { [METADATA_HEADER]: entry.metadata } : {} });
  },
};
