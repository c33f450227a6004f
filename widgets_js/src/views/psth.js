// PSTHView front end: per group the mean rate around the events with its 95% band (top), and
// the trial-aligned raster of the same spikes (below: one row per event, grouped, coloured by
// group). The unit is picked from the selection (the grid's filter and sort) or is the
// selection's mean. Everything is computed in the kernel; this draws what it sends.
import { count, float64, h, int32, setTrait } from "../common.js";
import { alignedControls, groupLegend } from "../aligned_controls.js";
import { axis, fitTo, secondsLabel, themeOf, uPlot, watchTheme } from "../chart.js";
import { categoryColor, withAlpha } from "../palette.js";
import { snippetBox } from "../snippet.js";
import { listen, viewParts } from "../view_parts.js";

function render({ model, el }) {
  const parts = viewParts(el, model, "lnx-psth");
  const { error, channel, title, status, legend } = parts;
  const unit = h("select", { class: "lnx-input", "aria-label": "Unit" });
  const prev = h("button", { class: "lnx-button", type: "button", text: "◀", "aria-label": "Previous unit" });
  const next = h("button", { class: "lnx-button", type: "button", text: "▶", "aria-label": "Next unit" });
  const bin = h("input", { class: "lnx-input", type: "number", step: "0.005", min: "0.001", "aria-label": "Bin width (s)" });
  const controls = alignedControls(model, () => compute(),
    [h("label", { class: "lnx-check" }, "bin ", bin, " s")]);
  const code = snippetBox(channel);
  const psthBox = h("div", { class: "lnx-psth-box" });
  const trialsBox = h("div", { class: "lnx-trials-box" });
  el.replaceChildren(h("div", { class: "lnx-col" },
    h("div", { class: "lnx-toolbar lnx-nowrap" }, title, prev, unit, next, code.node),
    controls.node, ...parts.lines(), h("div", { class: "lnx-psth-area" }, psthBox, trialsBox)));

  let theme = themeOf(el);
  let last = null; // {msg, rate, sem, times, rows, rowGroup}
  let total = 0;

  // the PSTH chart is made again for each reply (its groups, hence series and bands, change)
  const makePsth = (series = [{}], bands = [], data = [[0, 1]]) => new uPlot({
    width: Math.max(50, psthBox.clientWidth || 400), height: Math.max(40, psthBox.clientHeight || 200),
    legend: { show: false }, padding: [8, 12, 0, 0],
    cursor: { drag: { x: false, y: false }, points: { show: false }, y: false },
    scales: { x: { time: false }, y: { auto: true, range: (_u, min, max) => [Math.min(0, min), Math.max(1, max) * 1.05] } },
    axes: [axis(() => theme, { values: secondsLabel }), axis(() => theme, { size: 56, label: "rate (Hz)", labelSize: 16 })],
    series, bands,
    hooks: { drawClear: [(u) => zeroLine(u)] },
  }, data, psthBox);
  let psth = makePsth();

  function zeroLine(u) {
    if (!last) return;
    const x = u.valToPos(0, "x", true);
    const { top, height } = u.bbox;
    u.ctx.save();
    u.ctx.strokeStyle = theme.muted;
    u.ctx.setLineDash([4, 4]);
    u.ctx.beginPath();
    u.ctx.moveTo(x, top);
    u.ctx.lineTo(x, top + height);
    u.ctx.stroke();
    u.ctx.restore();
  }

  const trials = new uPlot({
    width: 400, height: 150, legend: { show: false }, padding: [4, 12, 0, 0],
    cursor: { drag: { x: false, y: false }, points: { show: false }, y: false },
    scales: { x: { time: false }, y: { auto: false, range: () => [0, Math.max(1, last?.rowGroup.length || 1)] } },
    axes: [axis(() => theme, { values: secondsLabel, label: "time from event (s)", labelSize: 18 }),
      axis(() => theme, { size: 56, label: "events", labelSize: 16, splits: () => [], values: () => [] })],
    series: [{}, { show: false }],
    hooks: { drawClear: [zeroLine], draw: [drawTrials] },
  }, [[0, 1], [null, null]], trialsBox);

  function drawTrials(u) {
    if (!last) return;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const pxr = devicePixelRatio || 1;
    const n = Math.max(1, last.rowGroup.length);
    const rowH = height / n;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    const byGroup = new Map();
    for (let i = 0; i < last.times.length; i++) {
      const row = last.rows[i];
      const g = last.rowGroup[row];
      if (!byGroup.has(g)) byGroup.set(g, []);
      byGroup.get(g).push(i);
    }
    ctx.lineWidth = Math.max(1, pxr);
    for (const [g, spikes] of byGroup) {
      ctx.strokeStyle = categoryColor(g);
      ctx.beginPath();
      for (const i of spikes) {
        const x = Math.round(u.valToPos(last.times[i], "x", true)) + 0.5;
        const y = top + last.rows[i] * rowH;
        ctx.moveTo(x, y);
        ctx.lineTo(x, y + Math.max(pxr, rowH * 0.8));
      }
      ctx.stroke();
    }
    ctx.strokeStyle = theme.grid; // group boundaries
    ctx.beginPath();
    for (let r = 1; r < n; r++) {
      if (last.rowGroup[r] !== last.rowGroup[r - 1]) {
        ctx.moveTo(left, top + r * rowH);
        ctx.lineTo(left + width, top + r * rowH);
      }
    }
    ctx.stroke();
    ctx.restore();
  }

  function draw(msg, buffers) {
    const rate = float64(buffers[0]);
    const sem = float64(buffers[1]);
    last = { msg, rate, sem, times: float64(buffers[2]), rows: int32(buffers[3]), rowGroup: int32(buffers[4]) };
    const edges = msg.edges;
    const bins = edges.length - 1;
    const x = Float64Array.from(edges);
    const data = [x];
    const series = [{}];
    const bands = [];
    msg.groups.forEach((g, i) => {
      const at = (k) => rate[i * bins + Math.min(k, bins - 1)];
      const band = (k, sign) => at(k) + sign * 1.959963984540054 * (sem[i * bins + Math.min(k, bins - 1)] || 0);
      const finite = (v) => (Number.isFinite(v) ? v : null); // a group without events: a gap
      data.push(Array.from({ length: bins + 1 }, (_, k) => finite(at(k))));
      data.push(Array.from({ length: bins + 1 }, (_, k) => finite(band(k, 1))));
      data.push(Array.from({ length: bins + 1 }, (_, k) => finite(band(k, -1))));
      const color = categoryColor(i);
      const stepped = uPlot.paths.stepped({ align: 1 });
      series.push({ stroke: color, width: 1.5, paths: stepped, points: { show: false } },
        { stroke: "transparent", paths: stepped, points: { show: false } },
        { stroke: "transparent", paths: stepped, points: { show: false } });
      const s = series.length - 1;
      bands.push({ series: [s - 1, s], fill: withAlpha(color, 0.18) });
    });
    psth.destroy();
    psth = makePsth(series, bands, data);
    trials.setData([msg.window, [null, null]]); // the x scale spans its data: the window
    title.textContent = `PSTH · ${msg.label}`;
    title.title = title.textContent;
    const which = msg.unit < 0 ? `${count(msg.units)} units` : `unit ${msg.unit + 1} of ${count(msg.total)}`;
    status.textContent = `${which}: ${count(msg.spikes)} spikes around ${count(msg.n_events)} events of ${msg.events_path}` +
      `${msg.cut ? " (the raster shows the first 200,000)" : ""}; band: mean ± 1.96 SE over events`;
    status.title = status.textContent;
    groupLegend(legend, msg.groups);
  }

  async function options() {
    const [{ msg: opts }, { msg: units }] = await Promise.all([channel.request("options", {}), channel.request("units", {})]);
    controls.fill(opts);
    total = units.total;
    unit.replaceChildren(h("option", { value: "-1", text: `mean of the selection (${count(units.total)})` }),
      ...units.labels.map((label, i) => h("option", { value: String(i), text: `${i + 1}: ${label}` })));
    unit.value = String(model.get("unit"));
  }

  async function compute() {
    error.clear();
    if (!model.get("table_path")) return;
    const { msg, buffers } = await channel.request("compute", {}, "compute");
    draw(msg, buffers);
    code.refresh();
  }

  async function open() {
    title.textContent = model.get("table_path") ? "PSTH" : "No units table selected";
    last = null;
    if (!model.get("table_path")) return;
    bin.value = model.get("bin_width");
    await options();
    await compute();
  }

  const pick = (i) => {
    setTrait(model, "unit", Math.max(-1, Math.min(total - 1, i)));
    unit.value = String(model.get("unit"));
    compute();
  };
  unit.addEventListener("change", () => pick(Number(unit.value)));
  prev.addEventListener("click", () => pick(model.get("unit") - 1));
  next.addEventListener("click", () => pick(model.get("unit") + 1));
  let binTimer = null;
  bin.addEventListener("input", () => {
    clearTimeout(binTimer);
    binTimer = setTimeout(() => {
      const w = Number(bin.value);
      if (!(w > 0)) return;
      setTrait(model, "bin_width", w);
      compute();
    }, 400);
  });
  const resizePsth = new ResizeObserver(() => psth.setSize({
    width: Math.max(50, psthBox.clientWidth), height: Math.max(40, psthBox.clientHeight) }));
  resizePsth.observe(psthBox);
  const unfitTrials = fitTo(trialsBox, trials);
  const untheme = watchTheme(() => {
    theme = themeOf(el);
    psth.redraw();
    trials.redraw();
  });
  const onQuery = () => {
    options().then(compute);
  };
  parts.opens(open, ["table_path"]);
  parts.onDestroy(untheme, () => resizePsth.disconnect(), unfitTrials,
    listen(model, { "change:filters": onQuery, "change:sort": onQuery }), () => psth.destroy(), () => trials.destroy());
  return parts.destroy;
}

export default { render };
