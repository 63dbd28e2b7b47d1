import { describe, expect, it } from "vitest";
import { forcedColour, overridePayload } from "../worker/core/override.ts";

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
