// A DNS server on 127.0.0.1 (UDP) for setup's dashboard-host check (CANARY_SETUP_DNS_SERVER): it
// answers A records for the hosts it is given, SERVFAIL for the ones it is told to fail, and
// NXDOMAIN for every other name; each question asked is recorded.
import { createSocket as udp } from "node:dgram";
import type { AddressInfo } from "node:net";


export interface FakeDns {
  /** host:port, for CANARY_SETUP_DNS_SERVER. */
  server: string;
  /** The questions asked, as "A canary.example.com". */
  asked: string[];
  close(): Promise<void>;
}

const TYPES: Record<number, string> = { 1: "A", 5: "CNAME", 28: "AAAA" };

export async function startFakeDns({ a = {}, fail = [] }: { a?: Record<string, string>; fail?: string[] } = {}): Promise<FakeDns> {
  const asked: string[] = [];
  const socket = udp("udp4");
  socket.on("message", (query, peer) => {
    // The question: labels from byte 12, then its type and class.
    const labels: string[] = [];
    let at = 12;
    while (query[at]! > 0) {
      labels.push(query.subarray(at + 1, at + 1 + query[at]!).toString("ascii"));
      at += 1 + query[at]!;
    }
    const end = at + 5;
    const name = labels.join(".").toLowerCase();
    const type = query.readUInt16BE(at + 1);
    asked.push(`${TYPES[type] ?? type} ${name}`);
    const ip = a[name];
    const rcode = fail.includes(name) ? 2 : ip !== undefined ? 0 : 3; // SERVFAIL, NOERROR, NXDOMAIN
    const answer = ip !== undefined && type === 1 ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...ip.split(".").map(Number)]) : Buffer.alloc(0);
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0); // the id
    header.writeUInt16BE(0x8000 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2); // a response, RD as asked, RA
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answer.length ? 1 : 0, 6);
    socket.send(Buffer.concat([header, query.subarray(12, end), answer]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address() as AddressInfo;
  return { server: `127.0.0.1:${port}`, asked, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}
