// TimeSeriesPlot front end: plotly (bundled, no CDN). Opens with the series' overview; every
// zoom or pan sends the x-range and the pixel width, and only replies for the series shown now
// (and the newest of their kind) are drawn (plot_requests.js). The kernel sends every sample,
// the envelope of every sample, or sampled blocks with NaN gaps; the status line says which.
// Channels are stacked (labelled on the y axis) or overlaid. Colours follow the --jp-* theme,
// live: a theme switch re-colours the plot without a redraw of its data.
import Plotly from "plotly.js-cartesian-dist-min";
import { float64, h, setTrait, whenShown } from "../common.js";
import { PlotRequests, relayoutRange } from "../plot_requests.js";
import { buildTraces, cursorShapes, plain, stackOffsets, statusText, yAxis } from "../plot_traces.js";
import { OverlayData, overlayPicker, tickColor } from "../overlays.js";
import { categoryColor, withAlpha } from "../palette.js";
import { onCursor } from "../chart.js";
import { listen, viewParts } from "../view_parts.js";

const MAX_SHAPES = 3000; // bands and ticks drawn as plotly shapes (SVG): beyond, the legend says so

const MARGIN = { l: 64, r: 12, t: 8, b: 40 };

function themeLayout(el) {
  const css = getComputedStyle(el);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const font = v("--jp-ui-font-color1", v("--vscode-editor-foreground", "#222"));
  const muted = v("--jp-ui-font-color2", font);
  const grid = v("--jp-border-color2", v("--vscode-editorWidget-border", "#ddd"));
  const axis = { gridcolor: grid, zerolinecolor: grid, linecolor: grid, tickcolor: grid, color: font };
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: font, size: 11 },
    legend: { font: { color: font } },
    modebar: { bgcolor: "rgba(0,0,0,0)", color: muted, activecolor: font },
    hoverlabel: { font: { color: v("--jp-ui-inverse-font-color0", "#fff") } },
    xaxis: axis,
    yaxis: axis,
  };
}

