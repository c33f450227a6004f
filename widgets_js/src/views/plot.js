// TimeSeriesPlot front end: plotly (bundled, no CDN). Opens with a bounded overview; every
// zoom or pan sends the x-range and the pixel width, and only the newest reply is drawn.
import Plotly from "plotly.js-dist-min";
import { Channel, errorLine, float64, h, setTrait, sizeRoot } from "../common.js";

// plotly parses a few HTML-like tags in names: escape them so file text stays text.
const plain = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function theme(el) {
  const css = getComputedStyle(el);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const grid = v("--jp-border-color2", "#ddd");
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: v("--jp-ui-font-color1", v("--vscode-editor-foreground", "#222")), size: 11 },
    xaxis: { gridcolor: grid, zerolinecolor: grid },
    yaxis: { gridcolor: grid, zerolinecolor: grid },
  };
}

function render({ model, el }) {
  const unsize = sizeRoot(el, model, "lnx-plot");
  const error = errorLine();
  const channel = new Channel(model, (msg) => error.show(msg));
  const title = h("span", { class: "lnx-name" });
  const status = h("span", { class: "lnx-meta", role: "status" });
  const picker = h("select", { class: "lnx-input", multiple: true, "aria-label": "Channels", hidden: true, size: 3 });
  const plot = h("div", { class: "lnx-plot-area" });
  el.replaceChildren(h("div", { class: "lnx-col" },
    h("div", { class: "lnx-toolbar" }, title, status, picker), error.node, plot));
  let meta = null;
  let drawn = false;
  let applying = false;
  let timer = null;
  let ownRange = null;
  let draws = 0; // the x-range this view last set (its change event needs no request)

  const pixels = () => Math.max(100, Math.round(plot.clientWidth || el.clientWidth || 800));

  function traces(msg, buffers) {
    return msg.traces.map((t, i) => ({
      type: "scatter", mode: "lines", line: { width: 1 }, name: plain(t.name),
      x: float64(buffers[2 * i]), y: float64(buffers[2 * i + 1]),
    }));
  }

  function layout(range) {
    const base = theme(el);
    const unit = meta?.unit ? ` (${plain(meta.unit)})` : "";
    return {
      ...base, margin: { l: 60, r: 10, t: 10, b: 40 }, showlegend: true,
      legend: { orientation: "h", y: 1.02, yanchor: "bottom" },
      xaxis: { ...base.xaxis, title: { text: "time (s)" }, ...(range ? { range, autorange: false } : { autorange: true }) },
      // a new y uirevision per draw: y always autoscales to the visible data
      yaxis: { ...base.yaxis, title: { text: `value${unit}` }, autorange: true, uirevision: ++draws },
      uirevision: model.get("series_path"),
    };
  }

  function describe(msg) {
    status.textContent = `${msg.samples} samples in view · ${msg.traces.filter((t) => t.downsampled).length ? "downsampled" : "all samples"}`;
  }

  async function draw(msg, buffers, range) {
    applying = true;
    try {
      await Plotly.react(plot, traces(msg, buffers), layout(range), { displaylogo: false, responsive: true });
      drawn = true;
    } finally {
      applying = false;
    }
    describe(msg);
  }

  const channels = () => model.get("channels") || [];

  async function open() {
    error.clear();
    const path = model.get("series_path");
    title.textContent = path || "No series selected";
    if (!path) return;
    const { msg, buffers } = await channel.request("open", { width: pixels(), channels: channels() }, "window");
    meta = msg;
    picker.hidden = !(msg.n_channels > 1);
    if (msg.n_channels > 1) {
      const chosen = new Set(msg.channels);
      picker.replaceChildren(...Array.from({ length: Math.min(msg.n_channels, 512) }, (_, c) =>
        h("option", { value: c, text: `ch${c}`, selected: chosen.has(c) })));
    }
    const range = model.get("x_range");
    await draw(msg, buffers, null);
    if (range && range.length === 2) requestWindow(range[0], range[1]);
  }

  async function requestWindow(x0, x1) {
    const { msg, buffers } = await channel.request("window", { x0, x1, width: pixels(), channels: channels() }, "window");
    await draw(msg, buffers, x0 === null ? null : [x0, x1]);
  }

  function onRelayout(event) {
    if (applying || !event) return;
    let range = null;
    if ("xaxis.range[0]" in event) range = [event["xaxis.range[0]"], event["xaxis.range[1]"]];
    else if (Array.isArray(event["xaxis.range"])) range = event["xaxis.range"];
    else if (!event["xaxis.autorange"]) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const value = range ? range.map(Number) : [];
      ownRange = JSON.stringify(value);
      setTrait(model, "x_range", value);
      requestWindow(range ? Number(range[0]) : null, range ? Number(range[1]) : null);
    }, 120);
  }

  Plotly.newPlot(plot, [], layout(null), { displaylogo: false, responsive: true }).then(() => {
    plot.on("plotly_relayout", onRelayout);
    open();
  });

  picker.addEventListener("change", () => {
    setTrait(model, "channels", Array.from(picker.selectedOptions, (o) => Number(o.value)));
  });
  const onChannels = () => {
    const r = model.get("x_range");
    if (drawn) requestWindow(r?.length === 2 ? r[0] : null, r?.length === 2 ? r[1] : null);
  };
  const onRange = () => {
    const r = model.get("x_range");
    if (JSON.stringify(r) === ownRange) return; // our own zoom, already requested
    if (drawn) requestWindow(r?.length === 2 ? r[0] : null, r?.length === 2 ? r[1] : null);
  };
  const resize = new ResizeObserver(() => drawn && Plotly.Plots.resize(plot));
  resize.observe(plot);
  model.on("change:series_path", open);
  model.on("change:channels", onChannels);
  model.on("change:x_range", onRange);
  return () => {
    unsize();
    channel.close();
    resize.disconnect();
    model.off("change:series_path", open);
    model.off("change:channels", onChannels);
    model.off("change:x_range", onRange);
    Plotly.purge(plot);
  };
}

export default { render };
