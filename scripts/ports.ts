// Free-port checks for the local stacks (npm start, the end-to-end tests), so two stacks never share a port.
import { createServer } from "node:net";

/** Whether nothing listens on 127.0.0.1:`port` right now. */
export function isFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });
}

/** The first port from `first` to `last` that nobody listens on. */
export async function freePort(first: number, last: number): Promise<number> {
  for (let port = first; port <= last; port++) if (await isFree(port)) return port;
  throw new Error(`no free port in ${first}-${last}`);
}
