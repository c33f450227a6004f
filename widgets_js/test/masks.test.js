import { describe, expect, it } from "vitest";
import { labelImage, onEdge, overlay, peakWeights, roiColour } from "../src/masks.js";

// two ROIs on a 4x5 plane: row 0 a 2x2 square at x 0-1, y 0-1; row 3 a 3x3 square at x 1-3, y 2-4
function pixels() {
  const rows = [];
  const xs = [];
  const ys = [];
  const weights = [];
  for (const [row, x0, y0, size, w] of [[0, 0, 0, 2, 1], [3, 1, 2, 3, 0.5]]) {
    for (let x = x0; x < x0 + size; x++) {
      for (let y = y0; y < y0 + size; y++) {
        rows.push(row);
        xs.push(x);
        ys.push(y);
        weights.push(x === x0 + 1 && y === y0 + 1 ? w * 2 : w);
      }
    }
  }
  return { rows: Uint32Array.from(rows), xs: Uint16Array.from(xs), ys: Uint16Array.from(ys), weights: Float32Array.from(weights) };
}

describe("masks", () => {
  const shape = [4, 5];
  it("label each pixel with its ROI", () => {
    const labels = labelImage(pixels(), shape);
    expect(labels[0]).toBe(0);
    expect(labels[1 * 5 + 3]).toBe(3);
    expect(labels[3 * 5 + 0]).toBe(-1);
    expect(peakWeights(pixels(), 4)[3]).toBe(1);
  });
  it("find edges", () => {
    const labels = labelImage(pixels(), shape);
    expect(onEdge(labels, 2 * 5 + 3, 4, 5)).toBe(false); // the centre of the 3x3 ROI
    expect(onEdge(labels, 1 * 5 + 3, 4, 5)).toBe(true);
  });
  it("draw filled, outlined, dimmed and picked ROIs", () => {
    const px = pixels();
    const labels = labelImage(px, shape);
    const peaks = peakWeights(px, 4);
    const out = new Uint8ClampedArray(4 * 5 * 4);
    overlay(px, labels, shape, { style: "filled", selected: null, picked: -1, peaks }, out);
    const at = (x, y) => Array.from(out.slice((x * 5 + y) * 4, (x * 5 + y) * 4 + 4));
    expect(at(2, 3).slice(0, 3)).toEqual(roiColour(3));
    expect(at(2, 3)[3]).toBe(200); // the peak: full share
    expect(at(3, 0)[3]).toBe(0);
    overlay(px, labels, shape, { style: "outline", selected: new Set([0]), picked: 0, peaks }, out);
    expect(at(2, 3)[3]).toBe(0); // not an edge
    expect(at(1, 3)).toEqual([160, 160, 160, 70]); // filtered out: faint grey edge
    expect(at(0, 0)).toEqual([255, 255, 255, 255]); // picked: white edge
  });
});
