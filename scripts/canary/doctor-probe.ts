// canary doctor's requests: the few HTTP calls a doctor run makes, kept apart from the judging (doctor.ts) so that stays pure.
import { COLOURS, type Colour } from "../../worker/core/colours.ts";
import { type Answer, canaryColour, type Facts, type Forced, fromControl, MIRROR_RETRY_MS, mirrorBehind, stamped } from "./doctor.ts";

export interface Target {
  site: string;
  canaryPath: string;
  token?: string;
  dashboardUrl?: string;
}

/** Longer than the edge's own CONTROL_TIMEOUT_MS (30 s by default): a hanging control Worker shows as the edge's 504. */
const REQUEST_TIMEOUT_MS = 40_000;

/**
 * Why the admin token must not be sent, or undefined when it may: only once the unauthenticated answers
 * show the edge stamping GET / and the control Worker answering under the canary path. The edge forwards
 * Authorization to origins, so anything else (an origin at --url, another CANARY_PATH) could hand it to one.
 */
function withheld(home: Answer, tester: Answer, canaryPath: string): Facts["notSent"] {
  if (!stamped(home)) return { why: "GET / was not served by the edge (check 1), so the admin token could reach an origin", check: 1 };
  if ("error" in tester || tester.status >= 300 || !fromControl(tester)) {
    return { why: `GET ${canaryPath}/ was not the control Worker's answer (check 2), so the admin token could reach an origin`, check: 2 };
  }
  return undefined;
}

/** Asks the deployment what the checks need; never throws (a failed request is an Answer with its error). */
export async function probe(target: Target): Promise<Facts> {
  const site = target.site.replace(/\/+$/, "");
  const path = `${site}${target.canaryPath}`;
  const admin = (method: string, endpoint: string, body?: unknown) =>
    get(`${path}/api${endpoint}`, { method, body, headers: { authorization: `Bearer ${target.token}` } });

  const home = await get(`${site}/`); // first: a visitor's request, so this colo's edge asks the authority (the beacon check reads that)
  const [tester, adminPage] = await Promise.all([get(`${path}/`), get(`${path}/admin`, { headers: { accept: "text/html" } })]);
  // The token goes out only after the unauthenticated answers show the edge and the control Worker behind it.
  const notSent = target.token ? withheld(home, tester, target.canaryPath) : undefined;
  const rules = target.token && !notSent ? await admin("GET", "/rules") : undefined;
  const ruleSet = rules && "json" in rules && rules.status === 200 ? (rules.json as { rules?: { stable?: Colour; overrides?: string } | null } | undefined)?.rules : undefined;
  const policy = ruleSet?.overrides;

  /** A colour forced as a new visitor would: the plain parameter, or a join link the control Worker signs. */
  const force = async (colour: Colour, way: Forced["via"]): Promise<Forced> => {
    if (way === "param") return { via: way, answer: await get(`${site}/?__canary=${colour}`) };
    const minted = await admin("POST", "/join-link", { colour, ttlSeconds: 60 });
    const url = "json" in minted && minted.status === 200 ? (minted.json as { url?: string } | undefined)?.url : undefined;
    return { via: way, minted, answer: url ? await get(url) : undefined };
  };
  // The signed policy needs a join link; the open one (or one not known: no admin API) takes the plain parameter.
  const way: Forced["via"] | undefined = policy === "off" ? undefined : policy === "signed" ? "join-link" : "param";
  const redirect = !("error" in adminPage) && adminPage.status >= 300 && adminPage.status < 400 ? adminPage.headers.location : undefined;
  const dashboardUrl = target.dashboardUrl ?? (redirect ? new URL(redirect, site).href : undefined);
  const joinColour = canaryColour(ruleSet);
  // A mirror behind the head is normal for about a second after a write: read once more after a short wait.
  const rulesAgain = rules && mirrorBehind(rules) ? sleep(MIRROR_RETRY_MS).then(() => admin("GET", "/rules")) : undefined;
  const [joinLink, dashboard, dashboardRoot, again, ...forced] = await Promise.all([
    ruleSet && policy !== "off" ? force(joinColour, "join-link") : undefined,
    dashboardUrl ? get(dashboardUrl, { headers: { accept: "text/html" } }) : undefined,
    // The dashboard's host given: does the edge (and so the site's origins) answer there too? No credentials.
    target.dashboardUrl ? get(`${new URL(target.dashboardUrl).origin}/`) : undefined,
    rulesAgain,
    ...COLOURS.map((colour) => (way ? force(colour, way) : undefined)),
  ]);
  return {
    site,
    canaryPath: target.canaryPath,
    token: Boolean(target.token),
    home,
    tester,
    rules,
    ...(notSent ? { notSent } : {}),
    ...(again ? { rulesAgain: again } : {}),
    adminPage,
    dashboard: dashboardUrl && dashboard ? { url: dashboardUrl, given: target.dashboardUrl !== undefined, answer: dashboard, ...(dashboardRoot ? { root: dashboardRoot } : {}) } : undefined,
    joinLink: joinLink && { ...joinLink, colour: joinColour },
    forced: Object.fromEntries(COLOURS.flatMap((colour, i) => (forced[i] ? [[colour, forced[i]]] : []))),
  };
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** One request as a new visitor (no cookies), redirects not followed; the answer's body read whole. */
async function get(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  try {
    const response = await fetch(url, {
      method: init.method ?? "GET",
      headers: { ...init.headers, ...(init.body === undefined ? {} : { "content-type": "application/json" }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {}
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => (headers[key] = value));
    return { status: response.status, headers, setCookies: response.headers.getSetCookie(), body, json };
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    return { error: cause };
  }
}
