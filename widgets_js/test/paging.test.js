// The grid's paging: which rows a scroll position draws, which pages it asks for, which it
// prefetches, and how a very long table maps onto the browser's capped element height.
import { describe, expect, it } from "vitest";
import { geometry, MAX_PX, OVERSCAN, pagesFor, ROW, rowValues } from "../src/paging.js";

describe("geometry", () => {
  it("draws the visible rows plus a few on each side", () => {
    const g = geometry(520 * ROW, 10 * ROW, 1000);
    expect(g.first).toBe(520 - OVERSCAN);
    expect(g.last).toBe(530 + OVERSCAN);
    expect(g.virtual).toBe(1000 * ROW);
    expect(g.shift).toBe(0);
  });

  it("clamps at the ends of the table", () => {
    expect(geometry(0, 10 * ROW, 3)).toMatchObject({ first: 0, last: 3 });
    expect(geometry(0, 10 * ROW, 0)).toMatchObject({ first: 0, last: 0, virtual: 0 });
  });

  it("maps a table taller than the browser allows proportionally, reaching its last row", () => {
    const total = 10_000_000; // 240M px of rows
    const height = 400;
    const g0 = geometry(0, height, total);
    expect(g0.virtual).toBe(MAX_PX);
    expect(g0.first).toBe(0);
    const bottom = geometry(MAX_PX - height, height, total); // scrolled to the end
    expect(bottom.last).toBe(total);
    // the rows drawn sit inside the scroller's viewport
    const top = (total - 1) * ROW - bottom.shift;
    expect(top).toBeGreaterThanOrEqual(MAX_PX - height);
    expect(top).toBeLessThan(MAX_PX);
  });
});

describe("pagesFor", () => {
  const none = () => false;
  it("asks for every page the rows touch", () => {
    expect(pagesFor(95, 215, 100, 1000, none)).toEqual({ want: [0, 1, 2], prefetch: null });
  });

  it("prefetches the next page once the visible ones are loaded, never past the end", () => {
    const loaded = new Set([0, 1]);
    expect(pagesFor(10, 150, 100, 1000, (p) => loaded.has(p))).toEqual({ want: [], prefetch: 2 });
    expect(pagesFor(10, 150, 100, 200, (p) => loaded.has(p))).toEqual({ want: [], prefetch: null });
    loaded.add(2);
    expect(pagesFor(10, 150, 100, 1000, (p) => loaded.has(p)).prefetch).toBe(null);
  });

  it("asks for nothing when no row is drawn", () => {
    expect(pagesFor(0, 0, 100, 0, none)).toEqual({ want: [], prefetch: null });
  });
});

describe("rowValues", () => {
  it("finds a row in its page, or null while the page is loading", () => {
    const pages = new Map([[1, [["a"], ["b"]]]]);
    expect(rowValues(pages, 101, 100)).toEqual(["b"]);
    expect(rowValues(pages, 5, 100)).toBe(null);
    expect(rowValues(pages, 150, 100)).toBe(null); // past the page's rows
  });
});
