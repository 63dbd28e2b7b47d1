// canary doctor against real local stacks: healthy, then each fault injected, each failing its own check with its fix printed.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { judge, scrubbed, type Verdict } from "../../scripts/canary/doctor.ts";
import { probe } from "../../scripts/canary/doctor-probe.ts";
import { wrangler } from "../../scripts/wrangler.ts";
import { startFaultyStack, type FaultyStack } from "./doctor-stack.ts";
import { budget, canary, releaseDoc, type Run } from "./helpers.ts";

/** One printed line per check: level, number, name, what was seen, and its fix. */
const LINE = /^(OK|WARN|FAIL)\s+(\d)\. .{18} (.*?)(?: — fix: (.*))?$/;

interface Line {
  level: string;
  says: string;
  fix?: string;
}

/** The doctor's nine lines, by check number; the run must print exactly nine. */
function checks(run: Run): Record<number, Line> {
  const found = run.stdout.split("\n").map((line) => LINE.exec(line)).filter((m) => m !== null);
  expect(found.map((m) => Number(m[2])), `${run.stdout}\n${run.stderr}`).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  return Object.fromEntries(found.map((m) => [Number(m[2]), { level: m[1]!, says: m[3]!, fix: m[4] }]));
}

/** The numbers of the checks at `level`. */
function at(run: Run, level: "FAIL" | "WARN"): number[] {
  return Object.entries(checks(run)).filter(([, line]) => line.level === level).map(([n]) => Number(n));
}

/** `canary doctor` against `url`, with this token (none by default), as an operator runs it. */
function doctor(url: string, token = "", extra: string[] = []): Promise<Run> {
  return canary(["doctor", "--url", url, ...extra], { CANARY_ADMIN_TOKEN: token });
}

/** Writes rules through the admin API of the stack at `url`; a new revision every time (the head is committed after anything earlier). */
async function putRules(url: string, token: string, document: unknown): Promise<void> {
  const response = await fetch(`${url}/__canary/api/rules`, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(document) });
  expect(response.status, await response.text()).toBe(200);
}

const doctorRun = () => budget({ otherMs: 10_000 });

