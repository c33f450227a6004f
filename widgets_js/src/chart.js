// What the new views' charts share: uPlot (canvas, fast with 100k ticks) themed from the
// --jp-* variables and following a theme switch live, zooming and panning in time (drag to
// select a window, wheel to zoom around the pointer, double-click for everything), the x-range
// reported after the user stops moving, and the time cursor.
//
// The cursor: a chart announces the time under the pointer with a bubbling `lnx-cursor`
// event ({t, source}); the Explorer hands it to its other views as `lnx-cursor-set`, and each
// draws a line there (a DOM line over the canvas: no redraw of the data). It never goes
// through the kernel: it changes at mouse speed and is no state.
import uPlot from "uplot";
import { zoomAround } from "./time_window.js";

export { uPlot };

export function themeOf(el) {
  const css = getComputedStyle(el);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const font = v("--jp-ui-font-color1", v("--vscode-editor-foreground", "#222"));
  return {
    font,
    muted: v("--jp-ui-font-color2", font),
    grid: v("--jp-border-color2", v("--vscode-editorWidget-border", "#ddd")),
    bg: v("--jp-layout-color1", v("--vscode-editor-background", "#fff")),
    accent: v("--jp-brand-color1", "#1976d2"),
    family: v("--jp-ui-font-family", "system-ui, sans-serif"),
  };
}

/** Call `callback` when JupyterLab (body data attributes) or VS Code (body classes) switch
 * theme; returns the unsubscribe. */
export function watchTheme(callback) {
  const observer = new MutationObserver(() => callback());
  observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light", "class"] });
  return () => observer.disconnect();
}

/** An axis drawn in the theme's colours (read at every draw: a theme switch is a redraw). */
export function axis(theme, extra = {}) {
  const t = () => theme();
  return {
    stroke: () => t().font,
    grid: { stroke: () => t().grid, width: 1 },
    ticks: { stroke: () => t().grid, width: 1, size: 4 },
    font: `11px ${t().family}`,
    labelFont: `11px ${t().family}`,
    ...extra,
  };
}

/** Seconds as the axis shows them: as many decimals as the step between ticks needs. */
export function secondsLabel(_u, splits, _axis, _space, step) {
  const decimals = Math.max(0, Math.min(9, -Math.floor(Math.log10(Math.abs(step) || 1) + 1e-9)));
  return splits.map((v) => (v === null ? "" : v.toFixed(decimals)));
}

/**
 * Time interactions on a chart whose x scale is time: drag selects a window, the wheel zooms
 * around the pointer, a double-click shows everything. `onRange` gets [t0, t1] (or null:
 * everything) after the user stops (150 ms); `setRange` moves the chart without reporting
 * it back. `cursor(t | null)` draws the shared time cursor. Charts using it set
 * `cursor.drag.setScale` false (the range is set here).
 */
export function timeInteraction(u, { onRange, extent = () => null, root }) {
  let timer = null;
  let wanted = null; // the range last set or chosen: set again after a resize (uPlot resets it)
  const setRange = (range) => {
    wanted = [range[0], range[1]];
    u.setScale("x", { min: range[0], max: range[1] });
  };
  const line = document.createElement("div");
  line.className = "lnx-cursor-line";
  line.hidden = true;
  u.over.append(line);

  const report = (range) => {
    clearTimeout(timer);
    timer = setTimeout(() => onRange(range), 150);
  };
  const choose = (range) => {
    setRange(range);
    report(range);
  };
  // a drag selects a window: made the range here (uPlot's own setScale is off: its scale
  // changes also come from resizes and data, and must not be taken for the user's)
  u.hooks.setSelect = u.hooks.setSelect || [];
  u.hooks.setSelect.push((self) => {
    if (self.select.width < 2) return;
    const a = self.posToVal(self.select.left, "x");
    const b = self.posToVal(self.select.left + self.select.width, "x");
    self.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    choose([a, b]);
  });
  const wheel = (event) => {
    event.preventDefault();
    const { min, max } = u.scales.x;
    if (!Number.isFinite(min) || !Number.isFinite(max)) return;
    const rect = u.over.getBoundingClientRect();
    const at = u.posToVal(event.clientX - rect.left, "x");
    const factor = event.deltaY > 0 ? 1.25 : 0.8;
    choose(zoomAround([min, max], at, factor, extent()));
  };
  const reset = () => {
    clearTimeout(timer);
    timer = setTimeout(() => onRange(null), 0);
  };
  u.over.addEventListener("wheel", wheel, { passive: false });
  u.over.addEventListener("dblclick", reset);
  const move = () => {
    const left = u.cursor.left;
    const t = left >= 0 ? u.posToVal(left, "x") : null;
    root?.dispatchEvent(new CustomEvent("lnx-cursor", { bubbles: true, detail: { t, source: root } }));
  };
  u.over.addEventListener("mousemove", move);
  u.over.addEventListener("mouseleave", () => root?.dispatchEvent(
    new CustomEvent("lnx-cursor", { bubbles: true, detail: { t: null, source: root } })));
  return {
    setRange,
    /** Set the range again (after a resize, which resets uPlot's scales). */
    reapply() {
      if (wanted) setRange(wanted);
    },
    cursor(t) {
      if (t === null || t === undefined || !Number.isFinite(t)) {
        line.hidden = true;
        return;
      }
      const x = u.valToPos(t, "x");
      line.hidden = !(x >= 0 && x <= u.over.clientWidth);
      line.style.left = `${x}px`;
    },
    destroy() {
      clearTimeout(timer);
      u.over.removeEventListener("wheel", wheel);
      u.over.removeEventListener("dblclick", reset);
    },
  };
}

/** Receive the Explorer's time cursor on a view's root (`lnx-cursor-set`). */
export function onCursor(root, draw) {
  const handler = (event) => draw(event.detail?.t ?? null);
  root.addEventListener("lnx-cursor-set", handler);
  return () => root.removeEventListener("lnx-cursor-set", handler);
}

/** Keep a chart as large as its box (the box's size decides; the chart follows); `extra`
 * runs after a resize (to set the time range again: a resize resets uPlot's scales). */
export function fitTo(box, u, extra = () => {}) {
  const resize = new ResizeObserver(() => {
    const width = Math.max(50, Math.floor(box.clientWidth));
    const height = Math.max(40, Math.floor(box.clientHeight));
    if (u.width !== width || u.height !== height) {
      u.setSize({ width, height });
      extra();
    }
  });
  resize.observe(box);
  return () => resize.disconnect();
}

/** Fill the canvas area (drawn under everything else: a drawClear hook). */
export function plotRect(u) {
  const { left, top, width, height } = u.bbox;
  return { left, top, width, height, right: left + width, bottom: top + height };
}
