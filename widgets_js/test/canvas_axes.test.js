import { describe, expect, it } from "vitest";
import { fitEqual, insideMargin, niceTicks } from "../src/canvas_axes.js";

describe("canvas axes", () => {
  it("picks round ticks", () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0.013, 0.987, 4)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(-4.5, -4.1, 4)).toEqual([-4.5, -4.4, -4.3, -4.2, -4.1]);
    expect(niceTicks(3, 3)).toEqual([3]);
    expect(niceTicks(NaN, 1)).toEqual([]);
  });
  it("fits a box with one scale, y up, centred", () => {
    const fit = fitEqual({ x0: 0, x1: 10, y0: 0, y1: 100 }, { left: 0, top: 0, width: 200, height: 100 });
    expect(fit.scale).toBe(1);
    expect(fit.toX(0)).toBe(95);
    expect(fit.toY(0)).toBe(100);
    expect(fit.toY(100)).toBe(0);
    expect(fit.fromX(fit.toX(7))).toBeCloseTo(7);
  });
  it("keeps a plot area inside the margins, never under 10 px", () => {
    const margin = { left: 56, right: 16, top: 12, bottom: 40 };
    expect(insideMargin(400, 300, margin)).toEqual({ left: 56, top: 12, width: 328, height: 248 });
    expect(insideMargin(30, 20, margin)).toEqual({ left: 56, top: 12, width: 10, height: 10 });
  });
});
