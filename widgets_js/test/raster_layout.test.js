import { describe, expect, it } from "vitest";
import { clampOffset, heat, pageKey, rasterStatus, rowsThatFit, ticks } from "../src/raster_layout.js";

describe("raster layout", () => {
  it("fits rows of at least ROW_MIN px, never more than there are units", () => {
    expect(rowsThatFit(300, 1000)).toBe(60);
    expect(rowsThatFit(300, 12)).toBe(12);
    expect(rowsThatFit(0, 10)).toBe(1);
  });
  it("pages with the keys, inside the table", () => {
    expect(pageKey("PageDown", 0, 60, 1000)).toBe(60);
    expect(pageKey("PageDown", 950, 60, 1000)).toBe(940);
    expect(pageKey("PageUp", 30, 60, 1000)).toBe(0);
    expect(pageKey("End", 0, 60, 1000)).toBe(940);
    expect(pageKey("Home", 500, 60, 1000)).toBe(0);
    expect(pageKey("x", 5, 60, 1000)).toBe(null);
    expect(clampOffset(-3, 10, 5)).toBe(0);
  });
  it("tags each tick with its unit's row", () => {
    const { x, row } = ticks(new Float64Array([1, 2, 3, 4]), [0, 1, 1, 4]);
    expect(Array.from(row)).toEqual([0, 2, 2, 2]);
    expect(x.length).toBe(4);
  });
  it("scales heat by the square root", () => {
    expect(heat(25, 100)).toBe(0.5);
    expect(heat(0, 100)).toBe(0);
    expect(heat(3, 0)).toBe(0);
  });
  it("says what the raster shows", () => {
    const base = { units: [{}, {}], total: 300, offset: 0, spikes: 1234, budget: 33554432, remote: true };
    expect(rasterStatus({ ...base, mode: "ticks" })).toBe("every spike: 1,234 spikes of 2 of 300 units (1–2)");
    expect(rasterStatus({ ...base, mode: "counts" })).toContain("counts per pixel column");
    expect(rasterStatus({ ...base, mode: "estimated" })).toContain("32 MiB remote read budget");
  });
});
