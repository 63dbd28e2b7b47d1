import { STICKY_COOKIE } from "../../../worker/core/cookies.ts";
import { sign } from "../../../worker/core/signing.ts";
import { webCryptoSealer } from "../../../worker/core/release.ts";
import type { RulesInput } from "../../../worker/core/rules.ts";
import { resolveBucket, stickyValue } from "../../../worker/core/sticky.ts";
import type { Visitor } from "../visitor.ts";

/**
 * What every benchmark routes: returning, signed-in visitors and a rules document that makes the
 * router do all of its work. No rule matches them, so every rule is evaluated before the percentage
 * split: the worst case for ten rules. They come in the split's proportion (one in four on the
 * canary), so each version's share of the work is in every figure. The hand-rolled peer has the
 * same rules in code.
 */

/** Signs the bench visitor's sticky cookie for the in-isolate timing (the load test picks its own). */
export const BENCH_SECRET = "bench-secret-not-for-production";
export const PAGE_URL = "https://www.example.com/products/42?ref=home";
/** The rules document's revision, stored in KV as the release authority mirrors it; the authority stub's beacon names the same one. */
export const BENCH_REVISION = 1;
/** The KV metadata the release authority mirrors `text` with: the revision, its mark and its seal (keyed by `secret`, as the edge checks it). */
export async function mirrorMetadata(text: string, secret: string): Promise<{ revision: number; authority: true; seal: string }> {
  return { revision: BENCH_REVISION, authority: true, seal: await webCryptoSealer(secret).seal(BENCH_REVISION, text) };
}
const ROLLOUT_ID = "release-2026-11";
const PERCENT = 25;
/** Visitors per round of the mix: PERCENT % of them are the canary's. */
const MIX = 4;
const EXAMPLE_ORIGINS = { blue: "https://blue.example.com", green: "https://green.example.com" };

type Origins = typeof EXAMPLE_ORIGINS;
type RuleInput = NonNullable<RulesInput["rules"]>[number];

function document(rules: RuleInput[], origins: Origins): RulesInput {
  return {
    stable: "blue",
    origins: { blue: { url: origins.blue }, green: { url: origins.green } },
    rollout: { id: ROLLOUT_ID, percent: PERCENT },
    stickiness: { userIdHeader: "x-user-id", userIdCookie: "uid" },
    overrides: "signed",
    rules,
  };
}

/** A production-like document: a few rules of every kind the schema has. */
export function realisticRules(origins: Origins = EXAMPLE_ORIGINS): RulesInput {
  return document(
    [
      { name: "staff", when: { userIds: Array.from({ length: 200 }, (_, i) => `staff-${i}`) }, serve: "canary" },
      { name: "beta cohort", when: { userIdSuffixes: ["00", "50"] }, serve: "canary" },
      { name: "even IDs at 20%", when: { userIdParity: "even" }, percent: 20 },
      { name: "office", when: { ipRanges: ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"] }, serve: "canary" },
      { name: "oceania", when: { countries: ["NZ", "AU"], colos: ["AKL", "SYD"] }, percent: 50 },
      { name: "europe", when: { continents: ["EU"], regions: ["BE"], asns: [3320] }, percent: 10 },
      { name: "internal tier", when: { header: { name: "x-tier", values: ["internal", "beta"] } }, serve: "canary" },
      { name: "enterprise", when: { cookie: { name: "plan", values: ["enterprise"] } }, serve: "stable" },
      { name: "beta host", when: { hosts: ["beta.example.com"] }, serve: "canary" },
      { name: "labs", when: { pathPrefixes: ["/labs/", "/beta/"] }, serve: "canary" },
    ],
    origins,
  );
}


/**
 * The bench visitors, MIX of them with PERCENT % on the canary (green): user IDs from u-48213 up in
 * odd steps (an odd last digit matches no rule), the first ones each version's bucket takes.
 */
export async function visitors(secret: string): Promise<Visitor[]> {
  const canaryCount = (MIX * PERCENT) / 100;
  const picked: Visitor[] = [];
  for (let n = 48213; picked.length < MIX; n += 2) {
    const userId = `u-${n}`;
    const { bucket } = resolveBucket(ROLLOUT_ID, { userId }, undefined);
    const colour = bucket < PERCENT * 100 ? "green" : "blue";
    if (picked.filter((v) => v.colour === colour).length >= (colour === "green" ? canaryCount : MIX - canaryCount)) continue;
    picked.push({ headers: await visitorHeaders(userId, bucket, secret), colour });
  }
  return picked;
}

/** A visitor's headers: a browser's, a user ID, a client IP, a spoofed X-Forwarded-For and a valid sticky cookie. */
async function visitorHeaders(userId: string, bucket: number, secret: string): Promise<Record<string, string>> {
  const sticky = `${STICKY_COOKIE}=${encodeURIComponent(await sign(stickyValue(ROLLOUT_ID, bucket), secret))}`;
  return {
    "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36",
    accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "en-GB,en;q=0.9,de;q=0.8",
    "accept-encoding": "gzip, deflate, br",
    cookie: `_ga=GA1.2.1234567890.1700000000; session=3f9a1c2e7b; plan=free; ${sticky}`,
    "x-user-id": userId,
    "x-tier": "standard",
    "cf-connecting-ip": "203.0.113.7",
    "x-forwarded-for": "198.51.100.1",
  };
}
