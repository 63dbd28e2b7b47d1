import { describe, expect, it } from "vitest";
import { readHeaders } from "../worker/core/traits.ts";

describe("reading the visitor's headers once", () => {
  it("gives each name once, as Headers.get joins it, Set-Cookie lines included", () => {
    const headers = new Headers([["x-a", "1"], ["X-A", "2"], ["set-cookie", "a=1"], ["set-cookie", "b=2"], ["cookie", "c=3"], ["cookie", "d=4"]]);
    const read = readHeaders(headers);
    expect({ ...read }).toEqual({ "x-a": headers.get("x-a"), "set-cookie": headers.get("set-cookie"), cookie: headers.get("cookie") });
    expect(read["set-cookie"]).toBe("a=1, b=2");
  });

  it("keeps names that are Object.prototype's as plain keys", () => {
    const read = readHeaders(new Headers([["__proto__", "p"], ["constructor", "c"], ["hasownproperty", "h"]]));
    expect([read.__proto__, read.constructor, read.hasownproperty, Object.keys(read).length]).toEqual(["p", "c", "h", 3]);
  });
});
