// The cell view's pictures: a histogram of sorted values (spike times), a min/max sparkline
// of values in order (a waveform).
import { describe, expect, it } from "vitest";
import { columns, draw, histogram } from "../src/sparkline.js";

describe("histogram", () => {
  it("counts every finite value once, the maximum in the last bin", () => {
    const { counts, lo, hi } = histogram([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, NaN], 5);
    expect(counts).toEqual([2, 2, 2, 2, 2]);
    expect([lo, hi]).toEqual([0, 10]);
    expect(histogram([3, 3, 3], 4).counts).toEqual([3, 0, 0, 0]);
    expect(histogram([NaN], 2).counts).toEqual([0, 0]);
  });
});

describe("columns", () => {
  it("keeps each pixel column's extremes (a spike is never lost)", () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i === 637 ? 99 : Math.sin(i / 50)));
    const cols = columns(values, 100);
    expect(cols).toHaveLength(100);
    expect(cols[63][1]).toBe(99);
    expect(Math.max(...cols.map((c) => c[1]))).toBe(99);
  });

  it("marks columns without a finite value", () => {
    expect(columns([NaN, NaN, 1, 2], 2)).toEqual([null, [1, 2]]);
    expect(columns([1], 3).filter(Boolean)).toHaveLength(3); // fewer values than pixels
  });
});

describe("draw", () => {
  it("draws a histogram for sorted values and a sparkline otherwise", () => {
    const rects = [];
    const ctx = { clearRect() {}, fillRect: (...r) => rects.push(r), set fillStyle(_) {}, set strokeStyle(_) {} };
    expect(draw(ctx, [1, 2, 3, 4], true, 30, 20, "#000")).toBe("histogram");
    expect(rects).toHaveLength(10);
    rects.length = 0;
    expect(draw(ctx, [4, 1, 3], false, 30, 20, "#000")).toBe("sparkline");
    expect(rects).toHaveLength(30);
  });
});
