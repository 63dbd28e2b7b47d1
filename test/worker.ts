// The Worker under test: the edge Worker, with the control Worker beside it as a named entrypoint (its service binding).
import { WorkerEntrypoint } from "cloudflare:workers";
import control from "../worker/control/index.ts";
import edge from "../worker/edge/index.ts";

export default edge;
export { CanaryAnalysis, ReleaseAuthority } from "../worker/control/index.ts";

/** The control Worker as the edge's CONTROL binding reaches it in production: a fetch with its own bindings. */
export class Control extends WorkerEntrypoint<ControlEnv> {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(control.fetch(request as Request<unknown, IncomingRequestCfProperties>, this.env, this.ctx));
  }
}
