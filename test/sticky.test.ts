import { describe, expect, it } from "vitest";
import { bucketOf } from "../worker/bucketing.ts";
import { forcedColour, overridePayload } from "../worker/override.ts";
import { bucketFromCookie, resolveBucket, stickyValue } from "../worker/sticky.ts";

describe("the sticky bucket", () => {
  it("comes from the user ID whenever there is one, whatever the cookie says", () => {
    const fromId = bucketOf("r1", "id:u-42");
    expect(resolveBucket("r1", { userId: "u-42", ipText: "1.2.3.4" }, stickyValue("r1", 17))).toEqual({ bucket: fromId, source: "user-id" });
  });

  it("is kept by the cookie for anonymous visitors, even when their IP changes", () => {
    expect(resolveBucket("r1", { ipText: "9.9.9.9" }, stickyValue("r1", 17))).toEqual({ bucket: 17, source: "cookie" });
  });

  it("is derived from the client IP on a first visit, and random without one", () => {
    expect(resolveBucket("r1", { ipText: "1.2.3.4" }, undefined)).toEqual({ bucket: bucketOf("r1", "ip:1.2.3.4"), source: "ip" });
    expect(resolveBucket("r1", {}, undefined).source).toBe("random");
  });

  it("ignores a cookie from another rollout or with junk in it", () => {
    for (const junk of ["r0:17", "r1:", "r1:abc", "r1:10000", "r1:-1", "17", "r1:1e3"]) {
      expect(bucketFromCookie(junk, "r1")).toBeUndefined();
    }
    expect(bucketFromCookie("r1:9999", "r1")).toBe(9999);
  });
});

describe("the tester override", () => {
  const now = 1_800_000_000;
  const plain = (value: string) => ({ value, signed: false });
  const signed = (value: string) => ({ value, signed: true });

  it("accepts a plain colour only under the open policy", () => {
    expect(forcedColour(plain("green"), "open", now)).toBe("green");
    expect(forcedColour(plain("green"), "signed", now)).toBeUndefined();
    expect(forcedColour(plain("green"), "off", now)).toBeUndefined();
    expect(forcedColour(plain("purple"), "open", now)).toBeUndefined();
  });

  it("accepts a signed token until it expires, under open and signed, never when off", () => {
    const token = signed(overridePayload("green", now + 60));
    expect(forcedColour(token, "signed", now)).toBe("green");
    expect(forcedColour(token, "open", now)).toBe("green");
    expect(forcedColour(token, "off", now)).toBeUndefined();
    expect(forcedColour(token, "signed", now + 60)).toBeUndefined();
    expect(forcedColour(signed("green"), "signed", now)).toBeUndefined();
    expect(forcedColour(signed("green:1:2"), "signed", 0)).toBeUndefined();
  });
});
