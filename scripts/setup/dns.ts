// Whether a hostname is already in use, asked of DNS before setup makes it the control Worker's custom
// domain: wrangler deploy runs without a terminal there, so it overrides an existing DNS record or
// another Worker's custom domain on that hostname without asking.
import { Resolver } from "node:dns/promises";

export type HostInDns =
  | { state: "free" } // NXDOMAIN, or no A, AAAA or CNAME record
  | { state: "in-use"; records: string[] }
  | { state: "unknown"; code: string }; // the lookup could not be made

/**
 * Asks for the host's A, AAAA and CNAME records, of the system's resolvers or, when
 * CANARY_SETUP_DNS_SERVER is set (host:port, as the tests do), of that server only.
 */
export async function hostInDns(host: string, server = process.env.CANARY_SETUP_DNS_SERVER): Promise<HostInDns> {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (server) resolver.setServers([server]);
  const asks = [
    resolver.resolve4(host).then((a) => a.map((ip) => `A ${ip}`)),
    resolver.resolve6(host).then((a) => a.map((ip) => `AAAA ${ip}`)),
    resolver.resolveCname(host).then((a) => a.map((name) => `CNAME ${name}`)),
  ];
  const answers = await Promise.allSettled(asks);
  const records = answers.flatMap((a) => (a.status === "fulfilled" ? a.value : []));
  if (records.length) return { state: "in-use", records };
  const failed = answers
    .map((a) => (a.status === "rejected" ? String((a.reason as { code?: string }).code ?? a.reason) : undefined))
    .find((code) => code !== undefined && code !== "ENOTFOUND" && code !== "ENODATA");
  return failed ? { state: "unknown", code: failed } : { state: "free" };
}
