// The tree's keyboard model (WAI-ARIA tree view) and the search results' listbox model.
import { describe, expect, it } from "vitest";
import { listKey, treeKey, TypeAhead, typeAhead } from "../src/tree_keys.js";

const rows = [
  { path: "/acquisition", level: 1, name: "acquisition", expandable: true, open: true },
  { path: "/acquisition/raw", level: 2, name: "raw", expandable: false, open: false },
  { path: "/acquisition/lfp", level: 2, name: "lfp", expandable: true, open: false },
  { path: "/general", level: 1, name: "general", expandable: true, open: false },
  { path: "/units", level: 1, name: "units", expandable: true, open: false },
];

describe("treeKey", () => {
  it("moves up and down, to the first and last rows", () => {
    expect(treeKey("ArrowDown", rows, 0)).toEqual({ focus: "/acquisition/raw" });
    expect(treeKey("ArrowDown", rows, 4)).toEqual({ focus: "/units" });
    expect(treeKey("ArrowUp", rows, 2)).toEqual({ focus: "/acquisition/raw" });
    expect(treeKey("ArrowUp", rows, 0)).toEqual({ focus: "/acquisition" });
    expect(treeKey("Home", rows, 3)).toEqual({ focus: "/acquisition" });
    expect(treeKey("End", rows, 1)).toEqual({ focus: "/units" });
  });

  it("opens a closed group, enters an open one, closes or climbs with ArrowLeft", () => {
    expect(treeKey("ArrowRight", rows, 3)).toEqual({ expand: "/general", focus: "/general" });
    expect(treeKey("ArrowRight", rows, 0)).toEqual({ focus: "/acquisition/raw" });
    expect(treeKey("ArrowRight", rows, 1)).toEqual({ focus: "/acquisition/raw" }); // a leaf
    expect(treeKey("ArrowLeft", rows, 0)).toEqual({ collapse: "/acquisition", focus: "/acquisition" });
    expect(treeKey("ArrowLeft", rows, 2)).toEqual({ focus: "/acquisition" }); // closed: to parent
    expect(treeKey("ArrowLeft", rows, 4)).toEqual({ focus: "/units" }); // top level, closed
  });

  it("selects with Enter and Space, expands siblings with *, ignores other keys", () => {
    expect(treeKey("Enter", rows, 4)).toEqual({ select: "/units" });
    expect(treeKey(" ", rows, 1)).toEqual({ select: "/acquisition/raw" });
    expect(treeKey("*", rows, 3)).toEqual({ expandAll: ["/general", "/units"], focus: "/general" });
    expect(treeKey("Tab", rows, 1)).toBe(null);
    expect(treeKey("a", rows, 1)).toBe(null);
  });

  it("focuses the first row when nothing has the focus yet", () => {
    expect(treeKey("ArrowDown", rows, -1)).toEqual({ focus: "/acquisition" });
    expect(treeKey("ArrowDown", [], -1)).toBe(null);
    expect(treeKey("x", rows, -1)).toBe(null);
  });
});

describe("type-ahead", () => {
  it("finds the next name starting with the typed text, wrapping around", () => {
    expect(typeAhead(rows, 0, "u")).toBe(4);
    expect(typeAhead(rows, 4, "a")).toBe(0);
    expect(typeAhead(rows, 1, "L")).toBe(2);
    expect(typeAhead(rows, 0, "zz")).toBe(-1);
    expect(typeAhead(rows, -1, "a")).toBe(0);
  });

  it("adds up characters typed quickly and starts again after a pause", () => {
    let now = 0;
    const typed = new TypeAhead(500, () => now);
    expect(typed.push("g")).toBe("g");
    now = 100;
    expect(typed.push("e")).toBe("ge");
    now = 1000;
    expect(typed.push("u")).toBe("u");
    now = 1100;
    expect(typed.push("u")).toBe("u"); // a repeated letter cycles
  });
});

describe("listKey", () => {
  it("walks the results from the search box and back", () => {
    expect(listKey("ArrowDown", 3, -1)).toEqual({ active: 0 });
    expect(listKey("ArrowDown", 3, 2)).toEqual({ active: 2 });
    expect(listKey("ArrowUp", 3, 0)).toEqual({ active: -1 });
    expect(listKey("ArrowUp", 3, -1)).toEqual({ active: -1 });
    expect(listKey("End", 3, 0)).toEqual({ active: 2 });
    expect(listKey("Home", 3, -1)).toBe(null); // in the search box: its own Home
  });

  it("chooses with Enter (the first result from the box), closes with Escape", () => {
    expect(listKey("Enter", 3, 1)).toEqual({ choose: 1 });
    expect(listKey("Enter", 3, -1)).toEqual({ choose: 0 });
    expect(listKey("Enter", 0, -1)).toBe(null);
    expect(listKey("Escape", 3, 1)).toEqual({ close: true });
    expect(listKey("ArrowDown", 0, -1)).toBe(null);
    expect(listKey("a", 3, 1)).toBe(null);
  });
});
