import { describe, expect, it } from "vitest";
import { cookiePair, putRules, rulesDoc, setCookies, visit } from "../helpers.ts";

const OVERRIDE = "__Host-canary-force";

/** Text content of the element with a data-testid, from server-rendered HTML. */
function byTestId(html: string, id: string): string {
  const match = new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html);
  return match?.[1]?.trim() ?? "";
}

describe("the tester page", () => {
  it("shows the version this browser gets and why, without proxying to an origin", async () => {
    await putRules(rulesDoc({ rollout: { id: "page", percent: 100 } }), { revision: 3 });
    const res = await visit("/__canary", { ip: "192.0.2.7" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(byTestId(html, "version")).toBe("green");
    expect(byTestId(html, "reason")).toMatch(/^Your bucket \d+ is below the canary line 10000\.$/);
    expect(html).toContain("<dd>3</dd>");
    expect(html).toContain("from your IP address (first visit)");
  });

  it("names the targeting rule that matched", async () => {
    await putRules(rulesDoc({ rules: [{ name: "office", when: { ipRanges: ["192.0.2.0/24"] }, serve: "canary" }] }));
    const html = await (await visit("/__canary/", { ip: "192.0.2.7" })).text();
    expect(byTestId(html, "version")).toBe("green");
    expect(byTestId(html, "reason")).toBe("The targeting rule “office” matched this request.");
  });

  it("forces a colour with its buttons under the open policy, using the same cookie as ?__canary links", async () => {
    await putRules(rulesDoc({ overrides: "open" }));
    const forced = await visit("/__canary?__canary=green", { ip: "192.0.2.8" });
    const html = await forced.text();
    expect(byTestId(html, "version")).toBe("green");
    expect(byTestId(html, "reason")).toBe("You forced green with the override cookie.");
    const cookie = cookiePair(setCookies(forced)[OVERRIDE]);
    expect(cookie).toBe(`${OVERRIDE}=green`);
    const site = await visit("/", { ip: "192.0.2.8", cookies: cookie });
    expect(await site.text()).toBe("green\n");
    const auto = await visit("/__canary?__canary=auto", { ip: "192.0.2.8", cookies: cookie });
    expect(byTestId(await auto.text(), "version")).toBe("blue");
    expect(setCookies(auto)[OVERRIDE]).toMatch(/Max-Age=0/);
  });

  it("disables the force buttons unless the policy is open, and says how to join instead", async () => {
    await putRules(rulesDoc({ overrides: "signed" }));
    const html = await (await visit("/__canary", { ip: "192.0.2.9" })).text();
    expect(html).toMatch(/<button type="submit" name="__canary" value="green" disabled="">/);
    expect(html).toContain("signed “join the canary” link");
    expect(html).not.toMatch(/value="auto" disabled/);
  });
});
