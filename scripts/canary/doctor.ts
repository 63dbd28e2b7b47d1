// canary doctor's judgement: what a deployment's answers (doctor-probe.ts fetches them) say about each of its nine checks, with a fix for each failure.
import { COLOURS, type Colour, otherColour } from "../../worker/core/colours.ts";

/** One HTTP answer as the doctor keeps it (redirects are not followed), or why there was none. */
export type Answer =
  | { status: number; headers: Record<string, string>; setCookies: string[]; body: string; json?: unknown }
  | { error: string };

/** How the doctor forced a colour: the override parameter (open policy) or a join link the control Worker signed. */
export interface Forced {
  via: "param" | "join-link";
  /** The join link's mint (POST join-link), when that is the way. */
  minted?: Answer;
  /** The site's answer to the forcing request; missing when the link could not be minted. */
  answer?: Answer;
}

/** Everything the checks look at: the answers of one doctor run. */
export interface Facts {
  site: string;
  canaryPath: string;
  /** Whether an admin token was given (never the token itself). */
  token: boolean;
  /** GET / as a new visitor. */
  home: Answer;
  /** GET <CANARY_PATH>/, the tester page: the control Worker's, handed over by the edge. */
  tester: Answer;
  /** GET <CANARY_PATH>/api/rules with the token; missing without one, or when it was not sent (`notSent`). */
  rules?: Answer;
  /** Why the token was not sent although given: the unauthenticated answers did not show the edge and the control Worker. */
  notSent?: { why: string; check: 1 | 2 };
  /** GET /rules read again a moment later, because KV's mirror was behind the head the first time (check 7). */
  rulesAgain?: Answer;
  /** GET <CANARY_PATH>/admin on the site. */
  adminPage: Answer;
  /** The dashboard's own URL (--dashboard-url, the stack file, or where the site redirects) and its answer. */
  dashboard?: { url: string; given: boolean; answer: Answer; root?: Answer };
  /** A join link for the canary colour, minted by the control Worker and followed at the edge (check 6). */
  joinLink?: Forced & { colour: Colour };
  /** Each colour forced once (check 8). */
  forced: Partial<Record<Colour, Forced>>;
}

export type Level = "ok" | "warn" | "fail";

export interface Verdict {
  check: number;
  name: string;
  level: Level;
  says: string;
  fix?: string;
}

/** The admin API's answer to GET /rules, as far as the checks read it. */
interface RulesAnswer {
  revision: number;
  rules: { stable: Colour; overrides: "open" | "signed" | "off"; origins: Record<Colour, { url?: string; service?: string }> } | null;
  issues?: { path: string; message: string }[];
  serving: { source: string | null; revision: number | null } | null;
  propagation?: {
    head: { revision: number; committedAt: string | null; reached: number; colos: number };
    colos: { colo: string; revision: number; seenAt: string }[];
    kvRefused?: string | null;
    mirrored?: number;
  };
}

const ok = (says: string): Omit<Verdict, "check" | "name"> => ({ level: "ok", says });
const warn = (says: string, fix?: string): Omit<Verdict, "check" | "name"> => ({ level: "warn", says, fix });
const fail = (says: string, fix: string): Omit<Verdict, "check" | "name"> => ({ level: "fail", says, fix });

const VERSION_HEADER = "x-canary-version";
/** How long the probe waits before reading GET /rules again when KV's mirror was behind (a mirror in flight, KV's one write a second). */
export const MIRROR_RETRY_MS = 2_000;
const MIRROR_RETRY_S = MIRROR_RETRY_MS / 1000;
const OVERRIDE_COOKIE = "__Host-canary-force=";
const TOKEN_FIX = "set CANARY_ADMIN_TOKEN to the control Worker's ADMIN_TOKEN (npm run setup wrote it to .wrangler/edge-canary-admin-token)";

/** The nine checks, in the order they are printed; each reads the facts only. */
export const CHECKS: { name: string; judge: (f: Facts) => Omit<Verdict, "check" | "name"> }[] = [
  { name: "edge answers", judge: edgeAnswers },
  { name: "control Worker", judge: controlReached },
  { name: "admin token", judge: adminToken },
  { name: "authority, beacon", judge: authorityHeard },
  { name: "Cache API", judge: cacheApi },
  { name: "shared secret", judge: sharedSecret },
  { name: "KV mirror", judge: kvMirror },
  { name: "origins", judge: origins },
  { name: "dashboard host", judge: dashboardHost },
];

