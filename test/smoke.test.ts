import { describe, expect, it } from "vitest";
import { putRules, rulesDoc, servedBy, visit } from "./helpers.ts";

describe("smoke", () => {
  it("serves blue at 0%", async () => {
    await putRules(rulesDoc());
    const res = await visit("/", { ip: "1.2.3.4" });
    expect(servedBy(res)).toBe("blue");
    expect(await res.text()).toBe("blue\n");
  });
});
