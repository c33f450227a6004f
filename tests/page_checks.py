"""Measurements of what a browser rendered, for the widget tests: text contrast (WCAG) from the
rendered colours, and controls that overlap. The colours are read back from a canvas, so any
CSS colour syntax the page uses (rgb, color-mix, color(srgb ...)) is measured as painted.
"""

from __future__ import annotations

from typing import Any

# contrast(el) -> the WCAG contrast ratio of el's text against what is painted behind it
CONTRAST_JS = r"""
(el) => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const rgba = (css) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = "rgba(0,0,0,0)";
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (top, bottom) => top.slice(0, 3).map((c, i) => c * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    const colour = rgba(getComputedStyle(node).backgroundColor);
    if (colour[3] > 0) layers.push(colour);
    if (colour[3] >= 1) break;
  }
  let background = [255, 255, 255, 1];
  for (const layer of layers.reverse()) background = over(layer, background);
  const text = over(rgba(getComputedStyle(el).color), background);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(text), lum(background)].sort((x, y) => y - x);
  return { ratio: (a + 0.05) / (b + 0.05), text: text.map(Math.round), background: background.map(Math.round) };
}
"""

# overlaps(root, selector) -> pairs of visible matches whose boxes intersect (neither inside
# the other), and matches that stick out of the root
OVERLAP_JS = r"""
([root, selector]) => {
  const outer = root.getBoundingClientRect();
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const folded = el.closest("details:not([open]) > :not(summary)"); // a closed <details>' content
    return r.width > 0 && r.height > 0 && style.visibility !== "hidden" && !el.closest("[hidden]") && !folded;
  };
  const items = [...root.querySelectorAll(selector)].filter(visible);
  const describe = (el) => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}` +
    `[${(el.getAttribute("aria-label") || el.textContent || "").trim().slice(0, 30)}]`;
  const boxes = items.map((el) => el.getBoundingClientRect());
  const pairs = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      if (items[i].contains(items[j]) || items[j].contains(items[i])) continue;
      const a = boxes[i], b = boxes[j];
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) pairs.push([describe(items[i]), describe(items[j]), Math.round(w), Math.round(h)]);
    }
  }
  const outside = items.filter((el, i) => boxes[i].right > outer.right + 1 || boxes[i].left < outer.left - 1
    || boxes[i].bottom > outer.bottom + 1 || boxes[i].top < outer.top - 1).map(describe);
  return { count: items.length, pairs, outside };
}
"""

CONTROLS = (
    ".lnx-toolbar > *, .lnx-title > *, .lnx-snippet-box > *, .lnx-search, .lnx-chips > *, "
    "[role=separator], .lnx-plot .main-svg .nsewdrag, .lnx-treebox, "
    ".lnx-grid-scroll, .lnx-plot-area, .lnx-schema .lnx-scroll, .lnx-session .lnx-scroll"
)


def contrast(locator: Any) -> dict[str, Any]:
    """{ratio, text, background} of an element's text as rendered."""
    return locator.evaluate(CONTRAST_JS)


def overlaps(root: Any, selector: str = CONTROLS) -> dict[str, Any]:
    """{count, pairs, outside} of the controls under `root` (a locator)."""
    return root.evaluate(f"(root) => ({OVERLAP_JS})([root, {selector!r}])")
