// UnitsRaster front end: the population rate along the top, one row per unit below (ticks,
// or counts per column as a heat map when the window holds too many spikes), a page of units
// at a time with a scrollbar and PageUp / PageDown for the rest. Every zoom or pan (drag,
// wheel, double-click) asks the kernel for the window's spikes of the units on screen only.
// Rows are labelled and coloured by units columns; bands and event ticks can be drawn behind.
import { float64, h, int32, setTrait, whenShown } from "../common.js";
import { axis, fitTo, onCursor, secondsLabel, themeOf, timeInteraction, uPlot, watchTheme } from "../chart.js";
import { handled } from "../keys.js";
import { OverlayData, overlayPicker } from "../overlays.js";
import { colorOf, withAlpha } from "../palette.js";
import { clampOffset, heat, pageKey, rasterStatus, ROW_MAX, rowsThatFit } from "../raster_layout.js";
import { sameRange } from "../time_window.js";
import { snippetBox } from "../snippet.js";
import { listen, viewParts } from "../view_parts.js";

const HIST_HEIGHT = 80;

/** The 99th percentile of the non-zero counts: one burst does not wash out the rest. */
function robustMax(counts) {
  const nonzero = Array.from(counts).filter((c) => c > 0).sort((a, b) => a - b);
  return nonzero.length ? nonzero[Math.floor(0.99 * (nonzero.length - 1))] : 0;
}

