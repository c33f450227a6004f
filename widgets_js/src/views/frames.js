// FrameViewer front end: a movie one frame at a time, or an image, drawn on a canvas.
//
// Frames come as uint8 / uint16 codes in binary buffers (frame_draw.js decodes them), are
// drawn through a colour map between contrast limits taken from the frame's percentiles, and
// scaled to fit with square pixels. Scrubbing (slider, arrow keys, Page Up / Down, Home / End)
// asks for one frame; playing asks for batches ahead (playback.js) and draws every frame in
// turn at the chosen rate. The frame's time goes to the `time` traitlet and, when it leaves the
// shared `x_range`, moves the range; a range set elsewhere that leaves the frame outside it
// moves the frame. Images of an Images container are chosen from a list.
import { h, setTrait } from "../common.js";
import { COLORMAPS, lut } from "../colormaps.js";
import {
  canvasSize, codesOf, colourToRGBA, framePixel, greyToRGBA, percentileCodes, shortNumber, valueOf,
} from "../frame_draw.js";
import { handled } from "../keys.js";
import { FrameCache, Pacer, planPrefetch } from "../playback.js";
import { traitSnippet } from "../snippet.js";
import { listen, viewParts } from "../view_parts.js";

const STEP = { ArrowLeft: -1, ArrowRight: 1, ArrowDown: -1, ArrowUp: 1, PageDown: 10, PageUp: -10 };

