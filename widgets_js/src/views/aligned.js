// AlignedSeriesView front end: a series around events - each event's trace faint, the mean
// per group over them with its 95% band. Traces are drawn as read (every sample); the mean
// is on a common grid (the kernel interpolates). A 2-D series shows one channel at a time.
import { count, float64, h, int32, setTrait } from "../common.js";
import { alignedControls, groupLegend } from "../aligned_controls.js";
import { axis, secondsLabel, themeOf, uPlot, watchTheme } from "../chart.js";
import { categoryColor, withAlpha } from "../palette.js";
import { snippetBox } from "../snippet.js";
import { viewParts } from "../view_parts.js";

function render({ model, el }) {
  const parts = viewParts(el, model, "lnx-aligned");
  const { error, channel, title, status, legend } = parts;
  const column = h("select", { class: "lnx-input", "aria-label": "Channel" });
  const columnLabel = h("label", { class: "lnx-check", hidden: true }, "channel ", column);
  const controls = alignedControls(model, () => compute(), [columnLabel]);
  const code = snippetBox(channel);
  const box = h("div", { class: "lnx-chart-box" });
  el.replaceChildren(h("div", { class: "lnx-col" },
    h("div", { class: "lnx-toolbar lnx-nowrap" }, title, code.node), controls.node, ...parts.lines(), box));

  let theme = themeOf(el);
  let last = null; // {msg, traceT, traceV, offsets, groups}
  let unit = "";

  function drawTraces(u) {
    if (!last) return;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    ctx.lineWidth = Math.max(1, devicePixelRatio || 1) * 0.75;
    const n = last.offsets.length - 1;
    for (let j = 0; j < n; j++) {
      ctx.strokeStyle = withAlpha(categoryColor(last.groups[j]), 0.12);
      ctx.beginPath();
      let pen = false;
      for (let i = last.offsets[j]; i < last.offsets[j + 1]; i++) {
        const v = last.traceV[i];
        if (!Number.isFinite(v)) {
          pen = false;
          continue;
        }
        const x = u.valToPos(last.traceT[i], "x", true);
        const y = u.valToPos(v, "y", true);
        if (pen) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
        pen = true;
      }
      ctx.stroke();
    }
    const x0 = u.valToPos(0, "x", true); // the event
    ctx.strokeStyle = theme.muted;
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(x0, top);
    ctx.lineTo(x0, top + height);
    ctx.stroke();
    ctx.restore();
  }

  const make = (series = [{}], bands = [], data = [[0, 1]]) => new uPlot({
    width: Math.max(50, box.clientWidth || 400), height: Math.max(40, box.clientHeight || 300),
    legend: { show: false }, padding: [8, 12, 0, 0],
    cursor: { drag: { x: false, y: false }, points: { show: false }, y: false },
    scales: { x: { time: false }, y: { auto: true, range: (_u, min, max) => yRange(min, max) } },
    axes: [axis(() => theme, { values: secondsLabel, label: "time from event (s)", labelSize: 18 }),
      axis(() => theme, { size: 60, label: unit ? `value (${unit})` : "value", labelSize: 16 })],
    series, bands,
    hooks: { drawClear: [drawTraces] },
  }, data, box);
  let chart = make();

  function yRange(min, max) {
    let lo = min;
    let hi = max;
    if (last) { // the traces too, not only the means
      for (const v of last.traceV) {
        if (Number.isFinite(v)) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    const pad = (hi - lo) * 0.05 || 1;
    return [lo - pad, hi + pad];
  }

  function draw(msg, buffers) {
    const grid = float64(buffers[0]);
    const mean = float64(buffers[1]);
    const sem = float64(buffers[2]);
    last = { msg, traceT: float64(buffers[4]), traceV: float64(buffers[5]), offsets: int32(buffers[6]), groups: int32(buffers[7]) };
    unit = msg.unit || "";
    const n = grid.length;
    const data = [grid];
    const series = [{}];
    const bands = [];
    msg.groups.forEach((g, i) => {
      const m = mean.subarray(i * n, (i + 1) * n);
      const e = sem.subarray(i * n, (i + 1) * n);
      const z = 1.959963984540054;
      // plain arrays: a gap is null (a typed array would make it 0)
      data.push(Array.from(m, (v) => (Number.isFinite(v) ? v : null)));
      data.push(Array.from(m, (v, k) => (Number.isFinite(v) ? v + z * (e[k] || 0) : null)));
      data.push(Array.from(m, (v, k) => (Number.isFinite(v) ? v - z * (e[k] || 0) : null)));
      const color = categoryColor(i);
      series.push({ stroke: color, width: 2, points: { show: false } },
        { stroke: "transparent", points: { show: false } }, { stroke: "transparent", points: { show: false } });
      bands.push({ series: [series.length - 2, series.length - 1], fill: withAlpha(color, 0.22) });
    });
    chart.destroy();
    chart = make(series, bands, data);
    title.textContent = `${msg.series_path}${msg.channel !== null && msg.channel !== undefined ? ` · channel ${msg.channel}` : ""} around events`;
    title.title = title.textContent;
    status.textContent = `${count(msg.traces)} events` +
      `${msg.cut ? `, ${count(msg.shown)} traces drawn (spread over them)` : ", every trace drawn"}; mean ± 1.96 SE over events (samples interpolated onto a common grid)`;
    status.title = status.textContent;
    groupLegend(legend, msg.groups);
  }

  async function compute() {
    error.clear();
    if (!model.get("series_path")) return;
    const { msg, buffers } = await channel.request("compute", {}, "compute");
    if (msg.series_path !== model.get("series_path")) return;
    draw(msg, buffers);
    code.refresh();
  }

  async function open() {
    last = null;
    title.textContent = model.get("series_path") || "No series selected";
    if (!model.get("series_path")) return;
    const { msg } = await channel.request("options", {}, "options");
    controls.fill(msg);
    columnLabel.hidden = msg.n_channels < 2;
    column.replaceChildren(...msg.labels.map((label, c) => h("option", { value: String(c), text: `${c}: ${label}`, selected: c === model.get("channel") })));
    await compute();
  }

  column.addEventListener("change", () => {
    setTrait(model, "channel", Number(column.value));
    compute();
  });
  const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(50, box.clientWidth), height: Math.max(40, box.clientHeight) }));
  resize.observe(box);
  const untheme = watchTheme(() => {
    theme = themeOf(el);
    chart.redraw();
  });
  parts.opens(open, ["series_path"]);
  parts.onDestroy(untheme, () => resize.disconnect(), () => chart.destroy());
  return parts.destroy;
}

export default { render };
