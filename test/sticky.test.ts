import { describe, expect, it } from "vitest";
import { bucketOf } from "../worker/core/bucketing.ts";
import { bucketFromCookie, resolveBucket, stickyValue } from "../worker/core/sticky.ts";

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
