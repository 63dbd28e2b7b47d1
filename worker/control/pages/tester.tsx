import { Hono } from "hono";
import { type Handoff, readHandoff, type VisitorFacts } from "../../core/handoff.ts";
import { OVERRIDE_PARAM } from "../../core/override.ts";
import { otherColour } from "../../core/rules.ts";
import type { BucketSource } from "../../core/sticky.ts";
import { Layout } from "./layout.tsx";

const SOURCES: Record<BucketSource, string> = {
  "user-id": "your user ID, so it is the same on every device",
  cookie: "your sticky cookie",
  ip: "your IP address (first visit); your sticky cookie keeps it from now on",
  random: "chance (no user ID or IP was seen); your sticky cookie keeps it",
};

/**
 * The tester page: which version this browser gets and why, with buttons that set the same override
 * cookie as `?__canary=` links, so what testers see here is exactly what the router does.
 */
export const testerPage = new Hono<{ Bindings: ControlEnv }>().get("/", (c) => {
  const handoff = readHandoff(c.req.raw.headers);
  if (!handoff?.visitor) return c.text("edge-canary: the tester page is served through the edge Worker\n", 404);
  return c.html(<TesterPage serving={handoff.serving} visitor={handoff.visitor} />);
});

function TesterPage(props: { serving: Handoff["serving"]; visitor: VisitorFacts }) {
  const { serving, visitor } = props;
  const { decision, bucketSource: source } = visitor;
  const rules = visitor;
  const policy = rules.overrides;
  return (
    <Layout title="edge-canary: which version am I on?">
      <h1>Which version am I on?</h1>
      <section class="card" aria-labelledby="now">
        <p id="now">
          This browser gets{" "}
          <span class={`version ${decision.colour}`} data-testid="version">
            {decision.colour}
          </span>{" "}
          ({decision.role === "canary" ? "the canary" : "stable"}).
        </p>
        <p data-testid="reason">{why(serving, visitor)}</p>
        <dl>
          <dt>Your bucket</dt>
          <dd>
            {decision.bucket} of 10,000, from {SOURCES[source]}
          </dd>
          <dt>Rollout</dt>
          <dd>
            {rules.rollout.id}: {rules.rollout.percent}% canary ({otherColour(rules.stable)})
          </dd>
          <dt>Rules revision</dt>
          <dd>{serving.source === "kv" ? (serving.revision ?? "unrecorded") : "none (fallback)"}</dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="choose">
        <h2 id="choose">Choose a version</h2>
        <form method="get">
          <button type="submit" name={OVERRIDE_PARAM} value="blue" disabled={policy !== "open"}>
            Force blue
          </button>{" "}
          <button type="submit" name={OVERRIDE_PARAM} value="green" disabled={policy !== "open"}>
            Force green
          </button>{" "}
          <button type="submit" name={OVERRIDE_PARAM} value="auto">
            Back to automatic
          </button>
        </form>
        <p class="note">{POLICY_NOTES[policy]}</p>
      </section>
    </Layout>
  );
}

const POLICY_NOTES = {
  open: "Forcing a version sets a cookie on this site for a day. Any page also takes ?__canary=green, ?__canary=blue or ?__canary=auto.",
  signed:
    "This site only lets you in with a signed “join the canary” link from the release team (a URL with ?__canary=…). Opening one sets the cookie until the link expires.",
  off: "Tester overrides are switched off on this site.",
} as const;

function why(serving: Handoff["serving"], { decision, rollout }: VisitorFacts): string {
  if (serving.source === "fallback") return "No rules could be read, so everyone goes to the stable origin.";
  if (decision.reason === "override") return `You forced ${decision.colour} with the override cookie.`;
  const line = Math.round(rollout.percent * 100);
  if (decision.reason === "rule") return `The targeting rule “${decision.rule}” matched this request.`;
  return decision.role === "canary"
    ? `Your bucket ${decision.bucket} is below the canary line ${line}.`
    : `Your bucket ${decision.bucket} is at or above the canary line ${line}.`;
}
