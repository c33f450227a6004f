// ProbeView front end: every site where it sits on its shank (shanks side by side), coloured
// by its area or by its units (a column aggregated per site). Hover a site for what it is;
// click it to select its units (shift-click adds, a click beside the sites clears) - in the
// Explorer the grid, raster and PSTH then show those units.
import { float64, h, int32, setTrait } from "../common.js";
import { clearToBox, drawTicks, fitEqual, insideMargin, niceTicks } from "../canvas_axes.js";
import { themeOf, watchTheme } from "../chart.js";
import { handled } from "../keys.js";
import { colorOf } from "../palette.js";
import { snippetBox } from "../snippet.js";
import { listen, viewParts } from "../view_parts.js";

const MARGIN = { left: 64, right: 16, top: 12, bottom: 40 };

function render({ model, el }) {
  const parts = viewParts(el, model, "lnx-probe");
  const { error, channel, title, status, legend } = parts;
  const colorBy = h("select", { class: "lnx-input", "aria-label": "Colour sites by" });
  const aggregate = h("select", { class: "lnx-input", "aria-label": "Per site" },
    ...["mean", "max", "min", "count"].map((a) => h("option", { value: a, text: a })));
  const code = snippetBox(channel);
  const canvas = h("canvas", { role: "img", "aria-label": "Probe layout: click a site to select its units" });
  const tip = h("div", { class: "lnx-tip", hidden: true });
  const box = h("div", { class: "lnx-probe-box", tabindex: "0", "data-lnx-escape": "",
    "aria-label": "Probe: arrow keys move between sites, Enter selects a site's units, Space adds them, Escape clears" }, canvas, tip);
  el.replaceChildren(h("div", { class: "lnx-col" },
    h("div", { class: "lnx-toolbar" }, title, // wraps in a narrow panel
      h("label", { class: "lnx-check" }, "colour ", colorBy), aggregate, code.node),
    ...parts.lines(), box));

  let theme = themeOf(el);
  let sites = null; // {msg, x, y, group, location, perSite, peaks}
  let colors = null; // {scale, values}
  let hit = []; // [{k, px, py, r}] as drawn
  let focused = null; // the site the keyboard is on (index in hit)

  function layoutBoxes() {
    // shanks side by side: each group's x is offset by the widest group's width + a gap
    const groups = sites.msg.groups.length || 1;
    const spans = Array.from({ length: groups }, () => [Infinity, -Infinity]);
    for (let k = 0; k < sites.x.length; k++) {
      const g = sites.group[k];
      spans[g][0] = Math.min(spans[g][0], sites.x[k]);
      spans[g][1] = Math.max(spans[g][1], sites.x[k]);
    }
    const width = Math.max(...spans.map(([a, b]) => (b > a ? b - a : 0)), 1);
    let y0 = Infinity;
    let y1 = -Infinity;
    for (const v of sites.y) {
      y0 = Math.min(y0, v);
      y1 = Math.max(y1, v);
    }
    const gap = Math.max(width * 1.5, (y1 - y0) * 0.04);
    const shift = spans.map(([a], g) => g * (width + gap) - (Number.isFinite(a) ? a : 0));
    const centre = spans.map(([a], g) => (Number.isFinite(a) ? a : 0) + width / 2);
    return { shift, centre, width, gap, y0, y1, x1: groups * width + (groups - 1) * gap };
  }

  function draw() {
    const { ctx, width, height } = clearToBox(canvas, box);
    hit = [];
    if (!sites) return;
    const b = layoutBoxes();
    const pad = Math.max(b.width * 0.4, (b.y1 - b.y0) * 0.01, 1);
    const rect = insideMargin(width, height, MARGIN);
    // y (depth) fills the height; x keeps its own scale but at least a few px per site
    const fit = fitEqual({ x0: -pad, x1: b.x1 + pad, y0: b.y0 - pad, y1: b.y1 + pad }, rect);
    const xScale = Math.max(fit.scale, Math.min(rect.width / (b.x1 + 2 * pad), fit.scale * 4));
    const left = rect.left + (rect.width - (b.x1 + 2 * pad) * xScale) / 2;
    const toX = (x, g) => left + (x + b.shift[g] + pad) * xScale;
    const toY = fit.toY;
    const radius = Math.max(2.5, Math.min(8, Math.min(xScale * 8, fit.scale * 8)));
    const color = colors ? colorOf(colors.scale) : () => null;
    const selected = new Set(model.get("selected_units") || []);
    const selectedSites = new Set(Array.from(sites.peaks).filter((_, u) => selected.has(u)));
    for (let k = 0; k < sites.x.length; k++) {
      const g = sites.group[k];
      const px = toX(sites.x[k], g);
      const py = toY(sites.y[k]);
      const value = colors ? colors.values[k] : NaN;
      const fill = colors?.scale.kind === "category" ? color(colors.scale.names[value]) : color(value);
      ctx.beginPath();
      ctx.arc(px, py, radius, 0, 2 * Math.PI);
      ctx.fillStyle = fill || theme.grid;
      ctx.fill();
      if (sites.perSite[k] > 0) {
        ctx.lineWidth = 1;
        ctx.strokeStyle = theme.font;
        ctx.stroke();
      }
      if (selectedSites.has(k)) {
        ctx.lineWidth = 2.5;
        ctx.strokeStyle = theme.accent;
        ctx.beginPath();
        ctx.arc(px, py, radius + 3, 0, 2 * Math.PI);
        ctx.stroke();
      }
      hit.push({ k, px, py, r: radius + 2 });
    }
    if (focused !== null && hit[focused]) { // the keyboard's site
      const s = hit[focused];
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = theme.font;
      ctx.setLineDash([2, 2]);
      ctx.strokeRect(s.px - s.r - 2, s.py - s.r - 2, 2 * s.r + 4, 2 * s.r + 4);
      ctx.setLineDash([]);
    }
    const font = `11px ${theme.family}`;
    const drawn = { ...rect, left: toX(-pad, 0) - radius, width: (b.x1 + 2 * pad) * xScale };
    drawTicks(ctx, { values: niceTicks(b.y0, b.y1, Math.max(3, Math.floor(rect.height / 50))), at: toY, side: "left", rect: drawn, color: theme.font, font });
    ctx.save();
    ctx.fillStyle = theme.font;
    ctx.font = font;
    ctx.textAlign = "center";
    sites.msg.groups.forEach((name, g) => ctx.fillText(name, toX(b.centre[g], g), rect.top + rect.height + 22));
    ctx.translate(Math.max(12, drawn.left - 48), rect.top + rect.height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(sites.msg.y_name, 0, 0);
    ctx.restore();
  }

  function siteAt(event) {
    const r = canvas.getBoundingClientRect();
    const x = event.clientX - r.left;
    const y = event.clientY - r.top;
    let best = null;
    for (const s of hit) {
      const d = Math.hypot(s.px - x, s.py - y);
      if (d <= s.r && (!best || d < best.d)) best = { ...s, d };
    }
    return best;
  }

  canvas.addEventListener("mousemove", (event) => {
    const s = siteAt(event);
    if (!s || !sites) {
      tip.hidden = true;
      return;
    }
    const k = s.k;
    const value = colors ? colors.values[k] : NaN;
    const shown = colors?.scale.kind === "category" ? colors.scale.names[value] : Number.isFinite(value) ? +value.toPrecision(5) : "none";
    tip.textContent = `site ${k} · ${sites.msg.locations[sites.location[k]] ?? ""}\n` +
      `${sites.msg.x_name} ${+sites.x[k].toPrecision(6)}, ${sites.msg.y_name} ${+sites.y[k].toPrecision(6)}\n` +
      `${sites.perSite[k]} unit(s)${colors ? ` · ${model.get("color_by")}: ${shown}` : ""}`;
    tip.hidden = false;
    tip.style.left = `${Math.min(s.px + 12, box.clientWidth - 200)}px`;
    tip.style.top = `${Math.max(0, s.py - 10)}px`;
  });
  canvas.addEventListener("mouseleave", () => (tip.hidden = true));
  function select(site, add) {
    const units = site === null ? [] : Array.from(sites.peaks).flatMap((p, u) => (p === site ? [u] : []));
    const next = add ? Array.from(new Set([...(model.get("selected_units") || []), ...units])) : units;
    setTrait(model, "selected_units", next);
    showStatus();
    draw();
  }
  canvas.addEventListener("click", (event) => {
    if (!sites) return;
    const s = siteAt(event);
    select(s ? s.k : null, event.shiftKey);
  });
  // the keyboard: up / down move between sites (shank by shank, top to bottom), Enter
  // selects the site's units, Space adds them, Escape clears
  box.addEventListener("keydown", (event) => {
    if (!sites || !hit.length) return;
    const order = hit.map((s, i) => i).sort((a, b) => (sites.group[hit[a].k] - sites.group[hit[b].k]) || (hit[a].py - hit[b].py) || (hit[a].px - hit[b].px));
    const at = focused === null ? -1 : order.indexOf(focused);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      focused = order[Math.max(0, Math.min(order.length - 1, at < 0 ? 0 : at + step))];
    } else if ((event.key === "Enter" || event.key === " ") && focused !== null) {
      select(hit[focused].k, event.key === " ");
    } else if (event.key === "Escape") {
      select(null, false);
    } else return;
    handled(event);
    draw();
  });

  function showStatus() {
    if (!sites) return;
    const chosen = (model.get("selected_units") || []).length;
    status.textContent = `${sites.msg.sites} sites on ${sites.msg.groups.length} shank(s); ${sites.msg.placed} of ${sites.msg.units} units placed on their peak site` +
      (chosen ? `; ${chosen} unit(s) selected (click beside the sites to clear)` : "; click a site to select its units");
    status.title = status.textContent;
  }

  function showLegend() {
    const scale = colors?.scale || {};
    const parts = [h("span", { text: `${model.get("color_by") || "location"}:` })];
    if (scale.kind === "category") {
      const color = colorOf(scale);
      scale.names.forEach((name) => parts.push(h("span", { class: "lnx-swatch", style: { background: color(name) } }), h("span", { text: name || "(none)" })));
    } else if (scale.kind === "range") {
      parts.push(h("span", { text: `${+scale.min.toPrecision(4)}` }), h("span", { class: "lnx-ramp" }), h("span", { text: `${+scale.max.toPrecision(4)}` }));
    }
    parts.push(h("span", { text: "· outlined: sites with units" }));
    legend.replaceChildren(...parts);
  }

  async function recolor() {
    const { msg, buffers } = await channel.request("colors", { color_by: model.get("color_by"), aggregate: model.get("aggregate") }, "colors");
    colors = { scale: msg, values: float64(buffers[0]) };
    aggregate.hidden = !String(model.get("color_by")).startsWith("units.");
    showLegend();
    draw();
  }

  async function open() {
    error.clear();
    sites = null;
    colors = null;
    title.textContent = model.get("table_path") || "No electrodes table";
    if (!model.get("table_path")) return draw();
    const { msg, buffers } = await channel.request("layout", {}, "layout");
    sites = { msg, x: float64(buffers[0]), y: float64(buffers[1]), group: int32(buffers[2]), location: int32(buffers[3]), perSite: int32(buffers[4]), peaks: int32(buffers[5]) };
    const chosen = model.get("color_by");
    colorBy.replaceChildren(
      ...msg.electrode_columns.map((c) => h("option", { value: c, text: c, selected: c === chosen })),
      ...msg.unit_columns.map((c) => h("option", { value: `units.${c}`, text: `units: ${c}`, selected: `units.${c}` === chosen })));
    aggregate.value = model.get("aggregate");
    showStatus();
    await recolor();
  }

  colorBy.addEventListener("change", () => {
    setTrait(model, "color_by", colorBy.value);
    recolor();
  });
  aggregate.addEventListener("change", () => {
    setTrait(model, "aggregate", aggregate.value);
    recolor();
  });
  const resize = new ResizeObserver(draw);
  resize.observe(box);
  const untheme = watchTheme(() => {
    theme = themeOf(el);
    draw();
  });
  const onSelected = () => {
    showStatus();
    draw();
  };
  parts.opens(open, ["table_path", "units_path"]);
  parts.onDestroy(untheme, () => resize.disconnect(), listen(model, { "change:selected_units": onSelected }));
  return parts.destroy;
}

export default { render };
