// Colours of categories and of values on a range (unit-tested). Categories use Tableau 10
// (distinct in light and dark themes, and for the common colour-vision deficiencies far
// better than a rainbow); values use viridis (perceptually even, readable in grey).

export const CATEGORY = [
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];

const VIRIDIS = [
  [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [110, 206, 88], [181, 222, 43], [253, 231, 37],
];

/** The colour of category i (cycling past ten); null or -1 is grey. */
export function categoryColor(i) {
  if (i === null || i === undefined || i < 0 || !Number.isFinite(i)) return "#8c8c8c";
  return CATEGORY[Math.floor(i) % CATEGORY.length];
}

/** viridis at t in [0, 1] (clamped), as rgb(). */
export function ramp(t) {
  if (!Number.isFinite(t)) return "#8c8c8c";
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const c = VIRIDIS[i].map((v, k) => Math.round(v + f * (VIRIDIS[i + 1][k] - v)));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** A value's colour on [min, max] (a flat range maps to the middle). */
export function rangeColor(value, min, max) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "#8c8c8c";
  return ramp(max > min ? (value - min) / (max - min) : 0.5);
}

/** #rrggbb or rgb(...) with an alpha. */
export function withAlpha(color, alpha) {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (m) {
    const n = parseInt(m[1], 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  const r = /^rgba?\(([^)]+)\)$/.exec(color);
  if (r) {
    const [a, b, c] = r[1].split(",").map((v) => v.trim());
    return `rgba(${a}, ${b}, ${c}, ${alpha})`;
  }
  return color;
}

/** How a view colours things by a scale from the kernel ({kind: category, names} or
 * {kind: range, min, max}): a function of a value (a category's name or a number). */
export function colorOf(scale) {
  if (!scale || scale.kind === "none") return () => null;
  if (scale.kind === "category") {
    const index = new Map((scale.names || []).map((n, i) => [String(n), i]));
    return (value) => categoryColor(index.has(String(value)) ? index.get(String(value)) : -1);
  }
  return (value) => rangeColor(Number(value), scale.min, scale.max);
}
