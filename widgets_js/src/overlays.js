// Bands (intervals: trials, epochs, stimulus presentations) and ticks (events: licks,
// rewards) behind a time view's data: the picker, the requests, and the drawing on a canvas.
// The choice lives in the view's `bands` / `ticks` traitlets (the Explorer shares them
// between its time views); the data is asked for each window (only what overlaps it).
import { float64, h, setTrait } from "./common.js";
import { categoryColor, withAlpha } from "./palette.js";

const int32 = (bytes) => new Int32Array(bytes.slice().buffer);

/** The overlay picker of a view: a <details> with a bands source, its colour column and the
 * event sources to tick. Returns {node, legend, refresh}. */
export function overlayPicker(model, channel, onChange) {
  const summary = h("summary", { class: "lnx-button", text: "Overlays" });
  const bandSource = h("select", { class: "lnx-input", "aria-label": "Intervals drawn as bands" });
  const bandColor = h("select", { class: "lnx-input", "aria-label": "Colour the bands by" });
  const tickList = h("div", { class: "lnx-overlay-ticks", role: "group", "aria-label": "Events drawn as ticks" });
  const panel = h("div", { class: "lnx-overlay-panel" },
    h("label", { class: "lnx-check" }, "bands ", bandSource),
    h("label", { class: "lnx-check" }, "colour by ", bandColor),
    h("span", { class: "lnx-meta", text: "ticks" }), tickList);
  const node = h("details", { class: "lnx-overlays" }, summary, panel);
  const legend = h("span", { class: "lnx-legend lnx-meta" });
  let options = null;

  function fill() {
    const bands = model.get("bands") || {};
    const chosen = (options?.intervals || []).find((i) => i.path === bands.path);
    bandSource.replaceChildren(h("option", { value: "", text: "none" }),
      ...(options?.intervals || []).map((i) => h("option", { value: i.path, text: i.path, selected: i.path === bands.path })));
    bandColor.replaceChildren(h("option", { value: "", text: "one colour" }),
      ...(chosen?.columns || []).map((c) => h("option", { value: c, text: c, selected: c === bands.color_by })));
    bandColor.disabled = !chosen;
    const ticks = new Set(model.get("ticks") || []);
    tickList.replaceChildren(...(options?.events || []).map((path) => h("label", { class: "lnx-check", title: path },
      h("input", { type: "checkbox", value: path, checked: ticks.has(path) }), ` ${path}`)));
    if (!(options?.events || []).length) tickList.append(h("span", { class: "lnx-meta", text: "none in this file" }));
  }

  async function load() {
    if (options) return;
    const { msg } = await channel.request("overlay_options", {});
    options = msg;
    fill();
  }
  node.addEventListener("toggle", () => node.open && load());
  bandSource.addEventListener("change", () => {
    const path = bandSource.value;
    const source = (options?.intervals || []).find((i) => i.path === path);
    const prefer = ["stimulus_name", "stim_name", "tags", "trial_type", "type"];
    const color = source ? (source.columns.find((c) => prefer.includes(c)) || "") : "";
    setTrait(model, "bands", path ? { path, color_by: color } : {});
    fill();
  });
  bandColor.addEventListener("change", () => {
    setTrait(model, "bands", { ...(model.get("bands") || {}), color_by: bandColor.value });
  });
  tickList.addEventListener("change", () => {
    setTrait(model, "ticks", Array.from(tickList.querySelectorAll("input:checked"), (b) => b.value));
  });
  const changed = () => {
    if (options) fill();
    onChange();
  };
  model.on("change:bands", changed);
  model.on("change:ticks", changed);
  return {
    node,
    legend,
    destroy() {
      model.off("change:bands", changed);
      model.off("change:ticks", changed);
    },
  };
}

/** The bands and ticks of the current window: `fetch(x0, x1)` asks for them, `draw` paints
 * them on a canvas (bands as translucent columns, ticks along the top). */
export class OverlayData {
  constructor(model, channel, legend) {
    this.model = model;
    this.channel = channel;
    this.legend = legend;
    this.bands = null;
    this.ticks = [];
  }

  active() {
    return !!(this.model.get("bands") || {}).path || (this.model.get("ticks") || []).length > 0;
  }

  async fetch(x0, x1) {
    const wantBands = !!(this.model.get("bands") || {}).path;
    const wantTicks = (this.model.get("ticks") || []).length > 0;
    const jobs = [];
    if (wantBands) {
      jobs.push(this.channel.request("bands", { x0, x1 }).then(({ msg, buffers }) => {
        this.bands = { msg, starts: float64(buffers[0]), stops: float64(buffers[1]), codes: int32(buffers[2]) };
      }));
    } else this.bands = null;
    if (wantTicks) {
      jobs.push(this.channel.request("ticks", { x0, x1 }).then(({ msg, buffers }) => {
        this.ticks = msg.paths.map((p, i) => ({ ...p, times: float64(buffers[i]) }));
      }));
    } else this.ticks = [];
    await Promise.all(jobs);
    this.showLegend();
  }

  showLegend() {
    const parts = [];
    if (this.bands?.msg.path) {
      const { names, color_by: by, cut, n, total } = this.bands.msg;
      parts.push(h("span", { text: `${this.bands.msg.path}${by ? ` by ${by}` : ""}${cut ? ` (${n} of ${total} drawn)` : ""}:` }));
      (names.length ? names : ["intervals"]).slice(0, 12).forEach((name, i) => parts.push(
        h("span", { class: "lnx-swatch", style: { background: withAlpha(categoryColor(names.length ? i : 0), 0.55) } }),
        h("span", { text: name })));
    }
    this.ticks.forEach((t, i) => parts.push(
      h("span", { class: "lnx-swatch lnx-swatch-tick", style: { background: tickColor(i) } }),
      h("span", { text: `${t.path.split("/").pop()}${t.cut ? ` (${t.n} of ${t.total})` : ""}` })));
    this.legend.replaceChildren(...parts);
  }

  /** Paint on `ctx` (canvas pixels): `toX(t)` maps time to canvas x; the rect is the plot
   * area in canvas pixels; `pxr` the device pixel ratio. */
  draw(ctx, toX, rect, pxr = 1) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(rect.left, rect.top, rect.width, rect.height);
    ctx.clip();
    if (this.bands) {
      const { starts, stops, codes } = this.bands;
      const named = this.bands.msg.names.length > 0;
      for (let i = 0; i < starts.length; i++) {
        const a = Math.max(rect.left, toX(starts[i]));
        const b = Math.min(rect.right, toX(stops[i]));
        if (!(b > a - 1)) continue;
        ctx.fillStyle = withAlpha(categoryColor(named ? codes[i] : 0), 0.16);
        ctx.fillRect(a, rect.top, Math.max(1, b - a), rect.height);
      }
    }
    this.ticks.forEach((t, k) => {
      ctx.strokeStyle = tickColor(k);
      ctx.lineWidth = Math.max(1, pxr);
      ctx.beginPath();
      const top = rect.top + k * 6 * pxr;
      for (const time of t.times) {
        const x = Math.round(toX(time)) + 0.5;
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + 8 * pxr);
      }
      ctx.stroke();
    });
    ctx.restore();
  }
}

/** Event ticks are drawn in the last palette colours (bands use the first). */
export function tickColor(k) {
  return categoryColor(9 - (k % 5));
}
