import { describe, expect, it } from "vitest";
import { COLORMAPS, lut } from "../src/colormaps.js";
import { canvasSize, codesOf, colourToRGBA, framePixel, greyToRGBA, percentileCodes, valueOf } from "../src/frame_draw.js";

describe("colour maps", () => {
  it("has 256 entries running from the first anchor to the last", () => {
    for (const name of COLORMAPS) {
      const t = lut(name);
      expect(t.length).toBe(768);
    }
    expect(Array.from(lut("gray").slice(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(lut("gray").slice(765))).toEqual([255, 255, 255]);
    expect(Array.from(lut("viridis").slice(0, 3))).toEqual([68, 1, 84]);
    expect(Array.from(lut("viridis").slice(765))).toEqual([253, 231, 37]);
    expect(Array.from(lut("nope").slice(381, 384))).toEqual(Array.from(lut("gray").slice(381, 384)));
  });
});

describe("percentiles", () => {
  it("match a sort of the codes", () => {
    const codes = new Uint16Array(1001);
    for (let i = 0; i < codes.length; i++) codes[i] = (i * 7919) % 60000;
    const sorted = Array.from(codes).sort((a, b) => a - b);
    const [lo, hi] = percentileCodes(codes, 1, 99);
    expect(lo).toBe(sorted[10]);
    expect(hi).toBe(sorted[990]);
    expect(percentileCodes(codes, 0, 100)).toEqual([sorted[0], sorted[1000]]);
  });
  it("handle uint8 and constant frames", () => {
    expect(percentileCodes(new Uint8Array([5, 5, 5]), 0.5, 99.5)).toEqual([5, 5]);
    expect(percentileCodes(new Uint8Array(0), 0.5, 99.5)).toEqual([0, 0]);
  });
});

describe("drawing", () => {
  const shape = [2, 3]; // x = 2 rows, y = 3 columns
  const codes = new Uint16Array([0, 100, 200, 300, 400, 500]);
  it("puts x down and y across, transposed on demand", () => {
    expect(canvasSize(shape, false)).toEqual([3, 2]);
    expect(canvasSize(shape, true)).toEqual([2, 3]);
    expect(framePixel(2, 1, false)).toEqual([1, 2]);
    expect(framePixel(1, 2, true)).toEqual([1, 2]);
    const out = greyToRGBA(codes, shape, [0, 500], lut("gray"), false, new Uint8ClampedArray(24));
    // canvas (column 2, row 1) = frame (x 1, y 2) = code 500 = white
    expect(Array.from(out.slice((1 * 3 + 2) * 4, (1 * 3 + 2) * 4 + 4))).toEqual([255, 255, 255, 255]);
    expect(Array.from(out.slice(0, 4))).toEqual([0, 0, 0, 255]);
    const t = greyToRGBA(codes, shape, [0, 500], lut("gray"), true, new Uint8ClampedArray(24));
    // transposed: canvas (column 1, row 2) = frame (x 1, y 2)
    expect(Array.from(t.slice((2 * 2 + 1) * 4, (2 * 2 + 1) * 4 + 3))).toEqual([255, 255, 255]);
  });
  it("clips at the limits", () => {
    const out = greyToRGBA(codes, shape, [100, 300], lut("gray"), false, new Uint8ClampedArray(24));
    expect(out[0]).toBe(0);
    expect(out[4]).toBe(0);
    expect(out[8]).toBe(128);
    expect(out[12]).toBe(255);
    expect(out[20]).toBe(255);
  });
  it("keeps colour and alpha", () => {
    const rgba = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const out = colourToRGBA(rgba, [1, 2], 4, false, new Uint8ClampedArray(8));
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const rgb = colourToRGBA(new Uint8Array([9, 8, 7]), [1, 1], 3, false, new Uint8ClampedArray(4));
    expect(Array.from(rgb)).toEqual([9, 8, 7, 255]);
  });
  it("reads codes and values", () => {
    const bytes = new Uint8Array([0, 1, 2, 0, 9]).subarray(1, 5); // odd offset: copied
    const codes = codesOf(bytes, { dtype: "uint16" });
    expect(Array.from(codes)).toEqual([1 + 2 * 256, 9 * 256]);
    expect(valueOf(10, { scale: 0.5, offset: -3 })).toBe(2);
  });
});