export function judge(facts: Facts): Verdict[] {
  return CHECKS.map((c, i) => ({ check: i + 1, name: c.name, ...c.judge(facts) }));
}

/** One line per check: level, number, name, what was seen, and the fix. */
export function lines(verdicts: Verdict[]): string[] {
  return verdicts.map((v) => `${v.level.toUpperCase().padEnd(4)}  ${v.check}. ${v.name.padEnd(18)} ${v.says}${v.fix ? ` — fix: ${v.fix}` : ""}`);
}

/** 1. The site answers through the edge Worker: it stamps x-canary-version on every visitor's answer. */
function edgeAnswers(f: Facts) {
  const a = f.home;
  if ("error" in a) return fail(`cannot reach ${f.site}: ${a.error}`, "check the URL (--url or CANARY_URL), its DNS, and that the site is up");
  const version = a.headers[VERSION_HEADER];
  if (stamped(a)) return ok(`GET / answered ${a.status}, served by ${version} (x-canary-version)`);
  return fail(
    `GET / answered ${a.status} without x-canary-version: the edge Worker is not in front of ${f.site}`,
    "route the edge Worker to this host (routes in wrangler.toml, or npm run setup -- --route 'www.example.com/*' …) and npm run deploy",
  );
}

/** 2. A request under CANARY_PATH reaches the control Worker through the edge's CONTROL binding. */
function controlReached(f: Facts) {
  const a = f.tester;
  if ("error" in a) return fail(`cannot reach ${f.site}${f.canaryPath}/: ${a.error}`, "see check 1");
  const down = controlDown(a);
  if (down) return fail(down.says, down.fix);
  if (a.status < 300 && fromControl(a)) return ok(`GET ${f.canaryPath}/ answered ${a.status} from the control Worker (the tester page)`);
  if (!stamped(f.home)) return fail(`GET ${f.canaryPath}/ answered ${a.status}, not from the control Worker`, "see check 1: the edge is not in front of the site");
  return fail(
    `GET ${f.canaryPath}/ answered ${a.status} without the control Worker's headers: the request did not reach it`,
    `CANARY_PATH must be the same in wrangler.toml, worker/control/wrangler.toml and this CLI's environment (now ${f.canaryPath}), and the edge's route must cover it`,
  );
}

/** Every answer of the control Worker forbids framing (worker/control/index.ts); an origin's page behind the same path need not. */
export function fromControl(a: Answer): boolean {
  return !("error" in a) && /frame-ancestors 'none'/.test(a.headers["content-security-policy"] ?? "");
}

/** Whether the edge stamped this answer with the colour it served. */
export function stamped(a: Answer): boolean {
  return !("error" in a) && COLOURS.includes(a.headers[VERSION_HEADER] as Colour);
}

/**
 * A 5xx under CANARY_PATH that is not the control Worker's own: the edge's hand-over failed (its 503
 * `unavailable` or 504 `control_timeout`, worker/edge/index.ts), or the binding itself answered.
 */
function controlDown(a: Answer): { says: string; fix: string } | undefined {
  if ("error" in a || a.status < 500 || fromControl(a)) return undefined;
  const body = a.json as { error?: string; message?: string } | undefined;
  const why = `${a.status}: ${body?.message ?? firstLine(a.body)}`;
  if (a.status === 504 && body?.error === "control_timeout") {
    return { says: `the control Worker did not answer in time (${why})`, fix: "look for its errors: npx wrangler tail edge-canary-control" };
  }
  return {
    says: `the edge could not reach the control Worker (${why})`,
    fix: "deploy it (npm run deploy deploys edge-canary-control first), check that the CONTROL service binding in wrangler.toml names it, and look for its errors: npx wrangler tail edge-canary-control",
  };
}

/**
 * GET /rules' body when the admin API answered it, else why not: in full for check 3 (`own`), in
 * short with a pointer for the checks that only needed the answer (no token: each says how to give one).
 */