/** A stand-in origin on 127.0.0.1 that answers 200 to everything and keeps every request's path and headers. */
async function recordingOrigin(): Promise<{ url: string; seen: { path: string; headers: IncomingHttpHeaders }[]; close(): Promise<void> }> {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((request, response) => {
    seen.push({ path: request.url ?? "", headers: request.headers });
    response.end("an origin\n");
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((done) => server.close(() => done())) };
}

describe("canary doctor refuses, before any request", () => {
  it("a --url with a path, or http:// to a host that is not loopback", async () => {
    for (const url of ["https://www.example.com/shop", "http://www.example.com", "http://10.0.0.1:8787"]) {
      const run = await doctor(url, "a-token");
      expect(run.code, `${url}: ${run.stderr}`).toBe(2);
      expect(run.stdout).toBe("");
    }
    expect((await doctor("https://www.example.com/shop", "a-token")).stderr).toContain("--url must be the site's root");
    expect((await doctor("http://www.example.com", "a-token")).stderr).toContain("cleartext");
  });

  it("an admin token a header cannot carry, without printing it", async () => {
    const secret = "s3cret-token-value";
    for (const token of [`${secret}\n`, `${secret}\r\nx: y`, `${secret}\u0001`, `${secret} two`]) {
      const run = await doctor("https://www.example.com", token);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain("has characters a header cannot carry");
      expect(run.stdout + run.stderr).not.toContain(secret);
    }
  });
});

describe("canary doctor on the shared stack", () => {
  const url = () => inject("workerUrl");
  const token = () => inject("adminToken");

  beforeEach(async () => {
    await putRules(url(), token(), { ...releaseDoc(0, `doctor-${Date.now()}`), overrides: "signed" });
  });

  it("passes every check on a healthy stack, one line each, and exits 0", async () => {
    const run = await doctor(url(), token());
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const lines = checks(run);
    expect(Object.values(lines).map((l) => l.level)).toEqual(Array(9).fill("OK"));
    expect(lines[6]!.says).toMatch(/pinned green at the edge/); // the signed policy: checks 6 and 8 went through join links
    expect(lines[9]!.says).toContain(new URL(inject("dashboardOrigin")).host);
    expect(run.stderr).toMatch(/doctor: 9 checks, 0 failed, 0 warnings/);
  }, doctorRun());

  it("needs no flags for a local stack: its state folder gives the site, its local token and its dashboard", async () => {
    await putRules(url(), token(), { ...releaseDoc(0, `doctor-open-${Date.now()}`), overrides: "open" }); // the plain ?__canary= way this time
    // An exported token (production's, say) does not win over the local stack's own.
    const run = await canary(["doctor", "--persist-to", inject("persistTo")], { CANARY_ADMIN_TOKEN: "a-production-token" });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(at(run, "FAIL")).toEqual([]);
    expect(run.stderr).toContain(`→ ${url()} (the local stack in `);
  }, doctorRun());

  it("without a token: the admin checks say how to give one, the others still run", async () => {
    const run = await doctor(url());
    expect(run.code).toBe(1);
    expect(at(run, "FAIL")).toEqual([3, 4, 6, 7, 8]); // 8: the signed policy needs a join link, which needs the admin API
    const lines = checks(run);
    for (const n of [3, 4, 6, 7, 8]) expect(lines[n]!.fix).toContain("set CANARY_ADMIN_TOKEN");
  }, doctorRun());

  it("with a wrong token: the admin token check fails with its fix, the checks that needed the API point at it", async () => {
    const run = await doctor(url(), "not-the-admin-token");
    expect(run.code).toBe(1);
    const lines = checks(run);
    expect(lines[3]).toMatchObject({ level: "FAIL", says: expect.stringContaining("refused the token (401"), fix: expect.stringContaining("CANARY_ADMIN_TOKEN must equal the control Worker's ADMIN_TOKEN") });
    for (const n of [4, 6, 7]) expect(lines[n]).toMatchObject({ level: "FAIL", fix: "see check 3" });
    expect([1, 2, 5, 9].map((n) => lines[n]!.level)).toEqual(["OK", "OK", "OK", "OK"]);
  }, doctorRun());

  it("pointed at an origin instead of the edge: the edge check fails with its fix, and the origin never gets the token", async () => {
    const origin = await recordingOrigin();
    try {
      const run = await doctor(origin.url, token());
      expect(origin.seen.length).toBeGreaterThan(0);
      expect(origin.seen.filter((r) => r.headers.authorization !== undefined).map((r) => r.path)).toEqual([]);
      expect(run.code).toBe(1);
      const lines = checks(run);
      expect(lines[1]).toMatchObject({ level: "FAIL", says: expect.stringContaining("without x-canary-version"), fix: expect.stringContaining("route the edge Worker to this host") });
      expect(lines[2]).toMatchObject({ level: "FAIL", fix: expect.stringContaining("see check 1") });
      expect(lines[3]).toMatchObject({ level: "FAIL", says: expect.stringContaining("not sent: GET / was not served by the edge"), fix: "see check 1" });
      expect(lines[5]!.level).toBe("OK");
    } finally {
      await origin.close();
    }
  }, doctorRun());

  it("with another CANARY_PATH than the deployment's: the token is not sent, so the edge cannot forward it to an origin", async () => {
    const [origin, other] = await Promise.all([recordingOrigin(), recordingOrigin()]);
    try {
      await putRules(url(), token(), { ...releaseDoc(0, `doctor-path-${Date.now()}`), origins: { blue: { url: origin.url }, green: { url: other.url } }, overrides: "signed" });
      const run = await canary(["doctor", "--url", url()], { CANARY_ADMIN_TOKEN: token(), CANARY_PATH: "/__elsewhere" });
      expect(origin.seen.some((r) => r.path.startsWith("/__elsewhere/"))).toBe(true); // the edge did hand those paths to the origin
      expect([...origin.seen, ...other.seen].filter((r) => r.headers.authorization !== undefined).map((r) => r.path)).toEqual([]);
      expect(run.code).toBe(1);
      const lines = checks(run);
      expect(lines[1]!.level).toBe("OK");
      expect(lines[2]).toMatchObject({ level: "FAIL", fix: expect.stringContaining("CANARY_PATH must be the same") });
      expect(lines[3]).toMatchObject({ level: "FAIL", says: expect.stringContaining("not sent: GET /__elsewhere/ was not the control Worker's answer"), fix: "see check 2" });
    } finally {
      await Promise.all([origin.close(), other.close()]);
    }
  }, doctorRun());

  it("a --dashboard-url whose host the edge also serves fails the dashboard check with its fix", async () => {
    const run = await doctor(url(), token(), ["--dashboard-url", `${url()}/__canary/admin`]);
    expect(run.code).toBe(1);
    expect(at(run, "FAIL")).toEqual([9]);
    expect(checks(run)[9]).toMatchObject({ says: expect.stringContaining("the edge, and so the site's origins, serve the dashboard's host"), fix: expect.stringContaining("narrow the edge's route") });
  }, doctorRun());

  it("a rules value put in KV around the authority and refused fails the KV mirror check only, until a write through the authority", async () => {
    const put = await wrangler(["kv", "key", "put", "rules", '{"stable": "purple"}', "--binding", "CANARY_KV", "--local", "--persist-to", inject("persistTo")]);
    expect(put.code, put.stderr).toBe(0);
    const run = await doctor(url(), token());
    expect(run.code).toBe(1);
    expect(at(run, "FAIL")).toEqual([7]);
    expect(checks(run)[7]).toMatchObject({ says: expect.stringMatching(/refused at .*\$\.stable/), fix: expect.stringContaining("make the change through the authority") });

    await putRules(url(), token(), { ...releaseDoc(0, `doctor-after-${Date.now()}`), overrides: "signed" });
    const again = await doctor(url(), token());
    expect(again.code, again.stdout).toBe(0);
    expect(checks(again)[7]!.says).toMatch(/an older refusal, .* is kept for the record/);
  }, budget({ wrangler: 1, otherMs: 20_000 }));

  it("an origin that does not answer fails the origins check only, naming it", async () => {
    const green = "http://127.0.0.1:9"; // the discard port: nothing listens
    await putRules(url(), token(), { ...releaseDoc(0, `doctor-down-${Date.now()}`), origins: { blue: { url: inject("blueOrigin") }, green: { url: green } }, overrides: "signed" });
    const run = await doctor(url(), token());
    expect(run.code).toBe(1);
    expect(at(run, "FAIL")).toEqual([8]);
    expect(checks(run)[8]).toMatchObject({ says: expect.stringContaining(`green (${green}) answered 502`), fix: expect.stringContaining("bring the green origin back") });
  }, doctorRun());
});

describe("canary doctor's judgement (pure: a healthy run's answers, one fact changed)", () => {
  let healthy: Awaited<ReturnType<typeof probe>>;
  beforeAll(async () => {
    await putRules(inject("workerUrl"), inject("adminToken"), { ...releaseDoc(0, `doctor-pure-${Date.now()}`), overrides: "signed" });
    healthy = await probe({ site: inject("workerUrl"), canaryPath: "/__canary", token: inject("adminToken"), dashboardUrl: undefined });
  }, doctorRun());
  const failing = (verdicts: Verdict[], level = "fail") => verdicts.filter((v) => v.level === level).map((v) => v.check);
  /** The healthy facts with GET /rules' propagation (or serving) changed. */
  const withRules = (change: (body: { propagation: any; serving: any }) => void) => {
    const facts = structuredClone(healthy);
    change((facts.rules as { json: { propagation: any; serving: any } }).json);
    return facts;
  };

  it("the healthy answers pass", () => {
    expect(judge(healthy).map((v) => v.level)).toEqual(Array(9).fill("ok"));
  });

  it("warns on a workers.dev host, where the Cache API does nothing", () => {
    const verdicts = judge({ ...healthy, site: "https://edge-canary.example.workers.dev" });
    expect([failing(verdicts), failing(verdicts, "warn")]).toEqual([[], [5]]);
    expect(verdicts[4]!.fix).toContain("route of your zone");
  });

  it("fails the KV mirror check when KV's mirror is behind the head", () => {
    const verdicts = judge(withRules((body) => (body.propagation.mirrored = body.propagation.head.revision - 1)));
    expect(failing(verdicts)).toEqual([7]);
    expect(verdicts[6]!.fix).toContain("authority_mirror_failed");
  });

  it("passes the KV mirror check when the mirror caught up on the second read, and fails it, saying so, when it did not", () => {
    const behind = withRules((body) => (body.propagation.mirrored = body.propagation.head.revision - 1));
    const caughtUp = judge({ ...behind, rulesAgain: healthy.rules });
    expect(failing(caughtUp)).toEqual([]);
    expect(caughtUp[6]!.says).toMatch(/caught up on a second read/);
    const still = judge({ ...behind, rulesAgain: behind.rules });
    expect(failing(still)).toEqual([7]);
    expect(still[6]!.says).toMatch(/and still \d+ of \d+ on a second read 2 s later/);
  });

  it("the admin checks say the token was not sent when the edge or the control Worker was not seen", () => {
    const verdicts = judge({ ...healthy, rules: undefined, notSent: { why: "GET / was not served by the edge (check 1), so the admin token could reach an origin", check: 1 } });
    expect(failing(verdicts)).toEqual([3, 4, 6, 7]);
    for (const n of [3, 4, 7]) expect(verdicts[n - 1]).toMatchObject({ says: expect.stringContaining("not sent: GET / was not served by the edge"), fix: "see check 1" });
  });

  it("no printed line carries the admin token", () => {
    const token = "tok-123";
    const verdicts = judge({ ...healthy, rules: { error: `Headers.append: "Bearer ${token}" is an invalid header value` } });
    expect(JSON.stringify(verdicts)).toContain(token);
    const clean = scrubbed(verdicts, token);
    expect(JSON.stringify(clean)).not.toContain(token);
    expect(clean[2]!.says).toContain('"Bearer [the admin token]"');
  });

  it("fails the authority check when no colo asked the authority, or the edge is on the fallback", () => {
    expect(failing(judge(withRules((body) => (body.propagation.colos = []))))).toEqual([4]);
    expect(failing(judge(withRules((body) => (body.serving.source = "fallback"))))).toEqual([4]);
  });
});

describe("canary doctor on a second stack whose Workers have different CANARY_SECRETs and whose dashboard is on the site", () => {
  let stack: FaultyStack;
  beforeAll(async () => {
    stack = await startFaultyStack({ edgeSecret: "edge-secret", controlSecret: "another-secret", dashboardHost: "site" }, inject("ports"), inject("blueOrigin"), budget({ devStarts: 1 }));
    await putRules(stack.url, stack.adminToken, { ...releaseDoc(0, "faulty"), overrides: "open" }); // open: the origins check forces colours without a join link
  }, budget({ devStarts: 1, otherMs: 5_000 }));
  afterAll(() => stack?.stop(), 30_000);

  it("fails exactly the shared-secret and dashboard-host checks, each with its fix", async () => {
    const run = await doctor(stack.url, stack.adminToken);
    expect(run.code).toBe(1);
    expect(at(run, "FAIL")).toEqual([6, 9]);
    const lines = checks(run);
    expect(lines[6]).toMatchObject({ says: expect.stringContaining("did not accept a join link"), fix: expect.stringContaining("npx wrangler secret put CANARY_SECRET -c worker/control/wrangler.toml") });
    expect(lines[9]).toMatchObject({ says: expect.stringContaining("the site serves the release dashboard itself"), fix: expect.stringContaining("set DASHBOARD_HOST") });
  }, doctorRun());
});

describe("canary doctor on a second stack whose edge has no RELEASE_AUTHORITY binding (and no dashboard host)", () => {
  let stack: FaultyStack;
  beforeAll(async () => {
    stack = await startFaultyStack({ edgeSecret: "one-secret", controlSecret: "one-secret", dashboardHost: "", noAuthority: true }, inject("ports"), inject("blueOrigin"), budget({ devStarts: 1 }));
    await putRules(stack.url, stack.adminToken, { ...releaseDoc(0, "kv-only"), overrides: "signed" });
  }, budget({ devStarts: 1, otherMs: 5_000 }));
  afterAll(() => stack?.stop(), 30_000);

  it("fails exactly the authority check with its fix, and warns that the dashboard is off", async () => {
    const run = await doctor(stack.url, stack.adminToken);
    expect(run.code).toBe(1);
    expect([at(run, "FAIL"), at(run, "WARN")]).toEqual([[4], [9]]);
    const lines = checks(run);
    expect(lines[4]).toMatchObject({ says: expect.stringContaining("no edge colo has asked it"), fix: expect.stringContaining("RELEASE_AUTHORITY binding") });
    expect(lines[9]!.says).toContain("the dashboard is off");
  }, doctorRun());
});

describe("canary doctor on a second stack whose edge's CONTROL binding names a Worker that is not there", () => {
  let stack: FaultyStack;
  beforeAll(async () => {
    stack = await startFaultyStack({ edgeSecret: "one-secret", controlSecret: "one-secret", dashboardHost: "", noControl: true }, inject("ports"), inject("blueOrigin"), budget({ devStarts: 1 }));
  }, budget({ devStarts: 1 }));
  afterAll(() => stack?.stop(), 30_000);

  it("fails the control Worker check with its fix; the checks that need it point there, the others pass", async () => {
    const run = await doctor(stack.url, stack.adminToken);
    expect(run.code).toBe(1);
    const lines = checks(run);
    expect(lines[2]).toMatchObject({ level: "FAIL", says: expect.stringContaining("the edge could not reach the control Worker (503"), fix: expect.stringContaining("CONTROL service binding") });
    for (const n of [3, 4, 6, 7, 9]) expect(lines[n]).toMatchObject({ level: "FAIL", fix: "see check 2" });
    expect(lines[8]!.fix).toContain("see check 2");
    expect([lines[1]!.level, lines[5]!.level]).toEqual(["OK", "OK"]);
  }, doctorRun());
});
