// The Explorer's split: the tree and schema sizes the dividers may set, given the room.
import { describe, expect, it } from "vitest";
import { DIVIDER, dividerKey, PANEL_MIN, RIGHT_MIN, schemaHeight, TREE_MIN, treeWidth } from "../src/layout.js";

describe("treeWidth", () => {
  it("keeps the width asked for when there is room", () => {
    expect(treeWidth(300, 1400)).toBe(300);
  });

  it("leaves the right side room for its controls, down to the narrowest tree", () => {
    expect(treeWidth(600, 900)).toBe(900 - RIGHT_MIN - DIVIDER);
    expect(treeWidth(360, 700)).toBe(700 - RIGHT_MIN - DIVIDER);
    expect(treeWidth(300, 400)).toBe(TREE_MIN);
    expect(treeWidth(10, 1400)).toBe(TREE_MIN);
    expect(treeWidth(Number.NaN, 1400)).toBe(300);
  });
});

describe("schemaHeight", () => {
  it("keeps the panel below at least PANEL_MIN tall", () => {
    expect(schemaHeight(170, 700)).toBe(170);
    expect(schemaHeight(600, 700)).toBe(700 - PANEL_MIN - DIVIDER);
    expect(schemaHeight(0, 700)).toBeGreaterThan(0);
    expect(700 - schemaHeight(1e9, 700) - DIVIDER).toBeGreaterThanOrEqual(PANEL_MIN);
  });
});

describe("dividerKey", () => {
  it("moves a divider along its axis only", () => {
    expect(dividerKey("ArrowRight", 300, true)).toBe(316);
    expect(dividerKey("ArrowLeft", 300, true)).toBe(284);
    expect(dividerKey("ArrowDown", 170, false)).toBe(186);
    expect(dividerKey("ArrowDown", 300, true)).toBe(null);
    expect(dividerKey("a", 300, true)).toBe(null);
    expect(treeWidth(dividerKey("End", 300, true), 1400)).toBe(Math.round(1400 * 0.6));
  });
});
