// Explorer front end: lays out the views it holds - the tree on the left, the schema and the
// panel that shows the selection on the right - split by draggable dividers (also moved with
// the arrow keys). Each view is a widget of its own (a WidgetTrait reference), rendered here
// through anywidget's host.getWidget, so its traitlets and requests are its own. Sizes are
// traitlets (tree_width, schema_height), clamped by layout.js so the panel keeps room for a
// plot of at least 300 px and the right side for its controls. Narrower than layout.NARROW,
// the tree goes above the rest, full width (its height is then tree_height).
//
// Above the panel, tabs name every panel that can show the selection (a units table: raster,
// PSTH, probe, table); a time view can be pinned, and pinned views stay below the panel while
// the selection moves on. The time cursor is linked here, in the front end: a view announces
// the time under the pointer (`lnx-cursor`), and the Explorer hands it to its other views
// (`lnx-cursor-set`) - at mouse speed, never through the kernel (the time window, which is
// state, is linked in the kernel: explorer_links.py).
import { h, setTrait, sizeRoot } from "../common.js";
import { guardKeys, handled } from "../keys.js";
import { dividerKey, isNarrow, schemaHeight, treeHeight, treeWidth } from "../layout.js";

function render({ model, el, host }) {
  const unsize = sizeRoot(el, model, "lnx-explorer");
  const unguard = guardKeys(el);
  const treePane = h("div", { class: "lnx-pane lnx-tree-pane" });
  const vbar = h("div", { class: "lnx-divider lnx-divider-v", role: "separator", tabindex: "0",
    "aria-orientation": "vertical", "aria-label": "Resize the tree" });
  const schemaPane = h("div", { class: "lnx-pane lnx-schema-pane" });
  const hbar = h("div", { class: "lnx-divider lnx-divider-h", role: "separator", tabindex: "0",
    "aria-orientation": "horizontal", "aria-label": "Resize the schema" });
  const problem = h("div", { class: "lnx-error", role: "alert", hidden: true });
  const hint = h("div", { class: "lnx-hint lnx-meta", hidden: true,
    text: "Select a table, a time series, a movie or image, ROI masks or /general in the tree to see it here." });
  const tabs = h("div", { class: "lnx-tabs", role: "tablist", "aria-label": "Views of the selection" });
  const pinButton = h("button", { class: "lnx-button lnx-pin", type: "button", text: "Pin", hidden: true,
    title: "Keep this view below the others, on the same time axis, while you select other things" });
  const panelsBox = h("div", { class: "lnx-panels" }, problem, hint);
  const pinnedBox = h("div", { class: "lnx-pinned" });
  const mainPane = h("div", { class: "lnx-pane lnx-main-pane" },
    h("div", { class: "lnx-tabbar" }, tabs, pinButton), panelsBox, pinnedBox);
  const right = h("div", { class: "lnx-right" }, schemaPane, hbar, mainPane);
  const split = h("div", { class: "lnx-split" }, treePane, vbar, right);
  el.replaceChildren(split);

  const views = new Map(); // widget reference -> Promise<{el, remove}>
  let alive = true;

  // A child view, rendered into a pane through anywidget's host (JupyterLab, Notebook 7,
  // marimo): its own model, traitlets and requests; removed by aborting its signal.
  async function viewOf(ref, pane) {
    if (!views.has(ref)) {
      views.set(ref, (async () => {
        const widget = await host.getWidget(ref);
        const view = h("div", { class: "lnx-child" });
        const controller = new AbortController();
        if (alive) pane.append(view);
        await widget.render({ el: view, signal: controller.signal });
        return { el: view, remove: () => controller.abort() };
      })());
    }
    return views.get(ref);
  }

  // -- sizes ----------------------------------------------------------------------------------
  // The tree's divider sizes its width, or - stacked, when the Explorer is narrow - its
  // height; the schema's divider sizes the schema's height.
  const stacked = () => split.classList.contains("lnx-narrow");
  const sizers = {
    tree: {
      read: () => (stacked() ? treePane.getBoundingClientRect().height : treePane.getBoundingClientRect().width),
      clamp: (size) => (stacked() ? treeHeight(size, split.clientHeight) : treeWidth(size, split.clientWidth)),
      apply: (size) => {
        treePane.style.width = stacked() ? "" : `${size}px`;
        treePane.style.height = stacked() ? `${size}px` : "";
      },
      trait: () => (stacked() ? "tree_height" : "tree_width"),
      vertical: () => !stacked(),
    },
    schema: {
      read: () => schemaPane.getBoundingClientRect().height,
      clamp: (size) => schemaHeight(size, right.clientHeight),
      apply: (size) => {
        schemaPane.style.height = `${size}px`;
      },
      trait: () => "schema_height",
      vertical: () => false,
    },
  };

  function applySizes() {
    const width = split.clientWidth || el.clientWidth;
    if (!width) return;
    const narrow = isNarrow(width);
    split.classList.toggle("lnx-narrow", narrow);
    vbar.setAttribute("aria-orientation", narrow ? "horizontal" : "vertical");
    const tree = sizers.tree;
    tree.apply(tree.clamp(model.get(tree.trait())));
    const schema = sizers.schema;
    schema.apply(schema.clamp(model.get("schema_height")));
  }

  function drag(bar, sizer) {
    bar.addEventListener("pointerdown", (start) => {
      start.preventDefault();
      bar.setPointerCapture(start.pointerId);
      bar.classList.add("lnx-dragging");
      const vertical = sizer.vertical();
      const origin = vertical ? start.clientX : start.clientY;
      const size0 = sizer.read();
      let size = size0;
      const move = (event) => {
        size = sizer.clamp(size0 + (vertical ? event.clientX : event.clientY) - origin);
        sizer.apply(size);
        if (sizer === sizers.tree) sizers.schema.apply(sizers.schema.clamp(model.get("schema_height")));
      };
      const up = () => {
        bar.removeEventListener("pointermove", move);
        bar.classList.remove("lnx-dragging");
        setTrait(model, sizer.trait(), size);
      };
      bar.addEventListener("pointermove", move);
      bar.addEventListener("pointerup", up, { once: true });
      bar.addEventListener("pointercancel", up, { once: true });
    });
    bar.addEventListener("keydown", (event) => {
      const next = dividerKey(event.key, sizer.read(), sizer.vertical());
      if (next === null) return;
      handled(event);
      setTrait(model, sizer.trait(), sizer.clamp(next));
    });
  }
  drag(vbar, sizers.tree);
  drag(hbar, sizers.schema);
  const resize = new ResizeObserver(applySizes);
  resize.observe(split);

  // -- what is shown ---------------------------------------------------------------------------
  const TAB_NAMES = { SessionPanel: "Session", FrameViewer: "Frames", RoiViewer: "ROIs", UnitsRaster: "Raster", PSTHView: "PSTH", ProbeView: "Probe",
    TableGrid: "Table", PositionView: "Trajectory", TimeSeriesPlot: "Plot", AlignedSeriesView: "Aligned" };
  const pinnedViews = new Map(); // pin index -> its header + view holder
  async function showPanels() {
    const refs = model.get("panels") || [];
    const shown = model.get("shown");
    const panes = await Promise.all(refs.map((ref) => viewOf(ref, panelsBox)));
    if (!alive) return;
    panes.forEach((view, i) => {
      view.el.hidden = i !== shown;
    });
    const text = model.get("problem");
    problem.textContent = text;
    problem.hidden = !text;
    hint.hidden = !!text || (shown >= 0 && shown < panes.length);
    drawTabs();
    await showPins();
  }

  function drawTabs() {
    const names = model.get("panel_names") || [];
    const choices = model.get("choices") || [];
    const shown = model.get("shown");
    tabs.replaceChildren(...(choices.length > 1 ? choices : []).map((i) => {
      const tab = h("button", { class: "lnx-tab", type: "button", role: "tab", "aria-selected": String(i === shown),
        tabindex: i === shown ? "0" : "-1", text: TAB_NAMES[names[i]] || names[i] });
      tab.addEventListener("click", () => setTrait(model, "shown", i));
      return tab;
    }));
    const name = names[shown];
    const pinnable = (model.get("pin_names") || []).indexOf(name);
    pinButton.hidden = pinnable < 0;
    pinButton.disabled = (model.get("pinned") || []).includes(pinnable);
    pinButton.textContent = pinButton.disabled ? "Pinned" : "Pin";
    pinButton.dataset.pin = String(pinnable);
  }
  tabs.addEventListener("keydown", (event) => {
    const choices = model.get("choices") || [];
    const at = choices.indexOf(model.get("shown"));
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (step === undefined || at < 0) return;
    handled(event);
    const next = choices[(at + step + choices.length) % choices.length];
    setTrait(model, "shown", next);
    requestAnimationFrame(() => tabs.querySelector('[aria-selected="true"]')?.focus());
  });
  pinButton.addEventListener("click", () => {
    const index = Number(pinButton.dataset.pin);
    if (index >= 0) setTrait(model, "pinned", [...new Set([...(model.get("pinned") || []), index])]);
  });

  async function showPins() {
    const refs = model.get("pins") || [];
    const pinned = model.get("pinned") || [];
    const names = model.get("pin_names") || [];
    for (const [index, holder] of pinnedViews) holder.node.hidden = !pinned.includes(index);
    for (const index of pinned) {
      if (!pinnedViews.has(index) && refs[index]) {
        const unpin = h("button", { class: "lnx-button", type: "button", text: "Unpin", "aria-label": `Unpin the ${TAB_NAMES[names[index]] || names[index]}` });
        unpin.addEventListener("click", () => setTrait(model, "pinned", (model.get("pinned") || []).filter((i) => i !== index)));
        const body = h("div", { class: "lnx-pinned-view" });
        const node = h("div", { class: "lnx-pinned-item" },
          h("div", { class: "lnx-toolbar lnx-pinned-head" }, h("span", { class: "lnx-meta", text: `pinned: ${TAB_NAMES[names[index]] || names[index]}` }), unpin), body);
        pinnedBox.append(node);
        pinnedViews.set(index, { node, body });
        await viewOf(refs[index], body);
      }
    }
    mainPane.classList.toggle("lnx-has-pins", pinned.length > 0);
  }

  // the time cursor: from the view under the pointer to every other view
  el.addEventListener("lnx-cursor", (event) => {
    const detail = event.detail || {};
    for (const child of el.querySelectorAll(".lnx-child")) {
      if (child !== detail.source && !child.contains(detail.source)) {
        child.dispatchEvent(new CustomEvent("lnx-cursor-set", { detail }));
      }
    }
  });

  viewOf(model.get("tree"), treePane);
  viewOf(model.get("schema"), schemaPane);
  applySizes();
  showPanels();
  const events = ["change:panels", "change:shown", "change:problem", "change:choices", "change:pinned", "change:pins"];
  events.forEach((e) => model.on(e, showPanels));
  const sizes = ["change:tree_width", "change:tree_height", "change:schema_height", "change:height"];
  sizes.forEach((e) => model.on(e, applySizes));
  return () => {
    alive = false;
    unsize();
    unguard();
    resize.disconnect();
    events.forEach((e) => model.off(e, showPanels));
    sizes.forEach((e) => model.off(e, applySizes));
    for (const pending of views.values()) pending.then((view) => view.remove(), () => {});
  };
}

export default { render };