function render({ model, el }) {
  const parts = viewParts(el, model, "lnx-frames");
  const { error, channel, title, status } = parts;
  const chooser = h("select", { class: "lnx-input", "aria-label": "Image", hidden: true });
  const canvas = h("canvas", { class: "lnx-frame-canvas", "aria-label": "Frame", role: "img" });
  const stage = h("div", { class: "lnx-frame-stage", tabindex: "0", "aria-label": "Frame viewer: arrow keys step, space plays" }, canvas);
  const play = h("button", { class: "lnx-button", type: "button", text: "Play", "aria-label": "Play" });
  const slider = h("input", { type: "range", min: "0", max: "0", value: "0", class: "lnx-frame-slider", "aria-label": "Frame" });
  const fps = h("input", { type: "number", min: "1", max: "240", step: "1", class: "lnx-input lnx-num", "aria-label": "Frames per second" });
  const plane = h("select", { class: "lnx-input", "aria-label": "Plane" });
  const planeBox = h("label", { class: "lnx-check", hidden: true }, "plane ", plane);
  const transport = h("div", { class: "lnx-toolbar lnx-nowrap", hidden: true }, play, slider,
    h("label", { class: "lnx-check" }, fps, " fps"), planeBox);
  const cmap = h("select", { class: "lnx-input", "aria-label": "Colour map" },
    ...COLORMAPS.map((name) => h("option", { value: name, text: name })));
  const low = h("input", { type: "number", min: "0", max: "100", step: "0.5", class: "lnx-input lnx-num", "aria-label": "Low percentile" });
  const high = h("input", { type: "number", min: "0", max: "100", step: "0.5", class: "lnx-input lnx-num", "aria-label": "High percentile" });
  const hold = h("input", { type: "checkbox", "aria-label": "Hold contrast limits" });
  const transpose = h("input", { type: "checkbox", "aria-label": "Transpose" });
  const limits = h("span", { class: "lnx-meta", "aria-label": "Contrast limits" });
  const hover = h("span", { class: "lnx-meta lnx-hover", "aria-live": "off" });
  const looks = h("div", { class: "lnx-toolbar", hidden: true }, cmap,
    h("label", { class: "lnx-check" }, "limits at ", low, "–", high, " %"), limits,
    h("label", { class: "lnx-check" }, hold, " hold"), h("label", { class: "lnx-check" }, transpose, " transpose"), hover);
  const files = h("div", { class: "lnx-frame-files", hidden: true, role: "group", "aria-label": "External files" });
  const code = traitSnippet(model, "Code for this frame");
  el.replaceChildren(h("div", { class: "lnx-col" },
    h("div", { class: "lnx-toolbar lnx-nowrap" }, title, chooser, status, code.button), error.node, transport, looks, files, stage, code.node));

  const context = canvas.getContext("2d");
  const cache = new FrameCache(128);
  let meta = null; // the open reply
  let shown = null; // {index, plane, time, info, encoding, codes} or {image, encoding, codes}
  let fixed = null; // held contrast limits (codes)
  let pending = []; // [start, stop) of prefetch batches in flight
  let player = null; // {pacer, raf}
  let timers = {};
  let ownRange = null;
  let ownTime = null;
  let opened = 0; // movies opened so far
  const stats = { drawn: 0, stalls: 0, requests: 0 };
  el.lnxFrameStats = stats; // read by the browser tests and the benchmark

  const later = (name, ms, fn) => {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, ms);
  };

  // -- drawing ---------------------------------------------------------------------------
  function fit() {
    if (!canvas.width) return;
    const box = stage.getBoundingClientRect();
    const scale = Math.max(0.1, Math.min(box.width / canvas.width, box.height / canvas.height));
    canvas.style.width = `${Math.floor(canvas.width * scale)}px`;
    canvas.style.height = `${Math.floor(canvas.height * scale)}px`;
  }

  function draw(item) {
    const { encoding, codes } = item;
    const flip = !!model.get("transpose");
    const [width, height] = canvasSize(encoding.shape, flip);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
      fit();
    }
    const image = context.createImageData(width, height);
    if (encoding.channels) {
      colourToRGBA(codes, encoding.shape, encoding.channels, flip, image.data);
      limits.textContent = "";
    } else {
      const range = hold.checked && fixed ? fixed : percentileCodes(codes, model.get("low"), model.get("high"));
      if (!fixed || !hold.checked) fixed = range;
      greyToRGBA(codes, encoding.shape, range, lut(model.get("colormap")), flip, image.data);
      limits.textContent = `${shortNumber(valueOf(range[0], encoding))} – ${shortNumber(valueOf(range[1], encoding))}`;
    }
    context.putImageData(image, 0, 0);
    shown = item;
    stats.drawn++;
    describe();
  }

  function describe() {
    if (!shown) return;
    if (shown.image) {
      const entry = (meta?.images || []).find((i) => i.path === shown.image);
      status.textContent = entry ? `${entry.neurodata_type || "image"} ${entry.shape.join(" × ")} ${entry.dtype}` : "";
      return;
    }
    const parts = [`frame ${shown.index + 1} of ${meta.n_frames}`];
    if (shown.info?.time !== null && shown.info?.time !== undefined) parts.push(`t = ${shortNumber(shown.info.time)} s`);
    if (meta.planes > 1) parts.push(`plane ${shown.plane + 1} of ${meta.planes}`);
    if (shown.info?.file !== undefined) parts.push(`${shown.info.file}, frame ${shown.info.file_frame}`);
    if (player) parts.push(`playing at ${model.get("fps")} fps`);
    status.textContent = parts.join(" · ");
  }

  function redraw() {
    if (shown && shown.codes) draw(shown);
  }

  // -- requests --------------------------------------------------------------------------
  function unpack(msg, buffers) {
    return msg.frames.map((info, k) => {
      const encoding = msg.encodings[k];
      return { index: info.frame, plane: msg.plane, info, encoding, codes: encoding ? codesOf(buffers[k], encoding) : null };
    });
  }

  async function showFrame(index, { follow = true } = {}) {
    if (!meta || meta.kind === "images" || meta.kind === "image") return;
    index = Math.min(Math.max(0, index), Math.max(0, meta.n_frames - 1));
    slider.value = String(index);
    const p = model.get("plane");
    const cached = cache.get(index, p);
    if (cached) {
      present(cached.frame, follow);
      return;
    }
    stats.requests++;
    const { msg, buffers } = await channel.request("frame", { path: meta.path, index, plane: p }, "frame");
    if (msg.stale || msg.path !== model.get("path")) return;
    const [item] = unpack(msg, buffers);
    if (item.codes) cache.set(item.index, item.plane, item);
    if (Number(slider.value) === item.index && model.get("plane") === item.plane) present(item, follow);
  }

  function present(item, follow) {
    if (item.codes) draw(item);
    else {
      shown = item;
      describe();
      markFile(item.info);
    }
    later("index", 200, () => setTrait(model, "index", item.index));
    if (follow) shareTime(item.info?.time);
  }

  function shareTime(t) {
    if (t === null || t === undefined) return;
    ownTime = t;
    setTrait(model, "time", t);
    const range = model.get("x_range");
    if (range?.length === 2 && (t < range[0] || t > range[1])) {
      const half = (range[1] - range[0]) / 2;
      const moved = [t - half, t + half];
      ownRange = JSON.stringify(moved);
      setTrait(model, "x_range", moved);
    }
  }

  async function prefetch() {
    if (!meta || !meta.batch) return;
    const p = model.get("plane");
    const index = shown?.index ?? 0;
    const ahead = Math.max(meta.batch, Math.ceil(model.get("fps") * 1.0));
    const starts = planPrefetch({ index, ahead, batch: meta.batch, n: meta.n_frames,
      cached: (k) => cache.has(k, p), pending });
    for (const start of starts) {
      const span = [start, start + meta.batch];
      pending.push(span);
      stats.requests++;
      channel.request("frames", { path: meta.path, start, count: meta.batch, plane: p }, `prefetch:${start}:${p}`)
        .then(({ msg, buffers }) => {
          pending = pending.filter((s) => s !== span);
          if (msg.stale || msg.path !== model.get("path")) return;
          for (const item of unpack(msg, buffers)) if (item.codes) cache.set(item.index, item.plane, item);
          cache.trim(shown?.index ?? 0, model.get("plane"));
          if (player) prefetch();
        });
    }
  }

  // -- playing ---------------------------------------------------------------------------
  function startPlaying() {
    if (!meta || meta.kind !== "movie" || player) return;
    if ((shown?.index ?? 0) >= meta.n_frames - 1) showFrame(0, { follow: false });
    player = { pacer: new Pacer(model.get("fps"), performance.now()), raf: 0, shared: 0 };
    stats.stalls = 0;
    play.textContent = "Pause";
    play.setAttribute("aria-label", "Pause");
    prefetch();
    const step = (now) => {
      if (!player) return;
      const next = (shown?.index ?? 0) + 1;
      if (next >= meta.n_frames) {
        stopPlaying();
        return;
      }
      const p = model.get("plane");
      const item = cache.get(next, p);
      if (player.pacer.tick(now, !!item)) {
        slider.value = String(next);
        draw(item.frame);
        if (now - player.shared > 250) { // the shared time follows, four times a second
          player.shared = now;
          ownTime = item.frame.info?.time ?? null;
          if (ownTime !== null) setTrait(model, "time", ownTime);
        }
        prefetch();
      }
      stats.stalls = player.pacer.stalls;
      player.raf = requestAnimationFrame(step);
    };
    player.raf = requestAnimationFrame(step);
  }

  function stopPlaying() {
    if (!player) return;
    cancelAnimationFrame(player.raf);
    player = null;
    play.textContent = "Play";
    play.setAttribute("aria-label", "Play");
    if (shown) present(shown, true);
  }

  // -- external files --------------------------------------------------------------------
  function drawFiles(ext) {
    files.hidden = !ext;
    if (!ext) return files.replaceChildren();
    const rows = ext.files.map((name, i) => h("tr", { "data-file": i },
      h("td", { text: name }), h("td", { class: "lnx-num-cell", text: ext.starting_frames[i] ?? "" })));
    files.replaceChildren(
      h("div", { class: "lnx-meta", text: `Frames in ${ext.files.length} external file${ext.files.length === 1 ? "" : "s"} (${ext.format}); not opened: video is not decoded here.` }),
      h("table", { class: "lnx-table" }, h("thead", {}, h("tr", {}, h("th", { text: "file" }), h("th", { text: "first frame" }))),
        h("tbody", {}, ...rows)));
  }

  function markFile(info) {
    for (const row of files.querySelectorAll("tr[data-file]")) {
      row.classList.toggle("lnx-selected", Number(row.dataset.file) === info?.file_index);
    }
  }

  // -- images ----------------------------------------------------------------------------
  async function showImage(path) {
    const { msg, buffers } = await channel.request("image", { path: model.get("path"), image: path }, "image");
    if (msg.path !== model.get("path")) return;
    draw({ image: msg.image, encoding: msg.encoding, codes: codesOf(buffers[0], msg.encoding) });
  }

  // -- opening ---------------------------------------------------------------------------
  async function open() {
    stopPlaying();
    clearTimeout(timers.index); // the last movie's frame is not this one's
    error.clear();
    cache.clear();
    pending = [];
    channel.cancel("");
    meta = null;
    shown = null;
    fixed = null;
    const path = model.get("path");
    title.textContent = path || "Nothing selected";
    title.title = path;
    status.textContent = "";
    transport.hidden = true;
    looks.hidden = true;
    chooser.hidden = true;
    drawFiles(null);
    canvas.width = 0;
    canvas.height = 0;
    if (!path) return;
    const { msg } = await channel.request("open", { path }, "open");
    if (msg.stale || msg.path !== model.get("path")) return;
    meta = msg;
    looks.hidden = false;
    if (msg.kind === "image" || msg.kind === "images") {
      chooser.hidden = msg.kind !== "images";
      chooser.replaceChildren(...msg.images.map((i) => h("option", { value: i.path, text: i.name })));
      chooser.value = model.get("image") || msg.image;
      await showImage(chooser.value);
      return;
    }
    transport.hidden = msg.kind !== "movie" && !msg.external;
    play.hidden = msg.kind !== "movie";
    looks.hidden = msg.kind !== "movie";
    slider.max = String(Math.max(0, msg.n_frames - 1));
    planeBox.hidden = msg.planes <= 1;
    plane.replaceChildren(...Array.from({ length: msg.planes }, (_, z) => h("option", { value: z, text: String(z + 1) })));
    plane.value = String(model.get("plane"));
    drawFiles(msg.external);
    const range = model.get("x_range");
    // the frame the view was created with; another movie starts at its first frame (the
    // kernel resets `index` too, but a late save of the last movie's frame may cross it)
    const start = opened++ ? 0 : model.get("index");
    await showFrame(start, { follow: false });
    if (range?.length === 2 && shown?.info?.time !== null && shown?.info?.time !== undefined
        && (shown.info.time < range[0] || shown.info.time > range[1])) followRange();
  }

  async function followRange() {
    const range = model.get("x_range");
    if (!meta || meta.kind !== "movie" || range?.length !== 2) return;
    const t = shown?.info?.time;
    if (t !== null && t !== undefined && t >= range[0] && t <= range[1]) return;
    const { msg } = await channel.request("seek", { path: meta.path, time: range[0] }, "seek");
    if (msg.path === model.get("path")) showFrame(msg.index, { follow: false });
  }

  async function followTime() {
    const t = model.get("time");
    if (!meta || meta.kind !== "movie" || t === null || t === ownTime || player) return;
    const { msg } = await channel.request("seek", { path: meta.path, time: t }, "seek");
    if (msg.path === model.get("path")) showFrame(msg.index, { follow: false });
  }

  // -- controls --------------------------------------------------------------------------
  function syncControls() {
    cmap.value = model.get("colormap");
    low.value = String(model.get("low"));
    high.value = String(model.get("high"));
    fps.value = String(model.get("fps"));
    transpose.checked = !!model.get("transpose");
  }
  syncControls();

  slider.addEventListener("input", () => {
    stopPlaying();
    showFrame(Number(slider.value));
  });
  play.addEventListener("click", () => (player ? stopPlaying() : startPlaying()));
  fps.addEventListener("change", () => {
    const value = Math.min(240, Math.max(1, Number(fps.value) || 30));
    setTrait(model, "fps", value);
    if (player) {
      stopPlaying();
      startPlaying();
    }
  });
  plane.addEventListener("change", () => {
    fixed = null;
    setTrait(model, "plane", Number(plane.value)); // onPlane shows the frame of that plane
  });
  chooser.addEventListener("change", () => {
    setTrait(model, "image", chooser.value);
    showImage(chooser.value);
  });
  cmap.addEventListener("change", () => setTrait(model, "colormap", cmap.value));
  for (const input of [low, high]) {
    input.addEventListener("change", () => {
      const lo = Math.min(100, Math.max(0, Number(low.value) || 0));
      const hi = Math.min(100, Math.max(lo, Number(high.value) || 100));
      model.set("low", lo);
      model.set("high", hi);
      model.save_changes();
    });
  }
  hold.addEventListener("change", () => redraw());
  transpose.addEventListener("change", () => setTrait(model, "transpose", transpose.checked));

  stage.addEventListener("keydown", (event) => {
    if (!meta || meta.kind !== "movie" && !meta.external) return;
    if (event.key === " " && meta.kind === "movie") {
      handled(event);
      if (player) stopPlaying();
      else startPlaying();
      return;
    }
    const index = Number(slider.value); // the frame asked for last (keys repeat faster than replies)
    let next = null;
    if (event.key in STEP) next = index + STEP[event.key] * (event.shiftKey ? 10 : 1);
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = meta.n_frames - 1;
    if (next === null) return;
    handled(event);
    stopPlaying();
    showFrame(next);
  });
  canvas.addEventListener("mousemove", (event) => {
    if (!shown?.codes) return;
    const box = canvas.getBoundingClientRect();
    const column = Math.floor(((event.clientX - box.left) / box.width) * canvas.width);
    const row = Math.floor(((event.clientY - box.top) / box.height) * canvas.height);
    const [x, y] = framePixel(column, row, !!model.get("transpose"));
    const [nx, ny] = shown.encoding.shape;
    if (x < 0 || y < 0 || x >= nx || y >= ny) return;
    const c = shown.encoding.channels;
    const at = (x * ny + y) * Math.max(1, c);
    const value = c ? Array.from(shown.codes.slice(at, at + c)).join(", ") : shortNumber(valueOf(shown.codes[at], shown.encoding));
    hover.textContent = `x ${x}, y ${y}: ${value}`;
  });
  canvas.addEventListener("mouseleave", () => (hover.textContent = ""));
  const resize = new ResizeObserver(() => fit());
  resize.observe(stage);

  const onLooks = () => {
    syncControls();
    fixed = null;
    redraw();
  };
  const onTranspose = () => {
    syncControls();
    redraw();
    fit();
  };
  const onRange = () => {
    if (JSON.stringify(model.get("x_range")) === ownRange) return;
    followRange();
  };
  const onPlane = () => {
    plane.value = String(model.get("plane"));
    if (meta && shown && !shown.image && shown.plane !== model.get("plane")) showFrame(shown.index);
  };
  const onIndex = () => { // set from Python (viewer.index = k), or a late reset
    const index = model.get("index");
    if (meta && meta.kind !== "image" && meta.kind !== "images" && !player && shown && shown.index !== index) {
      showFrame(index, { follow: false });
    }
  };
  const unlisten = listen(model, { "change:path": open, "change:colormap": onLooks, "change:low": onLooks, "change:high": onLooks,
    "change:transpose": onTranspose, "change:x_range": onRange, "change:time": followTime, "change:plane": onPlane, "change:index": onIndex,
    "change:fps": syncControls });
  open();
  parts.onDestroy(() => code.destroy(), () => resize.disconnect(), () => {
    for (const t of Object.values(timers)) clearTimeout(t);
  }, unlisten);
  return () => {
    stopPlaying();
    parts.destroy();
  };
}

export default { render };