function rulesAnswer(f: Facts, own = false): { body: RulesAnswer } | { says: string; fix: string } {
  const a = f.rules;
  if (!a && f.notSent) return { says: `not sent: ${f.notSent.why}`, fix: `see check ${f.notSent.check}` };
  if (!a) return { says: "needs the admin API, and no admin token was given", fix: TOKEN_FIX };
  if ("error" in a) return { says: `cannot reach the admin API: ${a.error}`, fix: "see check 1" };
  if (a.status === 200 && fromControl(a) && typeof a.json === "object" && a.json !== null) return { body: a.json as RulesAnswer };
  const down = controlDown(a);
  if (down) return { says: `the control Worker did not answer (${a.status})`, fix: "see check 2" };
  const body = a.json as { error?: string; message?: string } | undefined;
  const problem =
    a.status === 401
      ? { says: `the admin API refused the token (401 ${body?.error ?? ""})`, fix: "CANARY_ADMIN_TOKEN must equal the control Worker's ADMIN_TOKEN secret (npx wrangler secret put ADMIN_TOKEN -c worker/control/wrangler.toml sets a new one)" }
      : a.status === 403 && body?.error === "admin_disabled"
        ? { says: "the admin API is off: the control Worker has no ADMIN_TOKEN (403 admin_disabled)", fix: "npx wrangler secret put ADMIN_TOKEN -c worker/control/wrangler.toml, then use that value as CANARY_ADMIN_TOKEN" }
        : { says: `GET ${f.canaryPath}/api/rules answered ${a.status}${body?.error ? ` ${body.error}: ${body.message ?? ""}` : fromControl(a) ? " without the admin API's JSON" : ", not from the control Worker"}`, fix: "see checks 1 and 2" };
  return own ? problem : { says: `the admin API did not answer GET /rules (${a.status}${body?.error ? ` ${body.error}` : ""})`, fix: "see check 3" };
}

/** 3. The admin credentials work. */
function adminToken(f: Facts) {
  const view = rulesAnswer(f, true);
  if ("body" in view) return ok(`GET ${f.canaryPath}/api/rules answered 200 with the token (rules at revision ${view.body.revision})`);
  return fail(view.says, view.fix);
}

/** 4. The release authority answers, has a valid document, and edge colos ask it (the beacon); the answering edge isolate is not on the fallback. */
function authorityHeard(f: Facts) {
  const view = rulesAnswer(f);
  if (!("body" in view)) return fail(view.says, view.fix);
  const { rules, revision, issues, serving, propagation: p } = view.body;
  if (!p) return fail("GET /rules has no propagation report: the control Worker is older than this CLI", "npm run deploy");
  if (!rules) {
    return fail(`the authority has no valid rules document (revision ${revision}: ${issues?.[0]?.message ?? "none"})`, "write one through the authority: npm run canary -- rules set <file> --url … (npm run setup seeds one)");
  }
  if (serving?.source === "fallback") {
    return fail("the edge isolate that answered has never read valid rules: it sends everyone to FALLBACK_ORIGIN", "see check 7, and the edge's logs: npx wrangler tail edge-canary");
  }
  if (p.colos.length === 0) {
    return fail(
      `the authority is at revision ${p.head.revision}, but no edge colo has asked it in the last 10 minutes: changes take KV's ~60 s instead of ~2 s`,
      "give the edge its RELEASE_AUTHORITY binding (wrangler.toml: class_name = \"ReleaseAuthority\", script_name = \"edge-canary-control\") and npm run deploy",
    );
  }
  const newest = p.colos.reduce((a, b) => (a.seenAt > b.seenAt ? a : b));
  const now = dateOf(f.rules);
  const age = Math.max(0, Math.round((now - Date.parse(newest.seenAt)) / 1000));
  return ok(`the authority is at revision ${p.head.revision}, routed by ${p.head.reached} of ${p.head.colos} colos; the last beacon (${newest.colo}) asked ${age} s ago`);
}

