// Releases from a pipeline: docs/pipeline.md's release script run as written against the shared stack, and `release --wait`'s other endings.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { chmod, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { freePort } from "../../scripts/ports.ts";
import { PROJECT_ROOT } from "../../scripts/wrangler.ts";
import { sectionBlocks } from "./doc-blocks.ts";
import { budget, canary, file, greenShare, putRules, releaseDoc, rolloutStatus, TRANSPORTS } from "./helpers.ts";

const DOC = join(PROJECT_ROOT, "docs/pipeline.md");

/** The demo release with 10 s analysis windows (a failing canary is seen in one or two), and the plan and build header given, if any. */
function pipelineDoc(rolloutId: string, { steps, buildHeader, gate }: { steps?: { percent: number; dwellSeconds: number }[]; buildHeader?: string; gate?: string } = {}) {
  const doc = releaseDoc(0, rolloutId);
  const plan = steps && { steps, ...(gate && { gates: { beforeStart: { url: gate, timeoutSeconds: 10 } } }) };
  return { ...doc, rollout: { ...doc.rollout, analysis: { windowSeconds: 10, minRequests: 5, buildHeader }, ...(plan && { plan }) } };
}

/** The demo switch of a colour's origin: that share of its answers fail (0 heals it). */
async function failRate(colour: "blue" | "green", rate: number): Promise<void> {
  const origin = inject(colour === "blue" ? "blueOrigin" : "greenOrigin");
  expect((await fetch(`${origin}/__demo/fail?rate=${rate}`, { method: "POST" })).status).toBe(200);
}

/** Visitors (200 user IDs) keep coming until `stop`: the analysis needs traffic to judge, as a real site has. */
function visitors(): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      await Promise.all(Array.from({ length: 5 }, (_, j) => fetch(`${inject("workerUrl")}/`, { headers: { "x-user-id": `u${(i * 5 + j) % 200}` } }).then((r) => r.arrayBuffer(), () => null)));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { stop: async () => ((running = false), await loop) };
}

/**
 * A smoke-test gate, as a pipeline would run one: it checks the call's signature with the gate key
 * (from the admin API), opens the join link it was given through the edge, and says no-go (503).
 */
async function smokeGate() {
  const { key } = (await (await fetch(`${inject("workerUrl")}/__canary/api/rollout/gate-key`, { headers: { authorization: `Bearer ${inject("adminToken")}` } })).json()) as { key: string };
  const seen: { signed: boolean; colour: string | null; rolloutId: string }[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const body = JSON.parse(raw) as { rolloutId: string; joinLink: { url: string } };
    const expected = createHmac("sha256", key).update(`${req.headers["x-canary-timestamp"]}.${raw}`).digest("hex");
    const page = await fetch(body.joinLink.url, { redirect: "manual" });
    await page.arrayBuffer();
    const colour = page.headers.get("x-canary-version");
    seen.push({ signed: req.headers["x-canary-signature"] === `v1=${expected}`, colour, rolloutId: body.rolloutId });
    res.writeHead(503, { "content-type": "text/plain" });
    res.end(`smoke test failed: ${colour} answered the join link\n`);
  });
  const { first, last } = inject("ports");
  const port = await freePort(first + 80, last);
  await new Promise<void>((done) => server.listen(port, "127.0.0.1", done));
  onTestFinished(() => new Promise<void>((done) => server.close(() => done())));
  return { url: `http://127.0.0.1:${port}/smoke`, seen };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A process of its own group with the pipeline's environment (the project's Node first, no npm or CANARY_ variables of the runner's); killed when the test ends. */
