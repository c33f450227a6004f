import { describe, expect, it } from "vitest";
import { CATEGORY, categoryColor, colorOf, ramp, rangeColor, withAlpha } from "../src/palette.js";

describe("palette", () => {
  it("cycles categories and greys what has none", () => {
    expect(categoryColor(0)).toBe(CATEGORY[0]);
    expect(categoryColor(10)).toBe(CATEGORY[0]);
    expect(categoryColor(-1)).toBe("#8c8c8c");
    expect(categoryColor(null)).toBe("#8c8c8c");
  });
  it("ramps from viridis' dark purple to its yellow, clamped", () => {
    expect(ramp(0)).toBe("rgb(68, 1, 84)");
    expect(ramp(1)).toBe("rgb(253, 231, 37)");
    expect(ramp(-3)).toBe(ramp(0));
    expect(ramp(NaN)).toBe("#8c8c8c");
    expect(rangeColor(5, 5, 5)).toBe(ramp(0.5));
  });
  it("adds alpha to hex and rgb colours", () => {
    expect(withAlpha("#4e79a7", 0.5)).toBe("rgba(78, 121, 167, 0.5)");
    expect(withAlpha("rgb(1, 2, 3)", 0.2)).toBe("rgba(1, 2, 3, 0.2)");
  });
  it("colours by a kernel scale", () => {
    const byName = colorOf({ kind: "category", names: ["CA1", "VISp"] });
    expect(byName("VISp")).toBe(CATEGORY[1]);
    expect(byName("LGd")).toBe("#8c8c8c");
    const byValue = colorOf({ kind: "range", min: 0, max: 10 });
    expect(byValue(10)).toBe(ramp(1));
    expect(colorOf({ kind: "none" })("x")).toBe(null);
  });
});