/** 5. The Cache API works on the site's host (it does nothing on workers.dev: every isolate then asks the authority itself). */
function cacheApi(f: Facts) {
  const host = hostOf(f.site);
  if (host.endsWith(".workers.dev") || host === "workers.dev") {
    return warn(
      `${host} is a workers.dev host: the Cache API does nothing there, so the colo's beacon is not shared and every isolate asks the authority itself`,
      "put the edge Worker on a route of your zone (routes in wrangler.toml, or npm run setup -- --route 'www.example.com/*' …)",
    );
  }
  return ok(`${host} is not a workers.dev host: the edge has the colo's Cache API for its beacon`);
}

/** 6. A join link the control Worker signs verifies at the edge: both Workers have the same CANARY_SECRET. */
function sharedSecret(f: Facts) {
  const view = rulesAnswer(f);
  if (!("body" in view)) return fail(`cannot mint a join link: ${view.says}`, view.fix);
  if (view.body.rules?.overrides === "off") return warn("overrides are off in the rules: the edge ignores join links, so the two Workers' CANARY_SECRET could not be compared");
  const link = f.joinLink;
  if (!link?.minted || "error" in link.minted) return fail(`cannot mint a join link: ${link?.minted && "error" in link.minted ? link.minted.error : "not asked"}`, "see checks 1 and 2");
  const minted = link.minted;
  const body = minted.json as { error?: string; message?: string; url?: string } | undefined;
  if (minted.status === 409 && body?.error === "no_secret") {
    return fail("the control Worker has no CANARY_SECRET: it cannot sign join links", "npm run setup (it puts one value on both Workers when only one has it)");
  }
  if (controlDown(minted)) return fail(`the control Worker did not answer POST join-link (${minted.status})`, "see check 2");
  if (minted.status !== 200 || !body?.url) return fail(`POST ${f.canaryPath}/api/join-link answered ${minted.status} ${body?.error ?? ""}`, "see checks 2 and 3");
  const a = link.answer;
  if (!a || "error" in a) return fail(`cannot follow the join link: ${a && "error" in a ? a.error : "not followed"}`, "see check 1");
  const pinned = a.setCookies.some((c) => c.startsWith(OVERRIDE_COOKIE) && !c.startsWith(`${OVERRIDE_COOKIE};`));
  if (pinned && a.headers[VERSION_HEADER] === link.colour) return ok(`a join link the control Worker signed pinned ${link.colour} at the edge (override cookie set)`);
  return fail(
    `the edge did not accept a join link the control Worker signed (served ${a.headers[VERSION_HEADER] ?? "nothing"}, ${pinned ? "override cookie set" : "no override cookie"}): the two Workers' CANARY_SECRET differ, or the edge has none`,
    "give both Workers one value (openssl rand -hex 32): npx wrangler secret put CANARY_SECRET, then the same value with npx wrangler secret put CANARY_SECRET -c worker/control/wrangler.toml",
  );
}

/** 7. KV's `rules` is the authority's head: its mirror is not behind, and no value written around it was refused since the head was committed. */
function kvMirror(f: Facts) {
  const view = rulesAnswer(f);
  if (!("body" in view)) return fail(view.says, view.fix);
  const p = view.body.propagation;
  if (!p) return fail("GET /rules has no propagation report: the control Worker is older than this CLI", "npm run deploy");
  const head = p.head.revision;
  const refused = /^(\S+Z): (.*)$/s.exec(p.kvRefused ?? "");
  const since = refused && (p.head.committedAt === null || refused[1]! >= p.head.committedAt);
  if (refused && since) {
    return fail(
      `a value written to KV around the authority was refused at ${refused[1]} (${refused[2]}): KV holds revision ${head} again, not what was written`,
      "make the change through the authority: npm run canary -- rules set <file> --url … (or ramp, revert …); a raw wrangler kv key put must be a valid document numbered above the head",
    );
  }
  if (p.mirrored === undefined) return warn(`the authority is at revision ${head}; its mirror's revision is not reported (the control Worker is older than this CLI)`, "npm run deploy");
  const older = refused ? ` (an older refusal, ${refused[1]}, is kept for the record)` : "";
  if (p.mirrored !== head) {
    // Normal for about a second after a write: the probe read again a moment later (rulesAgain).
    const again = f.rulesAgain && "json" in f.rulesAgain && f.rulesAgain.status === 200 ? (f.rulesAgain.json as RulesAnswer | undefined)?.propagation : undefined;
    if (again && again.mirrored === again.head.revision) return ok(`KV holds revision ${again.head.revision}, the authority's head (it was behind at first, ${p.mirrored} of ${head}, and caught up on a second read)${older}`);
    const later = again ? `, and still ${again.mirrored} of ${again.head.revision} on a second read ${MIRROR_RETRY_S} s later` : f.rulesAgain ? `; the second read ${MIRROR_RETRY_S} s later got no report` : "";
    return fail(
      `KV's mirror holds revision ${p.mirrored}, the authority is at ${head}${later}: its last mirror to KV failed (it is retried on the next beacon)`,
      "if it stays behind, look for authority_mirror_failed: npx wrangler tail edge-canary-control",
    );
  }
  return ok(`KV holds revision ${head}, the authority's head${older}`);
}

