// The edge Worker's other bindings in the benchmark's workerd: a control Worker and an analysis object that accept and drop.
import { DurableObject } from "cloudflare:workers";

/**
 * CONTROL: the bench never sends a request under CANARY_PATH, so the control Worker only has to
 * exist. CANARY_ANALYSIS: the edge sends its health batches here (every HEALTH_FLUSH_REQUESTS
 * requests); it takes them like the real object would, over RPC, and keeps only a count.
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
