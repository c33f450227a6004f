// RoiViewer front end: ROI masks over the plane's image above the segmentation's table (left),
// the traces of the selected ROIs (right, the full height: a plot keeps its room); in a view
// under NARROW_ROIS px the masks go beside the table and the traces below, full width. The
// table and the plot are widgets of their own
// (TableGrid, TimeSeriesPlot), rendered here through anywidget's host as the Explorer renders
// its panels; the kernel links them (the table's filter is the selection, a picked ROI's
// trace is drawn first and thicker, a clicked trace picks its ROI).
//
// Masks arrive in pages of typed arrays (row uint32, x uint16, y uint16, weight float32) and
// are drawn with masks.js onto a canvas over the background (frame_draw.js, grey). Hover
// shows the ROI's id and columns (asked for once per ROI); a click picks it.
import { h, setTrait } from "../common.js";
import { lut } from "../colormaps.js";
import { canvasSize, codesOf, framePixel, greyToRGBA, percentileCodes } from "../frame_draw.js";
import { labelImage, overlay, peakWeights } from "../masks.js";
import { traitSnippet } from "../snippet.js";
import { listen, viewParts } from "../view_parts.js";

// under this width the masks go beside their table and the traces below them (widgets.css)
const NARROW_ROIS = 640;

function concat(parts, Type) {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Type(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function typed(bytes, Type) { // an aligned copy of a buffer as a typed array
  return new Type(bytes.slice().buffer);
}

function render({ model, el, host }) {
  const parts = viewParts(el, model, "lnx-rois");
  const { error, channel, title, status } = parts;
  status.classList.add("lnx-roi-status");
  const series = h("select", { class: "lnx-input", "aria-label": "Traces of" });
  const seriesBox = h("label", { class: "lnx-check" }, "traces ", series);
  const style = h("select", { class: "lnx-input", "aria-label": "Mask style" },
    h("option", { value: "filled", text: "filled" }), h("option", { value: "outline", text: "outlines" }));
  const plane = h("select", { class: "lnx-input", "aria-label": "Plane" });
  const planeBox = h("label", { class: "lnx-check", hidden: true }, "plane ", plane);
  const back = h("canvas", { class: "lnx-frame-canvas lnx-roi-back" });
  const front = h("canvas", { class: "lnx-frame-canvas lnx-roi-front", role: "img", "aria-label": "ROI masks" });
  const stack = h("div", { class: "lnx-roi-stack" }, back, front);
  const stage = h("div", { class: "lnx-frame-stage" }, stack);
  const hover = h("div", { class: "lnx-meta lnx-roi-hover", "aria-live": "polite" });
  const gridPane = h("div", { class: "lnx-pane lnx-roi-grid" });
  const left = h("div", { class: "lnx-roi-left" }, stage, hover, gridPane);
  const plotPane = h("div", { class: "lnx-pane lnx-roi-plot" });
  const right = h("div", { class: "lnx-roi-right" }, plotPane);
  const code = traitSnippet(model, "Code for the masks and traces");
  el.replaceChildren(h("div", { class: "lnx-col" },
    h("div", { class: "lnx-toolbar lnx-nowrap" }, title, seriesBox, style, planeBox, code.button),
    h("div", { class: "lnx-toolbar" }, status), error.node,
    h("div", { class: "lnx-roi-body" }, left, right), code.node));

  const backContext = back.getContext("2d");
  const frontContext = front.getContext("2d");
  let meta = null;
  let pixels = null; // {rows, xs, ys, weights} of the plane shown
  let labels = null;
  let peaks = null;
  let background = null;
  const rowText = new Map(); // row -> Promise of its columns
  const children = [];
  let alive = true;
  let hoverTimer = null;
  el.lnxRoiState = () => ({ meta, pixels: pixels?.rows.length ?? 0, labels, shape: meta?.shape });

  async function child(ref, pane) {
    const widget = await host.getWidget(ref);
    const view = h("div", { class: "lnx-child" });
    const controller = new AbortController();
    if (alive) pane.append(view);
    await widget.render({ el: view, signal: controller.signal });
    children.push(controller);
  }
  let rendered = false; // the table and plot are drawn once there is a segmentation to show
  function renderChildren() {
    if (rendered || !model.get("table_path")) return;
    rendered = true;
    child(model.get("plot"), plotPane);
    child(model.get("grid"), gridPane);
  }

  // -- drawing ---------------------------------------------------------------------------
  function fit() {
    if (!front.width) return;
    const box = stage.getBoundingClientRect();
    const scale = Math.max(0.1, Math.min(box.width / front.width, box.height / front.height));
    for (const c of [back, front]) {
      c.style.width = `${Math.floor(front.width * scale)}px`;
      c.style.height = `${Math.floor(front.height * scale)}px`;
    }
  }

  function drawBackground() {
    if (!meta) return;
    const [width, height] = canvasSize(meta.shape, false);
    back.width = width;
    back.height = height;
    if (!background) {
      backContext.fillStyle = "#000";
      backContext.fillRect(0, 0, width, height);
      return;
    }
    const image = backContext.createImageData(width, height);
    const limits = percentileCodes(background.codes, 0.5, 99.5);
    greyToRGBA(background.codes, background.encoding.shape, limits, lut("gray"), false, image.data);
    backContext.putImageData(image, 0, 0);
  }

  function drawMasks() {
    if (!meta) return;
    const [width, height] = canvasSize(meta.shape, false);
    if (front.width !== width || front.height !== height) {
      front.width = width;
      front.height = height;
      fit();
    }
    const image = frontContext.createImageData(width, height);
    if (pixels) {
      const chosen = model.get("selected") || [];
      const selected = chosen.length >= meta.n_rois ? null : new Set(chosen);
      overlay(pixels, labels, meta.shape, { style: model.get("style"), selected, picked: model.get("picked"),
        peaks, transpose: false }, image.data);
    }
    frontContext.putImageData(image, 0, 0);
    describe();
  }

  function describe() {
    if (!meta) return;
    const chosen = (model.get("selected") || []).length;
    const kinds = { image_mask: "image masks", pixel_mask: "pixel masks", voxel_mask: "voxel masks" };
    const under = background ? `over ${background.how === "image" ? "" : `the ${background.how} of `}${background.path.split("/").pop()}` : "no image under them";
    status.textContent = `${chosen} of ${meta.n_rois} ROIs selected · ${kinds[meta.mask] || meta.mask} · ${meta.shape.join(" × ")} px ${under}`;
  }

  // -- requests --------------------------------------------------------------------------
  async function loadPlane(z) {
    const parts = { rows: [], xs: [], ys: [], weights: [] };
    let start = 0;
    while (start !== null && start !== undefined) {
      const { msg, buffers } = await channel.request("masks", { table_path: meta.table_path, plane: z, start }, "masks");
      if (msg.stale || msg.table_path !== model.get("table_path")) return false;
      parts.rows.push(typed(buffers[0], Uint32Array));
      parts.xs.push(typed(buffers[1], Uint16Array));
      parts.ys.push(typed(buffers[2], Uint16Array));
      parts.weights.push(typed(buffers[3], Float32Array));
      start = msg.next;
    }
    pixels = { rows: concat(parts.rows, Uint32Array), xs: concat(parts.xs, Uint16Array),
      ys: concat(parts.ys, Uint16Array), weights: concat(parts.weights, Float32Array) };
    labels = labelImage(pixels, meta.shape);
    peaks = peakWeights(pixels, meta.n_rois);
    return true;
  }

  function takeBackground(info, buffers) {
    background = info?.encoding ? { ...info, codes: codesOf(buffers[0], info.encoding) } : null;
  }

  async function open() {
    error.clear();
    channel.cancel("");
    meta = null;
    pixels = null;
    labels = null;
    background = null;
    rowText.clear();
    hover.textContent = "";
    const path = model.get("table_path");
    title.textContent = path || "No segmentation selected";
    title.title = path;
    status.textContent = path ? "reading the masks…" : "";
    drawOptions();
    if (!path) return;
    renderChildren();
    const { msg, buffers } = await channel.request("open", { table_path: path }, "open");
    if (msg.stale || msg.table_path !== model.get("table_path")) return;
    meta = msg;
    takeBackground(msg.background, buffers);
    planeBox.hidden = msg.planes <= 1;
    plane.replaceChildren(...Array.from({ length: msg.planes }, (_, z) => h("option", { value: z, text: String(z + 1) })));
    plane.value = String(Math.min(model.get("plane"), msg.planes - 1));
    drawBackground();
    if (await loadPlane(Number(plane.value))) drawMasks();
  }

  async function changePlane() {
    if (!meta) return;
    const z = model.get("plane");
    plane.value = String(z);
    const { msg, buffers } = await channel.request("background", { plane: z }, "background");
    takeBackground(msg.background, buffers);
    drawBackground();
    if (await loadPlane(z)) drawMasks();
  }

  function drawOptions() {
    const options = model.get("series_options") || [];
    seriesBox.hidden = !options.length;
    plotPane.hidden = !model.get("series_path");
    series.replaceChildren(...options.map((p) => h("option", { value: p, text: p.split("/").slice(-2).join("/") })));
    series.value = model.get("series_path");
    style.value = model.get("style");
  }

  function rowOf(row) {
    if (!rowText.has(row)) {
      rowText.set(row, channel.request("roi", { row }, `roi:${row}`).then(({ msg }) => msg.columns));
    }
    return rowText.get(row);
  }

  function pixelUnder(event) {
    if (!labels || !meta) return -1;
    const box = front.getBoundingClientRect();
    const column = Math.floor(((event.clientX - box.left) / box.width) * front.width);
    const row = Math.floor(((event.clientY - box.top) / box.height) * front.height);
    const [x, y] = framePixel(column, row, false);
    const [nx, ny] = meta.shape;
    if (x < 0 || y < 0 || x >= nx || y >= ny) return -1;
    return labels[x * ny + y];
  }

  async function showRow(row, prefix) {
    if (row < 0) {
      hover.textContent = "";
      return;
    }
    const columns = await rowOf(row);
    const id = meta.ids?.[row] ?? row;
    hover.textContent = `${prefix}ROI ${id} (row ${row})` + columns.filter(([n]) => n !== "id").map(([n, v]) => ` · ${n} ${v}`).join("");
  }

  front.addEventListener("mousemove", (event) => {
    const row = pixelUnder(event);
    clearTimeout(hoverTimer);
    hoverTimer = setTimeout(() => showRow(row, ""), 40);
  });
  front.addEventListener("mouseleave", () => {
    clearTimeout(hoverTimer);
    const picked = model.get("picked");
    if (picked >= 0) showRow(picked, "picked: ");
    else hover.textContent = "";
  });
  front.addEventListener("click", (event) => {
    const row = pixelUnder(event);
    setTrait(model, "picked", row);
  });
  series.addEventListener("change", () => setTrait(model, "series_path", series.value));
  style.addEventListener("change", () => setTrait(model, "style", style.value));
  plane.addEventListener("change", () => setTrait(model, "plane", Number(plane.value)));
  const resize = new ResizeObserver(() => {
    el.classList.toggle("lnx-roi-narrow", el.clientWidth > 0 && el.clientWidth < NARROW_ROIS);
    fit();
  });
  resize.observe(el);
  resize.observe(stage);

  const onPicked = () => {
    drawMasks();
    const picked = model.get("picked");
    if (picked >= 0 && meta) showRow(picked, "picked: ");
  };
  const unlisten = listen(model, { "change:table_path": open, "change:selected": drawMasks, "change:style": drawMasks,
    "change:picked": onPicked, "change:plane": changePlane, "change:series_path": drawOptions,
    "change:series_options": drawOptions, "change:snippet": drawOptions });
  open();
  parts.onDestroy(() => code.destroy(), () => resize.disconnect(), () => clearTimeout(hoverTimer), unlisten, () => {
    for (const controller of children) controller.abort();
  });
  return () => {
    alive = false;
    parts.destroy();
  };
}

export default { render };
