import { connect } from "node:net";
import { describe, expect, inject, it } from "vitest";
import { scaled } from "./helpers.ts";

/** What only a raw socket can send (fetch and the test pool's in-process requests cannot): requests a browser never makes, but a client may. */

/** Sends `raw` to the stack's edge Worker and returns the whole answer once the server closes the connection. */
function send(raw: string): Promise<string> {
  const { hostname, port } = new URL(inject("workerUrl"));
  return new Promise((resolve, reject) => {
    let answer = "";
    const socket = connect(Number(port), hostname, () => socket.end(raw));
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => (answer += chunk));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.setTimeout(scaled(10_000), () => socket.destroy(new Error(`no answer to ${raw.split("\r\n")[0]}`)));
  });
}

describe("requests only a raw socket sends", () => {
  it("forwards a GET that carries a body (Content-Length) to the origin without it, not as a 502 against the origin", async () => {
    const answer = await send("GET /echo HTTP/1.1\r\nHost: www.example.test\r\nContent-Length: 3\r\nX-User-Id: raw-1\r\nConnection: close\r\n\r\nabc");
    const [head, body] = answer.split("\r\n\r\n", 2) as [string, string];
    expect(head.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
    expect(head.toLowerCase()).toMatch(/\r\nx-canary-version: (blue|green)/);
    expect(body).toContain('"method":"GET"');
  });
});