function render({ model, el }) {
  const parts = viewParts(el, model, "lnx-plot");
  const { error, channel, title, status } = parts;
  const requests = new PlotRequests();
  const summary = h("summary", { class: "lnx-button", text: "Channels" });
  const list = h("div", { class: "lnx-channel-list", role: "group", "aria-label": "Channels" });
  const picker = h("details", { class: "lnx-channels", hidden: true }, summary, list);
  const stacked = h("input", { type: "checkbox", "aria-label": "Stack channels" });
  const stackLabel = h("label", { class: "lnx-check", hidden: true }, stacked, " stacked");
  const plot = h("div", { class: "lnx-plot-area" });
  const cursorLine = h("div", { class: "lnx-cursor-line", hidden: true });
  const overlays = overlayPicker(model, channel, () => overlaysShown.run());
  const overlaysShown = whenShown(el, () => fetchOverlays());
  const overlayData = new OverlayData(model, channel, overlays.legend);
  el.replaceChildren(h("div", { class: "lnx-col" },
    h("div", { class: "lnx-toolbar lnx-nowrap" }, title, picker, stackLabel, overlays.node),
    h("div", { class: "lnx-toolbar" }, status), h("div", { class: "lnx-toolbar" }, overlays.legend), error.node,
    h("div", { class: "lnx-plot-wrap" }, plot, cursorLine)));
  let meta = null; // the open reply of the series shown
  let last = null; // {msg, x, ys, range} of the last drawing
  let stack = null; // {key, offsets, spacing}: kept while the channels stay the same
  let applying = false;
  let timer = null;
  let ownRange = null; // the x-range this view last set (its change event needs no request)

  const pixels = () => Math.max(100, Math.round(plot.clientWidth || el.clientWidth || 800));
  const channels = () => model.get("channels") || [];

  function layout(range) {
    const base = themeLayout(el);
    const isStacked = model.get("stacked") && last?.msg.traces.length > 1;
    const room = plot.clientHeight ? plot.clientHeight - MARGIN.t - MARGIN.b : Infinity;
    const y = last ? yAxis(last.msg, meta, isStacked, stack?.offsets, stack?.spacing, room) : { autorange: true };
    const labels = isStacked ? last.msg.traces.map((t) => plain(t.label).length) : [0];
    return {
      ...base,
      margin: { ...MARGIN, l: Math.min(180, Math.max(MARGIN.l, 14 + 7 * Math.max(...labels))) },
      showlegend: !isStacked && (last?.msg.traces.length || 0) > 1,
      legend: { ...base.legend, orientation: "h", y: 1.02, yanchor: "bottom" },
      xaxis: { ...base.xaxis, title: { text: "time (s)" }, ...(range ? { range, autorange: false } : { autorange: true }) },
      yaxis: { ...base.yaxis, ...y },
      uirevision: model.get("series_path"),
      shapes: [...overlayShapes(), ...cursorShapes(model.get("time"), base.font.color)],
    };
  }

  // bands behind the traces, event ticks along the top (plotly shapes, at most MAX_SHAPES)
  function overlayShapes() {
    const shapes = [];
    const bands = overlayData.bands;
    if (bands) {
      const named = bands.msg.names.length > 0;
      for (let i = 0; i < bands.starts.length && shapes.length < MAX_SHAPES; i++) {
        shapes.push({ type: "rect", xref: "x", yref: "paper", x0: bands.starts[i], x1: bands.stops[i], y0: 0, y1: 1,
          fillcolor: withAlpha(categoryColor(named ? bands.codes[i] : 0), 0.16), line: { width: 0 }, layer: "below" });
      }
    }
    overlayData.ticks.forEach((t, k) => {
      for (let i = 0; i < t.times.length && shapes.length < MAX_SHAPES; i++) {
        shapes.push({ type: "line", xref: "x", yref: "paper", x0: t.times[i], x1: t.times[i], y0: 1 - 0.03 * (k + 1), y1: 1 - 0.03 * k,
          line: { color: tickColor(k), width: 1 }, layer: "above" });
      }
    });
    return shapes;
  }

  async function fetchOverlays() {
    if (!last && !overlayData.active()) return;
    const x0 = last?.range ? last.range[0] : last?.msg.x0;
    const x1 = last?.range ? last.range[1] : last?.msg.x1;
    await overlayData.fetch(x0 ?? null, x1 ?? null);
    if (last) redraw();
  }

  async function drawReply(msg, buffers, range) {
    const x = float64(buffers[0]);
    const ys = msg.traces.map((_, k) => float64(buffers[k + 1]));
    const key = msg.traces.map((t) => t.channel).join(",");
    if (!stack || stack.key !== key) stack = { key, ...stackOffsets(ys) };
    last = { msg, x, ys, range };
    await redraw();
    if (overlayData.active()) fetchOverlays();
    status.textContent = statusText(msg);
    status.title = status.textContent;
  }

  async function redraw() {
    if (!last) return;
    applying = true;
    try {
      const traces = buildTraces(last.msg, last.x, last.ys,
        { stacked: model.get("stacked"), offsets: stack?.offsets, picked: model.get("picked") });
      await Plotly.react(plot, traces, layout(last.range), { displaylogo: false, responsive: true });
      fitPlot();
    } finally {
      applying = false;
    }
  }

  // plotly sizes a plot drawn while hidden (a panel not shown yet) at its default 700x450:
  // once the area has a size, the drawing takes it
  function fitPlot() {
    const full = plot._fullLayout;
    const { clientWidth: w, clientHeight: h } = plot;
    if (!full || !w || !h || (Math.abs(full.width - w) <= 1 && Math.abs(full.height - h) <= 1)) return;
    Plotly.Plots.resize(plot);
    if (!last) return;
    const { tickvals, ticktext } = layout(last.range).yaxis; // the labels that fit the new height
    if (tickvals && tickvals.length !== full.yaxis?.tickvals?.length) {
      Plotly.relayout(plot, { "yaxis.tickvals": tickvals, "yaxis.ticktext": ticktext });
    }
  }

  function drawPicker(msg) {
    const many = msg.n_channels > 1;
    picker.hidden = !many;
    stackLabel.hidden = !many;
    stacked.checked = !!model.get("stacked");
    if (!many) return list.replaceChildren();
    const chosen = new Set(msg.channels);
    const labels = msg.labels || [];
    summary.textContent = `Channels (${chosen.size} of ${msg.n_channels})`;
    list.replaceChildren(...Array.from({ length: Math.min(msg.n_channels, 1024) }, (_, c) => {
      const box = h("input", { type: "checkbox", value: c, checked: chosen.has(c) });
      return h("label", { class: "lnx-check", title: labels[c] || `ch${c}` }, box, ` ${c}: ${labels[c] || `ch${c}`}`);
    }));
  }

  async function open() {
    error.clear();
    const path = model.get("series_path");
    title.textContent = path || "No series selected";
    title.title = path;
    const params = requests.open(path);
    channel.cancel("window");
    meta = null;
    last = null;
    stack = null;
    status.textContent = "";
    picker.hidden = true;
    stackLabel.hidden = true;
    if (!params) {
      applying = true;
      await Plotly.react(plot, [], layout(null), { displaylogo: false, responsive: true });
      applying = false;
      return;
    }
    const { msg, buffers } = await channel.request("open", { series_path: path, width: pixels(), channels: channels() }, params.slot);
    if (!requests.current(msg)) return; // another series since
    const deferred = requests.opened(msg);
    meta = msg;
    drawPicker(msg);
    await drawReply(msg, buffers, null);
    const range = model.get("x_range");
    if (deferred) send(deferred);
    else if (range && range.length === 2) requestWindow(range[0], range[1]);
  }

  // a hidden plot (another panel is shown) asks for its window once it is shown again
  const shown = whenShown(el, (x0, x1) => {
    const request = requests.window(x0, x1);
    if (request) send(request);
  });
  const requestWindow = (x0, x1) => shown.run(x0, x1);

  async function send(request) {
    const { msg, buffers } = await channel.request("window", {
      series_path: request.series_path, x0: request.x0, x1: request.x1, width: pixels(), channels: channels(),
    }, request.slot);
    if (!requests.current(msg)) return;
    if (meta && msg.channels) drawPicker({ ...meta, channels: msg.channels });
    await drawReply(msg, buffers, request.x0 === null ? null : [request.x0, request.x1]);
  }

  function onRelayout(event) {
    if (applying) return;
    const range = relayoutRange(event);
    if (range === null) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      ownRange = JSON.stringify(range);
      setTrait(model, "x_range", range);
      requestWindow(range.length ? range[0] : null, range.length ? range[1] : null);
    }, 120);
  }

  // a hidden plot (another panel is shown) opens a new series once it is shown
  const opening = whenShown(el, () => open());
  const reopen = () => opening.run();

  // the Explorer's time cursor: announce the time under the pointer, draw the others'
  const toTime = (event) => {
    const full = plot._fullLayout;
    if (!full?.xaxis) return null;
    const px = event.clientX - plot.getBoundingClientRect().left - full.margin.l;
    return px >= 0 && px <= full.xaxis._length ? full.xaxis.p2l(px) : null;
  };
  plot.addEventListener("mousemove", (event) => el.dispatchEvent(new CustomEvent("lnx-cursor",
    { bubbles: true, detail: { t: toTime(event), source: el } })));
  plot.addEventListener("mouseleave", () => el.dispatchEvent(new CustomEvent("lnx-cursor",
    { bubbles: true, detail: { t: null, source: el } })));
  const uncursor = onCursor(el, (t) => {
    const full = plot._fullLayout;
    if (t === null || !full?.xaxis) {
      cursorLine.hidden = true;
      return;
    }
    const px = full.xaxis.l2p(t);
    cursorLine.hidden = !(px >= 0 && px <= full.xaxis._length);
    cursorLine.style.left = `${full.margin.l + px}px`;
    cursorLine.style.top = `${full.margin.t}px`;
    cursorLine.style.bottom = `${full.margin.b}px`;
  });

  Plotly.newPlot(plot, [], layout(null), { displaylogo: false, responsive: true }).then(() => {
    plot.on("plotly_relayout", onRelayout);
    plot.on("plotly_click", (event) => { // a trace clicked: its channel is `picked`
      const k = event?.points?.[0]?.curveNumber;
      const trace = last?.msg.traces[k];
      if (trace) setTrait(model, "picked", trace.channel);
    });
    opening.run();
  });

  let pick = null;
  list.addEventListener("change", () => {
    clearTimeout(pick);
    pick = setTimeout(() => {
      const chosen = Array.from(list.querySelectorAll("input:checked"), (b) => Number(b.value));
      summary.textContent = `Channels (${chosen.length} of ${meta?.n_channels ?? chosen.length})`;
      setTrait(model, "channels", chosen);
    }, 250);
  });
  stacked.addEventListener("change", () => setTrait(model, "stacked", stacked.checked));

  const current = () => {
    const r = model.get("x_range");
    return r?.length === 2 ? r : [null, null];
  };
  const onChannels = () => {
    if (meta) requestWindow(...current());
  };
  const onRange = () => {
    if (JSON.stringify(model.get("x_range")) === ownRange) return; // our own zoom, already asked for
    if (meta) requestWindow(...current());
  };
  const onStacked = () => {
    stacked.checked = !!model.get("stacked");
    redraw();
  };
  // the theme: JupyterLab marks it on <body>, VS Code with body classes
  const recolour = () => {
    if (!applying) Plotly.relayout(plot, themeLayoutOnly());
  };
  const themeLayoutOnly = () => {
    const base = themeLayout(el);
    const flat = { paper_bgcolor: base.paper_bgcolor, plot_bgcolor: base.plot_bgcolor, "font.color": base.font.color,
      "legend.font.color": base.font.color, "modebar.color": base.modebar.color, "modebar.activecolor": base.modebar.activecolor };
    for (const axis of ["xaxis", "yaxis"]) {
      for (const [k, value] of Object.entries(base[axis])) flat[`${axis}.${k}`] = value;
    }
    return flat;
  };
  const themes = new MutationObserver(recolour);
  themes.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light", "class"] });
  // drawn while hidden (another panel shown), the plot takes its size when shown
  const resize = new ResizeObserver(() => last && fitPlot());
  resize.observe(plot);
  const drawTimeCursor = () => {
    if (!applying && last) {
      Plotly.relayout(plot, { shapes: [...overlayShapes(), ...cursorShapes(model.get("time"), themeLayout(el).font.color)] });
    }
  };
  const unlisten = listen(model, { "change:series_path": reopen, "change:channels": onChannels, "change:x_range": onRange,
    "change:stacked": onStacked, "change:time": drawTimeCursor, "change:picked": redraw });
  parts.onDestroy(unlisten, uncursor, () => shown.destroy(), () => opening.destroy(), () => overlaysShown.destroy(),
    () => overlays.destroy(), () => themes.disconnect(), () => resize.disconnect(), () => clearTimeout(timer),
    () => Plotly.purge(plot));
  return parts.destroy;
}

export default { render };
