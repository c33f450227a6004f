// PositionView front end: the trajectory of the time window as a path coloured from its start
// (dark) to its end (yellow), inside the whole trajectory's bounds (so it does not jump as
// the window moves). The window is the `x_range` traitlet - the Explorer's time axis - and
// the time cursor of the other views is a ring on the path.
import { count, float64, h, setTrait, whenShown } from "../common.js";
import { clearToBox, drawTicks, fitEqual, insideMargin, niceTicks } from "../canvas_axes.js";
import { onCursor, themeOf, watchTheme } from "../chart.js";
import { ramp } from "../palette.js";
import { snippetBox } from "../snippet.js";
import { listen, viewParts } from "../view_parts.js";

const MARGIN = { left: 56, right: 16, top: 12, bottom: 40 };

function render({ model, el }) {
  const parts = viewParts(el, model, "lnx-position");
  const { error, channel, title, status, legend } = parts;
  const from = h("input", { class: "lnx-input", type: "number", step: "1", "aria-label": "Window start (s)" });
  const to = h("input", { class: "lnx-input", type: "number", step: "1", "aria-label": "Window end (s)" });
  const all = h("button", { class: "lnx-button", type: "button", text: "All" });
  const code = snippetBox(channel);
  const canvas = h("canvas", { role: "img", "aria-label": "Trajectory in the time window" });
  const box = h("div", { class: "lnx-probe-box" }, canvas);
  el.replaceChildren(h("div", { class: "lnx-col" },
    h("div", { class: "lnx-toolbar lnx-nowrap lnx-controls" }, title, "from ", from, " to ", to, " s", all, code.node),
    ...parts.lines(), box));

  let theme = themeOf(el);
  let meta = null;
  let last = null; // {msg, t, x, y}
  let cursorT = null;

  function draw() {
    const { ctx, width, height } = clearToBox(canvas, box);
    if (!meta) return;
    const [x0, x1, y0, y1] = meta.bounds;
    const pad = Math.max(x1 - x0, y1 - y0) * 0.03 || 1;
    const rect = insideMargin(width, height, MARGIN);
    const fit = fitEqual({ x0: x0 - pad, x1: x1 + pad, y0: y0 - pad, y1: y1 + pad }, rect);
    ctx.strokeStyle = theme.grid;
    ctx.strokeRect(fit.toX(x0), fit.toY(y1), (x1 - x0) * fit.scale, (y1 - y0) * fit.scale);
    const font = `11px ${theme.family}`;
    const fmt = (v) => String(+v.toPrecision(4));
    const drawn = { left: fit.toX(x0), top: fit.toY(y1), width: (x1 - x0) * fit.scale, height: (y1 - y0) * fit.scale };
    drawTicks(ctx, { values: niceTicks(y0, y1, 5), at: fit.toY, side: "left", rect: drawn, color: theme.font, font, format: fmt });
    drawTicks(ctx, { values: niceTicks(x0, x1, 6), at: fit.toX, side: "bottom", rect: drawn, color: theme.font, font, format: fmt });
    if (last && last.t.length) {
      const t0 = last.msg.t0;
      const span = Math.max(last.msg.t1 - t0, 1e-12);
      ctx.lineWidth = 1.5;
      ctx.lineCap = "round";
      for (let i = 1; i < last.t.length; i++) {
        if (!Number.isFinite(last.x[i]) || !Number.isFinite(last.x[i - 1])) continue;
        ctx.strokeStyle = ramp((last.t[i] - t0) / span);
        ctx.beginPath();
        ctx.moveTo(fit.toX(last.x[i - 1]), fit.toY(last.y[i - 1]));
        ctx.lineTo(fit.toX(last.x[i]), fit.toY(last.y[i]));
        ctx.stroke();
      }
      if (cursorT !== null) {
        let lo = 0;
        let hi = last.t.length - 1;
        while (lo < hi) { // the first sample at or after the cursor
          const mid = (lo + hi) >> 1;
          if (last.t[mid] < cursorT) lo = mid + 1;
          else hi = mid;
        }
        if (cursorT >= last.t[0] && cursorT <= last.t[last.t.length - 1]) {
          ctx.strokeStyle = theme.accent;
          ctx.lineWidth = 2.5;
          ctx.beginPath();
          ctx.arc(fit.toX(last.x[lo]), fit.toY(last.y[lo]), 7, 0, 2 * Math.PI);
          ctx.stroke();
        }
      }
    }
  }

  function range() {
    const r = model.get("x_range");
    return r?.length === 2 ? r : null;
  }

  const shown = whenShown(el, () => fetchWindow());
  const ask = () => shown.run();
  async function fetchWindow() {
    if (!meta) return;
    const r = range();
    const { msg, buffers } = await channel.request("window", { series_path: model.get("series_path"), ...(r ? { t0: r[0], t1: r[1] } : {}) }, "window");
    if (msg.stale) return;
    show(msg, buffers);
  }

  function show(msg, buffers) {
    last = { msg, t: float64(buffers[0]), x: float64(buffers[1]), y: float64(buffers[2]) };
    if (document.activeElement !== from) from.value = +msg.t0.toFixed(3); // not while typed in
    if (document.activeElement !== to) to.value = +msg.t1.toFixed(3);
    status.textContent = `${count(msg.total)} samples from ${msg.t0.toFixed(2)} to ${msg.t1.toFixed(2)} s` +
      (msg.step > 1 ? `, every ${msg.step}th drawn` : ", every one drawn");
    status.title = status.textContent;
    legend.replaceChildren(h("span", { text: `${msg.t0.toFixed(1)} s` }), h("span", { class: "lnx-ramp" }), h("span", { text: `${msg.t1.toFixed(1)} s` }),
      h("span", { text: meta?.reference_frame ? `· ${meta.reference_frame}` : "" }));
    draw();
  }

  async function open() {
    error.clear();
    meta = null;
    last = null;
    const path = model.get("series_path");
    title.textContent = path || "No series selected";
    title.title = path;
    if (!path) return draw();
    const r = range();
    const { msg, buffers } = await channel.request("open", { series_path: path, ...(r ? { t0: r[0], t1: r[1] } : {}) }, "open");
    if (msg.series_path !== model.get("series_path")) return;
    meta = msg;
    show(msg, buffers);
    // a window set while the series was opening (asked for nothing without meta): ask now
    if (JSON.stringify(range()) !== JSON.stringify(r)) ask();
  }

  const setWindow = () => {
    const a = Number(from.value);
    const b = Number(to.value);
    if (Number.isFinite(a) && Number.isFinite(b) && b > a) setTrait(model, "x_range", [a, b]);
  };
  from.addEventListener("change", setWindow);
  to.addEventListener("change", setWindow);
  all.addEventListener("click", () => setTrait(model, "x_range", []));
  const uncursor = onCursor(el, (t) => {
    cursorT = t;
    draw();
  });
  const resize = new ResizeObserver(draw);
  resize.observe(box);
  const untheme = watchTheme(() => {
    theme = themeOf(el);
    draw();
  });
  parts.opens(open, ["series_path", "columns"]);
  parts.onDestroy(untheme, uncursor, () => shown.destroy(), () => resize.disconnect(), listen(model, { "change:x_range": ask }));
  return parts.destroy;
}

export default { render };
