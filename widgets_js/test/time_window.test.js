import { describe, expect, it } from "vitest";
import { clampRange, pan, sameRange, zoomAround } from "../src/time_window.js";

describe("time window", () => {
  it("zooms around a point, keeping it in place", () => {
    expect(zoomAround([0, 100], 25, 0.5)).toEqual([12.5, 62.5]);
    expect(zoomAround([0, 100], 25, 2, [0, 120])).toEqual([0, 120]);
  });
  it("pans and stays inside the extent", () => {
    expect(pan([10, 20], 5)).toEqual([15, 25]);
    expect(pan([10, 20], 500, [0, 100])).toEqual([90, 100]);
    expect(clampRange([-5, 5], [0, 100])).toEqual([0, 10]);
  });
  it("compares ranges within a millionth of their width", () => {
    expect(sameRange([0, 1], [0, 1 + 1e-9])).toBe(true);
    expect(sameRange([0, 1], [0, 1.01])).toBe(false);
    expect(sameRange([], null)).toBe(true);
  });
});
