// The Explorer's split, as plain arithmetic (so it is unit-tested): how wide the tree may be
// and how tall the schema, given what the user asked for (the dividers' traitlets) and the
// room there is. The panel under the schema keeps room for a plot of at least 300 px (its
// toolbar and axes included); the right side keeps room for its controls.

export const DIVIDER = 6;
export const TREE_MIN = 160;
export const RIGHT_MIN = 380;
export const SCHEMA_MIN = 40;
export const PANEL_MIN = 452; // the tabs (28 px) and a plot of 300 px with its toolbars
export const NARROW = 640; // below this width the tree goes above the rest, full width
export const TREE_HEIGHT_MIN = 120;

const clamp = (value, lo, hi) => Math.round(Math.min(Math.max(value, lo), Math.max(lo, hi)));

/** The tree's width for a wanted width in an Explorer `total` px wide. */
export function treeWidth(wanted, total) {
  const most = Math.min(total * 0.6, total - RIGHT_MIN - DIVIDER);
  return clamp(Number.isFinite(wanted) ? wanted : 300, TREE_MIN, most);
}

/** The schema's height for a wanted height on a right side `total` px tall. */
export function schemaHeight(wanted, total) {
  return clamp(Number.isFinite(wanted) ? wanted : 170, SCHEMA_MIN, total - PANEL_MIN - DIVIDER);
}

/** Whether an Explorer `width` px wide stacks the tree above the schema and panel. */
export function isNarrow(width) {
  return width > 0 && width < NARROW;
}

/** The tree's height when stacked, in an Explorer `total` px tall: what is left once the
 * panel and a sliver of schema have their room. */
export function treeHeight(wanted, total) {
  const most = total - PANEL_MIN - SCHEMA_MIN - 2 * DIVIDER;
  return clamp(Number.isFinite(wanted) ? wanted : 220, TREE_HEIGHT_MIN, most);
}

/** A divider moved by the keyboard: the new size, or null for a key it does not handle. */
export function dividerKey(key, size, vertical) {
  const step = { ArrowLeft: -16, ArrowRight: 16, ArrowUp: -16, ArrowDown: 16 };
  const along = vertical ? ["ArrowLeft", "ArrowRight"] : ["ArrowUp", "ArrowDown"];
  if (along.includes(key)) return size + step[key];
  if (key === "Home") return 0;
  if (key === "End") return Number.MAX_SAFE_INTEGER;
  return null;
}
