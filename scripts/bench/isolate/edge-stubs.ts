// The edge Worker's other bindings in the benchmark's workerd: a control Worker, an analysis object and a release authority, each as small as the edge allows.
import { DurableObject } from "cloudflare:workers";
import { BENCH_REVISION } from "./fixtures.ts";

/**
 * CONTROL: the bench never sends a request under CANARY_PATH, so the control Worker only has to
 * exist. CANARY_ANALYSIS: the edge sends its health batches here (every HEALTH_FLUSH_REQUESTS
 * requests); it takes them like the real object would, over RPC, and keeps only a count.
 * RELEASE_AUTHORITY: the edge asks for its beacon every half second, as deployed; in the steady
 * state the bench measures, the beacon names the revision KV's mirror already holds, so the edge
 * never needs the document.
 */
export default {
  fetch: () => new Response("control Worker stub\n", { status: 404 }),
};

export class CanaryAnalysis extends DurableObject {
  batches = 0;

  record(reports: unknown[]): number {
    this.batches += 1;
    return reports.length;
  }
}

export class ReleaseAuthority extends DurableObject {
  beacon(): { revision: number; at: number } {
    return { revision: BENCH_REVISION, at: Date.now() };
  }

  document(): null {
    return null;
  }
}