function render({ model, el }) {
  const parts = viewParts(el, model, "lnx-raster");
  const { error, channel, title, status, legend } = parts;
  const colorBy = h("select", { class: "lnx-input", "aria-label": "Colour units by" });
  const labelBy = h("select", { class: "lnx-input", "aria-label": "Label units by" });
  const overlays = overlayPicker(model, channel, () => refresh());
  const code = snippetBox(channel);
  const histBox = h("div", { class: "lnx-hist-box" });
  const rasterBox = h("div", { class: "lnx-raster-box", tabindex: "0", "aria-label": "Raster: PageUp, PageDown, arrows page the units" });
  const spacer = h("div", { class: "lnx-vscroll-inner" });
  const scroller = h("div", { class: "lnx-vscroll", "aria-label": "Scroll the units" }, spacer);
  const area = h("div", { class: "lnx-raster-area" }, histBox, h("div", { class: "lnx-raster-row" }, rasterBox, scroller));
  el.replaceChildren(h("div", { class: "lnx-col" },
    h("div", { class: "lnx-toolbar" }, title, // wraps in a narrow panel
      h("label", { class: "lnx-check" }, "colour ", colorBy), h("label", { class: "lnx-check" }, "label ", labelBy),
      overlays.node, code.node),
    ...parts.lines(overlays.legend), area));

  let theme = themeOf(el);
  let meta = null; // the open reply (extent, columns)
  let last = null; // {msg, hist, edges, times, offsets, counts, countEdges}
  let ownRange = null;
  const overlayData = new OverlayData(model, channel, overlays.legend);
  const rows = () => Math.max(1, model.get("count") || 1);
  const slots = () => Math.max(1, last?.msg.count || rows()); // rows of the page drawn

  // -- the charts --------------------------------------------------------------------------
  const hist = new uPlot({
    width: 400, height: HIST_HEIGHT, legend: { show: false }, padding: [8, 16, 6, 0],
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false }, y: false },
    scales: { x: { time: false, auto: false }, y: { auto: true, range: (_u, _a, max) => [0, Math.max(1, max) * 1.05] } },
    axes: [axis(() => theme, { show: false }), axis(() => theme, { size: 64, label: "Hz", labelSize: 14, values: (_u, s) => s.map((v) => +v.toPrecision(3)) })],
    series: [{}, { stroke: () => theme.accent, fill: () => withAlpha(theme.accent, 0.25), width: 1, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }],
  }, [[0, 1], [0, 0]], histBox);

  const drawRaster = (u) => {
    if (!last) return;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const pxr = devicePixelRatio || 1;
    const n = last.msg.units.length;
    const rowH = height / slots();
    const color = colorOf(last.msg.scale);
    const unitColor = last.msg.units.map((unit) => color(unit.color) || theme.font);
    const toX = (t) => u.valToPos(t, "x", true);
    overlayData.draw(ctx, toX, { left, top, width, height, right: left + width, bottom: top + height }, pxr);
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    if (last.times) {
      ctx.lineWidth = Math.max(1, pxr);
      for (let k = 0; k < n; k++) {
        ctx.strokeStyle = unitColor[k];
        ctx.beginPath();
        const y0 = top + k * rowH + rowH * 0.12;
        const y1 = top + (k + 1) * rowH - rowH * 0.12;
        for (let i = last.offsets[k]; i < last.offsets[k + 1]; i++) {
          const x = Math.round(toX(last.times[i])) + 0.5;
          ctx.moveTo(x, y0);
          ctx.lineTo(x, Math.max(y1, y0 + pxr));
        }
        ctx.stroke();
      }
    } else if (last.counts) {
      const bins = last.countEdges.length - 1;
      const max = robustMax(last.counts);
      for (let k = 0; k < n; k++) {
        for (let j = 0; j < bins; j++) {
          const c = last.counts[k * bins + j];
          if (!(c > 0)) continue;
          ctx.fillStyle = withAlpha(unitColor[k], 0.25 + 0.75 * heat(c, max));
          const a = toX(last.countEdges[j]);
          const b = toX(last.countEdges[j + 1]);
          ctx.fillRect(a, top + k * rowH, Math.max(1, b - a), Math.max(1, rowH - pxr));
        }
      }
    }
    ctx.restore();
  };

  const raster = new uPlot({
    width: 400, height: 300, legend: { show: false }, padding: [8, 16, 0, 0],
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false }, y: false },
    scales: { x: { time: false, auto: false }, y: { auto: false, range: () => [0, slots()] } },
    axes: [
      axis(() => theme, { values: secondsLabel, label: "time (s)", labelSize: 18 }),
      axis(() => theme, {
        size: 64,
        label: "units",
        labelSize: 14,
        splits: () => {
          const n = last?.msg.units.length ?? 0;
          const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor((raster?.bbox.height ?? 300) / (devicePixelRatio || 1) / 14))));
          const out = [];
          for (let k = 0; k < n; k += every) out.push(slots() - k - 0.5);
          return out;
        },
        values: (_u, splits) => splits.map((v) => {
          const k = Math.round(slots() - v - 0.5);
          return last?.msg.units[k]?.label ?? "";
        }),
        grid: { show: false },
      }),
    ],
    series: [{}, { show: false }],
    hooks: { draw: [drawRaster] },
  }, [[0, 1], [null, null]], rasterBox);

  const extent = () => (meta?.extent ? meta.extent : null);
  const onRange = (range) => {
    ownRange = range;
    setTrait(model, "x_range", range || []);
    ask(range);
  };
  const timeA = timeInteraction(raster, { onRange, extent, root: el });
  const timeB = timeInteraction(hist, { onRange, extent, root: el });
  const uncursor = onCursor(el, (t) => {
    timeA.cursor(t);
    timeB.cursor(t);
  });

  function setRange(range) {
    timeA.setRange(range);
    timeB.setRange(range);
  }

  // -- requests ----------------------------------------------------------------------------
  function pageParams() {
    const count = rowsThatFit(rasterBox.clientHeight || 300, meta?.total ?? Infinity);
    if (count !== model.get("count")) setTrait(model, "count", count);
    return { offset: model.get("offset") || 0, count, width: Math.max(100, Math.round(rasterBox.clientWidth || 800)) };
  }

  function currentRange() {
    const r = model.get("x_range");
    return r?.length === 2 ? r : null;
  }

  async function open() {
    error.clear();
    const path = model.get("table_path");
    title.textContent = path || "No units table selected";
    title.title = path;
    meta = null;
    last = null;
    asked = null;
    channel.cancel("window");
    if (!path) {
      raster.redraw();
      return;
    }
    const range = currentRange();
    const { msg, buffers } = await channel.request("open", { table_path: path, ...pageParams(),
      ...(range ? { x0: range[0], x1: range[1] } : {}) }, "open");
    if (msg.table_path !== model.get("table_path")) return;
    meta = msg;
    fillSelect(colorBy, ["", ...msg.columns], msg.color_by, "no colour");
    fillSelect(labelBy, msg.columns, msg.label_by);
    draw(msg, buffers);
    // a window set while the table was opening (asked for nothing without meta): ask now
    if (JSON.stringify(currentRange()) !== JSON.stringify(range)) ask();
  }

  function fillSelect(select, names, chosen, none) {
    select.replaceChildren(...names.map((n) => h("option", { value: n, text: n || none, selected: n === chosen })));
  }

  let asked = null; // the parameters of the window last asked for
  const shown = whenShown(el, (range) => fetchWindow(range));
  const ask = (range = currentRange()) => shown.run(range);
  async function fetchWindow(range) {
    if (!meta) return;
    const params = { table_path: model.get("table_path"), ...pageParams(), ...(range ? { x0: range[0], x1: range[1] } : {}),
      filters: model.get("filters"), sort: model.get("sort"), color_by: model.get("color_by"), label_by: model.get("label_by") };
    const key = JSON.stringify(params);
    if (key === asked) return; // the same window is on its way
    asked = key;
    const { msg, buffers } = await channel.request("window", params, "window");
    if (msg.stale || msg.table_path !== model.get("table_path")) return;
    draw(msg, buffers);
  }

  function draw(msg, buffers) {
    const counts = float64(buffers[0]);
    const edges = float64(buffers[1]);
    last = { msg, edges };
    if (msg.mode === "ticks") {
      last.times = float64(buffers[2]);
      last.offsets = int32(buffers[3]);
    } else if (msg.mode === "counts" || msg.mode === "estimated") {
      last.counts = float64(buffers[2]);
      last.countEdges = float64(buffers[3]);
    }
    const width = edges.length > 1 ? edges[1] - edges[0] : 1;
    const units = Math.max(1, msg.units.length);
    const xs = Array.from(edges);
    const ys = [...Array.from(counts, (c) => c / (width * units)), counts.length ? counts[counts.length - 1] / (width * units) : 0];
    setRange([msg.x0, msg.x1]);
    hist.setData([xs, ys], false);
    status.textContent = rasterStatus(msg);
    status.title = status.textContent;
    showLegend(msg);
    spacer.style.height = `${Math.max(1, msg.total) * Math.min(ROW_MAX, (rasterBox.clientHeight || 300) / rows())}px`;
    syncScroll();
    overlayData.fetch(msg.x0, msg.x1).then(() => raster.redraw(false), () => {});
    rasterBox.dataset.rows = String(slots()); // the rows of this page (its labels sit beside them)
    // the y scale is the page's rows: set it (a redraw alone keeps the scale of the first draw)
    raster.setScale("y", { min: 0, max: slots() });
  }

  function showLegend(msg) {
    const scale = msg.scale || {};
    const parts = [];
    if (scale.kind === "category") {
      const color = colorOf(scale);
      parts.push(h("span", { text: `${msg.color_by}:` }));
      scale.names.forEach((name) => parts.push(h("span", { class: "lnx-swatch", style: { background: color(name) } }), h("span", { text: name })));
    } else if (scale.kind === "range") {
      parts.push(h("span", { text: `${msg.color_by}: ${+scale.min.toPrecision(4)}` }),
        h("span", { class: "lnx-ramp" }), h("span", { text: `${+scale.max.toPrecision(4)}` }));
    }
    legend.replaceChildren(...parts);
  }

  const refresh = () => { // the overlays changed (here or in another view): while shown
    if (last) overlaysShown.run();
  };
  const overlaysShown = whenShown(el, () => overlayData.fetch(last.msg.x0, last.msg.x1).then(() => raster.redraw(false), () => {}));

  // -- paging --------------------------------------------------------------------------------
  let scrolling = false;
  function syncScroll() {
    const total = last?.msg.total ?? 0;
    const inner = spacer.clientHeight - scroller.clientHeight;
    const most = Math.max(1, total - rows());
    scrolling = true;
    scroller.scrollTop = inner > 0 ? (model.get("offset") / most) * inner : 0;
    requestAnimationFrame(() => (scrolling = false));
  }
  let scrollTimer = null;
  scroller.addEventListener("scroll", () => {
    if (scrolling || !last) return;
    clearTimeout(scrollTimer);
    scrollTimer = setTimeout(() => {
      const inner = spacer.clientHeight - scroller.clientHeight;
      const total = last.msg.total;
      const offset = clampOffset(Math.round((scroller.scrollTop / Math.max(1, inner)) * (total - rows())), rows(), total);
      if (offset !== model.get("offset")) setTrait(model, "offset", offset);
    }, 80);
  });
  rasterBox.addEventListener("keydown", (event) => {
    const next = pageKey(event.key, model.get("offset") || 0, rows(), last?.msg.total ?? 0);
    if (next === null) return;
    handled(event);
    if (next !== model.get("offset")) setTrait(model, "offset", next);
  });

  // -- sizes, theme, traitlets ---------------------------------------------------------------
  const unfitHist = fitTo(histBox, hist, () => timeB.reapply());
  const unfitRaster = fitTo(rasterBox, raster, () => {
    timeA.reapply();
    const count = rowsThatFit(rasterBox.clientHeight, meta?.total ?? Infinity);
    if (meta && count !== model.get("count")) {
      setTrait(model, "count", count);
      ask();
    }
  });
  const untheme = watchTheme(() => {
    theme = themeOf(el);
    hist.redraw();
    raster.redraw();
  });
  colorBy.addEventListener("change", () => setTrait(model, "color_by", colorBy.value));
  labelBy.addEventListener("change", () => setTrait(model, "label_by", labelBy.value));
  const onRangeTrait = () => {
    const range = currentRange();
    if (sameRange(range || [], ownRange || [])) return; // our own zoom, already asked for
    ownRange = range;
    if (range) setRange(range);
    ask(range);
  };
  const onQuery = () => {
    if (model.get("offset")) setTrait(model, "offset", 0);
    ask();
  };
  const onAsk = () => ask();
  parts.opens(open, ["table_path"]);
  parts.onDestroy(untheme, uncursor, () => shown.destroy(), () => overlaysShown.destroy(), unfitHist, unfitRaster,
    () => overlays.destroy(), () => timeA.destroy(), () => timeB.destroy(),
    listen(model, { "change:x_range": onRangeTrait, "change:filters": onQuery, "change:sort": onQuery,
      "change:offset": onAsk, "change:color_by": onAsk, "change:label_by": onAsk }),
    () => hist.destroy(), () => raster.destroy());
  return parts.destroy;
}

export default { render };