/** Whether GET /rules reports KV's mirror behind the authority's head (the probe then reads it again, check 7). */
export function mirrorBehind(a: Answer): boolean {
  const p = "json" in a && a.status === 200 ? (a.json as Partial<RulesAnswer> | undefined)?.propagation : undefined;
  return p?.mirrored !== undefined && p.mirrored !== p.head.revision;
}

/** 8. Each colour, forced, is served by its origin without a 5xx. */
function origins(f: Facts) {
  const view = rulesAnswer(f);
  const rules = "body" in view ? view.body.rules : null;
  const unknown = "body" in view ? undefined : view; // why the rules' overrides policy is not known
  if (rules?.overrides === "off") {
    const home = f.home;
    const seen = "error" in home ? "none" : `${home.headers[VERSION_HEADER] ?? "none"} (${home.status})`;
    return warn(`overrides are off in the rules, so no colour could be forced; GET / was served by ${seen}`);
  }
  const problems: string[] = [];
  const fixes = new Set<string>();
  const fine: string[] = [];
  for (const colour of COLOURS) {
    const origin = rules ? ` (${rules.origins[colour].url ?? `service ${rules.origins[colour].service}`})` : "";
    const forced = f.forced[colour];
    const a = forced?.answer;
    if (forced?.via === "join-link" && forced.minted && ("error" in forced.minted || forced.minted.status !== 200)) {
      problems.push(`${colour}: no join link to force it (${"error" in forced.minted ? forced.minted.error : forced.minted.status})`);
      fixes.add("see checks 2, 3 and 6");
    } else if (!forced || !a) {
      problems.push(`${colour}: not forced`);
      fixes.add("see check 3");
    } else if ("error" in a) {
      problems.push(`${colour}: cannot reach the site (${a.error})`);
      fixes.add("see check 1");
    } else if (!stamped(a)) {
      problems.push(`${colour}: answered ${a.status} without x-canary-version`);
      fixes.add("see check 1");
    } else if (a.headers[VERSION_HEADER] !== colour) {
      problems.push(`${colour}: could not be forced (served ${a.headers[VERSION_HEADER] ?? "nothing"})`);
      if (forced.via === "join-link") fixes.add("see check 6: the edge did not accept the join link");
      else if (unknown) fixes.add(`the rules' overrides policy is not known (${unknown.says}), so only ?__canary= was tried: ${unknown.fix}`);
      else fixes.add("the edge ignored ?__canary= under the open policy: see check 4");
    } else if (a.status >= 500) {
      problems.push(`${colour}${origin} answered ${a.status}: ${firstLine(a.body)}`);
      fixes.add(`bring the ${colour} origin back, or point origins.${colour} at one that answers (npm run canary -- rules set <file> --url …); a 502 or 504 is the edge's own: the origin could not be reached or was too slow`);
    } else {
      fine.push(`${colour}${origin} ${a.status}`);
    }
  }
  if (problems.length) return fail([...problems, ...fine.map((s) => `${s} ok`)].join("; "), [...fixes].join("; "));
  return ok(`forced, each colour answers: ${fine.join(", ")}`);
}