function start(command: string, args: string[], env: Record<string, string>) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("npm_") && !key.startsWith("CANARY_") && key !== "INIT_CWD"));
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: { ...base, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, NO_COLOR: "1", WRANGLER_SEND_METRICS: "false", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const ran: Ran = { code: null, stdout: "", stderr: "" };
  child.stdout.on("data", (d) => (ran.stdout += d));
  child.stderr.on("data", (d) => (ran.stderr += d));
  const exited = new Promise<Ran>((done) => child.once("close", (code) => done({ ...ran, code })));
  onTestFinished(() => {
    try {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {}
  });
  return { child, ran, exited };
}

const http = () => ({ CANARY_URL: inject("workerUrl"), CANARY_ADMIN_TOKEN: inject("adminToken") });

/**
 * The doc's release script, saved as the user would, and a runner for it: `release(build, failRate)`.
 * The user's deploy step: here "deploying" a build to a colour makes that demo origin name it in
 * x-app-version, and sets its failure switch (the fail rate, 0 = a good build); `log` lists the deploys.
 */
async function releaseScript() {
  const blocks = sectionBlocks(DOC, "The same sequence as a shell script").filter((block) => block.lang === "sh");
  expect(blocks).toHaveLength(1);
  const script = await file("release.sh", blocks[0]!.text);
  const deploy = await file("deploy.sh", '#!/usr/bin/env bash\nset -e\norigin="ORIGIN_$1"\necho "$1 $2" >> "$DEPLOY_LOG"\ncurl -sf -X POST "${!origin}/__demo/fail?rate=${DEMO_FAIL_RATE:-0}" > /dev/null\ncurl -sf -X POST "${!origin}/__demo/build?version=$2" > /dev/null\n');
  await chmod(deploy, 0o755);
  const log = await file("deploys.log", "");
  const heal = () => Promise.all(["blue", "green"].map((colour) => fetch(`${inject(colour === "blue" ? "blueOrigin" : "greenOrigin")}/__demo/build?version=`, { method: "POST" }).then(() => failRate(colour as "blue", 0))));
  await heal();
  onTestFinished(() => heal().then(() => undefined));
  const release = (build: string, failRateOfBuild: number) =>
    start("bash", [script, build], {
      ...http(),
      DEPLOY: deploy,
      DEPLOY_LOG: log,
      DEMO_FAIL_RATE: String(failRateOfBuild),
      ORIGIN_blue: inject("blueOrigin"),
      ORIGIN_green: inject("greenOrigin"),
    }).exited;
  return { release, log };
}

describe("docs/pipeline.md's release script, as written", () => {
  it("promotes a healthy build (exit 0), then sends the next one to the other colour, where the analysis rolls a failing build back (exit 1, the reason printed, everyone on stable)", async () => {
    const { release, log } = await releaseScript();
    await putRules(pipelineDoc("e2e-pipeline-0", { steps: [{ percent: 50, dwellSeconds: 10 }], buildHeader: "x-app-version" }));
    const traffic = visitors();
    onTestFinished(() => traffic.stop());

    const good = await release("build-1", 0);
    expect(good.code, `${good.stdout}\n${good.stderr}`).toBe(0);
    expect(good.stdout).toMatch(/^deploying build-1 to green$/m);
    expect(good.stdout).toMatch(/^release build-1: started, canary green at 50%, rules at revision \d+$/m);
    expect(good.stdout).toMatch(/^build-1 · running · step 1 of 1 · green at 50% · /m);
    expect(good.stdout).toMatch(/^build-1 · promoted · step 1 of 1 · green stable for everyone · /m);
    expect(good.stdout).toMatch(/^release build-1 promoted: green is stable for everyone; the next release goes to blue$/m);
    expect((await rolloutStatus()).run).toMatchObject({ rolloutId: "build-1", status: "promoted" });

    const bad = await release("build-2", 1);
    expect(bad.code, `${bad.stdout}\n${bad.stderr}`).toBe(1);
    expect(bad.stdout).toMatch(/^deploying build-2 to blue$/m);
    expect(bad.stderr).toMatch(/^canary: rollout build-2 rolled-back: canary blue (is worse than stable|failed \d+ consecutive)/m);
    expect(bad.stderr).toMatch(/^ {2}blue \(canary\) (\d+) requests, \1 errors \(100%/m);
    expect(bad.stderr).toMatch(/^ {2}everyone is on green \(stable\); canary at 0%$/m);
    await traffic.stop();
    expect(readFileSync(log, "utf8")).toBe("green build-1\nblue build-2\n");
    const after = await rolloutStatus();
    expect(after).toMatchObject({ stable: "green", percent: 0, run: { rolloutId: "build-2", status: "rolled-back" } });
    expect(after.analysis.latch?.reason).toBe(after.run!.note);
    expect(await greenShare()).toBe(1);
  }, budget({ otherMs: 90_000 }));

  it("a failing before-start gate (a smoke test through the real edge): exit 1 with the gate's answer, never ramped past 0", async () => {
    const { release } = await releaseScript();
    const gate = await smokeGate();
    await putRules(pipelineDoc("e2e-gate-0", { steps: [{ percent: 50, dwellSeconds: 10 }], gate: gate.url }));
    const before = await rolloutStatus();

    const gated = await release("build-3", 0);
    expect(gated.code, `${gated.stdout}\n${gated.stderr}`).toBe(1);
    expect(gated.stdout).toMatch(/^deploying build-3 to green$/m);
    expect(gated.stderr).toMatch(/^canary: before-start gate http:\/\/127\.0\.0\.1:\d+\/smoke answered 503 in \d+ ms: smoke test failed: green answered the join link: no-go, nothing was started \(the canary stays at 0%\) \(gate_no_go\)$/m);
    expect(gate.seen).toEqual([{ signed: true, colour: "green", rolloutId: "build-3" }]);
    const after = await rolloutStatus();
    expect(after).toMatchObject({ percent: 0, revision: before.revision, run: before.run });
    expect(after.gates.at(-1)).toMatchObject({ gate: "before-start", rolloutId: "build-3", status: 503, go: false });
    const history = await canary(["history", "--limit", "1", ...TRANSPORTS.http().flags], TRANSPORTS.http().env);
    expect(history.stdout).toMatch(new RegExp(`^\\(#${before.revision}\\)  \\S+  gate     \\S+  "before-start gate http://127\\.0\\.0\\.1:\\d+/smoke answered 503 in \\d+ ms: smoke test failed: green answered the join link: no-go"$`, "m"));
  }, budget({ otherMs: 20_000 }));

  it("the workflow runs the script's own canary commands", () => {
    const workflow = sectionBlocks(DOC, "A GitHub Actions workflow").find((block) => block.lang === "yaml")!.text;
    const script = sectionBlocks(DOC, "The same sequence as a shell script").find((block) => block.lang === "sh")!.text;
    const commands = script.split("\n").filter((line) => /npm run --silent canary|jq /.test(line));
    expect(commands.length).toBeGreaterThanOrEqual(3);
    for (const command of commands) expect(workflow).toContain(command.trim());
  });
});

describe("release --wait and rollout status --watch", () => {
  const run = (...args: string[]) => canary([...args, ...TRANSPORTS.http().flags], TRANSPORTS.http().env);

  it("a timeout exits 3 and Ctrl-C 130, each leaving the rollout running and saying how to watch, pause or abort it; bad usage exits 2 and starts nothing", async () => {
    await putRules(pipelineDoc("e2e-wait-0"));
    const badPlan = await file("bad-plan.json", { steps: [{ percent: 50, dwellSeconds: 600 }, { percent: 10, dwellSeconds: 600 }] });
    const usage = await Promise.all([
      run("release", "--wait"),
      run("release", "--rollout-id", "e2e-wait", "--timeout", "5m"),
      run("release", "--rollout-id", "e2e-wait", "--wait", "--timeout", "soon"),
      run("release", "--rollout-id", "e2e-wait", "--plan", badPlan),
      canary(["release", "--rollout-id", "e2e-wait", "--wait", ...TRANSPORTS.wrangler().flags]),
    ]);
    expect(usage.map((u) => [u.code, u.stderr.trim().split("\n").at(-1)])).toEqual([
      [2, "canary: release needs --rollout-id <build>: the rollout is named for the build it delivers"],
      [2, "canary: --timeout goes with --wait"],
      [2, 'canary: --timeout must be a duration such as 30m, 90s or 2h, not "soon"'],
      [2, expect.stringMatching(/^canary: --plan \S+ is not a plan .*nothing was started: plan.steps: step percents must increase$/)],
      [2, expect.stringMatching(/^canary: release needs the worker: .*Durable Object.* use --url /)],
    ]);
    expect((await rolloutStatus()).percent).toBe(0);

    const plan = await file("plan.json", { steps: [{ percent: 30, dwellSeconds: 600 }, { percent: 100, dwellSeconds: 600 }] });
    const timedOut = await run("release", "--rollout-id", "e2e-wait", "--plan", plan, "--wait", "--timeout", "3s", "--json");
    expect(timedOut.code, timedOut.stderr).toBe(3);
    const events = timedOut.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(events[0]).toMatchObject({ event: "progress", rolloutId: "e2e-wait", status: "running", step: 1, steps: 2, percent: 30, canary: "green", stable: "blue" });
    expect(events.at(-1)).toEqual({ event: "timeout", rolloutId: "e2e-wait", exitCode: 3, status: "running", step: 1, percent: 30 });
    expect(timedOut.stderr).toMatch(/^canary: timed out after 3s: rollout e2e-wait is still running at step 1 of 2 \(green at 30%\)$/m);
    expect(timedOut.stderr).toContain(`  watch:  npm run canary -- rollout status --watch --url ${inject("workerUrl")}`);
    const running = await rolloutStatus();
    expect(running).toMatchObject({ percent: 30, run: { rolloutId: "e2e-wait", status: "running" }, plan: [{ percent: 30 }, { percent: 100 }] });

    const again = await run("release", "--rollout-id", "e2e-wait-2", "--wait");
    expect([again.code, again.stderr.trim().split("\n").at(-1)]).toEqual([1, "canary: a rollout is running at step 1: resume, pause or abort it (rollout_active)"]);

    const watching = start(process.execPath, ["scripts/canary.ts", "rollout", "status", "--watch"], http());
    for (let waited = 0; !/^e2e-wait · running · step 1 of 2 · green at 30%/m.test(watching.ran.stdout); waited += 100) {
      expect(watching.child.exitCode, watching.ran.stderr).toBeNull();
      await new Promise((r) => setTimeout(r, 100));
    }
    watching.child.kill("SIGINT");
    const interrupted = await watching.exited;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain("rollout e2e-wait keeps running (nothing was paused or reverted); the analysis still guards it:");
    expect(interrupted.stderr).toContain(`  abort:  npm run canary -- rollout abort --url ${inject("workerUrl")} --reason "…"`);
    expect((await rolloutStatus()).run).toMatchObject({ rolloutId: "e2e-wait", status: "running" });

    const aborted = await run("rollout", "abort", "--reason", "end of test");
    expect(aborted.code).toBe(0);
  }, budget({ otherMs: 30_000 }));
});
