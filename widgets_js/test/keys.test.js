// Keys typed into a widget stay in it; shortcuts with modifiers still reach the notebook.
import { describe, expect, it } from "vitest";
import { isCharacter, isTyping, ownsKey } from "../src/keys.js";

const key = (k, target = { tagName: "INPUT" }, mods = {}) => ({ key: k, target, ...mods });

describe("isTyping", () => {
  it("is plain typing in inputs, text areas, selects and editable elements", () => {
    expect(isTyping(key("a"))).toBe(true);
    expect(isTyping(key("Backspace", { tagName: "TEXTAREA" }))).toBe(true);
    expect(isTyping(key("ArrowDown", { tagName: "SELECT" }))).toBe(true);
    expect(isTyping(key("x", { tagName: "DIV", isContentEditable: true }))).toBe(true);
  });

  it("is not a shortcut, Tab, or a key outside an editable element", () => {
    expect(isTyping(key("s", { tagName: "INPUT" }, { ctrlKey: true }))).toBe(false);
    expect(isTyping(key("Enter", { tagName: "INPUT" }, { metaKey: true }))).toBe(false);
    expect(isTyping(key("Tab"))).toBe(false);
    expect(isTyping(key("a", { tagName: "DIV" }))).toBe(false);
    expect(isTyping(key("a", null))).toBe(false);
  });
});

describe("isCharacter", () => {
  it("is one printable character without modifiers", () => {
    expect(isCharacter(key("a"))).toBe(true);
    expect(isCharacter(key("Ä"))).toBe(true);
    expect(isCharacter(key(" "))).toBe(false);
    expect(isCharacter(key("Enter"))).toBe(false);
    expect(isCharacter(key("a", null, { altKey: true }))).toBe(false);
  });
});

describe("ownsKey", () => {
  const el = (escapable = false) => ({ tagName: "DIV", closest: (sel) => (escapable && sel === "[data-lnx-escape]" ? {} : null) });
  it("takes plain keys, typing and navigation, inside a widget", () => {
    for (const k of ["a", "d", "ArrowDown", "Enter", " ", "Home", "1", "A"]) expect(ownsKey(key(k, el()))).toBe(true);
    expect(ownsKey(key("A", el(), { shiftKey: true }))).toBe(true);
  });

  it("leaves the notebook its shortcuts: modifiers, Tab, Shift+Enter, Escape with nothing to close", () => {
    expect(ownsKey(key("s", el(), { ctrlKey: true }))).toBe(false);
    expect(ownsKey(key("Enter", el(), { shiftKey: true }))).toBe(false);
    expect(ownsKey(key("Tab", el()))).toBe(false);
    expect(ownsKey(key("Escape", el()))).toBe(false);
    expect(ownsKey(key("Escape", el(true)))).toBe(true); // search results, a cell view
  });
});