/** 9. The dashboard is not served on the site's origin (a script there could drive it): the site redirects to its own host, or it is off. */
function dashboardHost(f: Facts) {
  const a = f.adminPage;
  const path = `${f.canaryPath}/admin`;
  if ("error" in a) return fail(`cannot reach ${f.site}${path}: ${a.error}`, "see check 1");
  const down = controlDown(a);
  if (down) return fail(`cannot tell: the control Worker did not answer (${a.status})`, "see check 2");
  const onSite = `the site serves the release dashboard itself (GET ${path} answered ${a.status}): a script on the site could read it and post with an operator's session`;
  const ownHost = "set DASHBOARD_HOST to a host of its own (canary.example.com) routed to the control Worker as a custom domain: npm run setup -- --dashboard-host canary.example.com writes both into worker/control/wrangler.toml and deploys";
  const location = a.headers.location;
  const root = f.dashboard?.given ? f.dashboard.root : undefined;
  if (root && stamped(root)) {
    const origin = new URL(f.dashboard!.url).origin;
    return fail(
      `GET ${origin}/ answered with x-canary-version (${(root as { headers: Record<string, string> }).headers[VERSION_HEADER]}): the edge, and so the site's origins, serve the dashboard's host`,
      "narrow the edge's route (routes in wrangler.toml) so it does not cover the dashboard's host (a wildcard such as *.example.com/* does), then npm run deploy",
    );
  }
  if (a.status >= 300 && a.status < 400 && location) {
    const target = new URL(location, f.site);
    if (target.host === hostOf(f.site, true)) return fail(`GET ${path} redirects to ${target.href}: the dashboard is on the site's own host`, ownHost);
    const given = f.dashboard?.given ? f.dashboard : undefined;
    if (given && new URL(given.url).host !== target.host) {
      return fail(`the site sends operators to ${target.origin}, not to the dashboard given (${new URL(given.url).origin})`, "DASHBOARD_HOST (worker/control/wrangler.toml) must name the dashboard's host: npm run setup -- --dashboard-host <that host>");
    }
    const there = f.dashboard?.answer;
    if (there && ("error" in there || !(there.status === 200 || there.status === 401))) {
      return warn(`the site redirects to ${target.origin}, but the dashboard there did not answer (${"error" in there ? there.error : there.status})`, "give the control Worker that host as a custom domain: npm run setup -- --dashboard-host <that host> (routes in worker/control/wrangler.toml)");
    }
    return ok(`the site redirects ${path} to ${target.origin}${there ? `, where the dashboard answers (${"error" in there ? "?" : there.status})` : ""}`);
  }
  if (a.status === 404) {
    const off = (a.json as { error?: string } | undefined)?.error === "dashboard_off" || /DASHBOARD_HOST/.test(a.body);
    if (off) return warn(`the dashboard is off (DASHBOARD_HOST is empty): ${path} answers 404 on the site`, ownHost);
    return ok(`${path} answers 404 on the site: no dashboard there`);
  }
  if (!fromControl(a)) return ok(`GET ${path} answered ${a.status}, not from the control Worker: no dashboard there`);
  return fail(onSite, ownHost);
}

/** The verdicts with every occurrence of `secret` replaced: no printed line may carry the admin token. */
export function scrubbed(verdicts: Verdict[], secret: string | undefined): Verdict[] {
  if (!secret) return verdicts;
  const clean = (text: string) => text.split(secret).join("[the admin token]");
  return verdicts.map((v) => ({ ...v, says: clean(v.says), ...(v.fix === undefined ? {} : { fix: clean(v.fix) }) }));
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]!.slice(0, 120);
}

/** The host of a URL (with its port when `withPort`), lower case. */
function hostOf(url: string, withPort = false): string {
  const parsed = new URL(url);
  return withPort ? parsed.host : parsed.hostname;
}

/** When an answer was made, by its Date header (the server's clock, not this machine's), else now. */
function dateOf(a: Answer | undefined): number {
  const date = a && !("error" in a) ? Date.parse(a.headers.date ?? "") : NaN;
  return Number.isNaN(date) ? Date.now() : date;
}

/** Which colour a join link should pin to test the secret: the canary colour (the one visitors mostly do not get). */
export function canaryColour(rules: { stable?: Colour } | null | undefined): Colour {
  return otherColour(rules?.stable ?? "blue");
}
