// Explorer front end: lays out the views it holds - the tree on the left, the schema and the
// panel that shows the selection on the right - split by draggable dividers (also moved with
// the arrow keys). Each view is a widget of its own, rendered here through the widget manager
// (anywidget's model.widget_manager), so its traitlets and requests are its own. Sizes are
// traitlets (tree_width, schema_height), clamped by layout.js so the panel keeps room for a
// plot of at least 300 px and the right side for its controls.
import { h, setTrait, sizeRoot } from "../common.js";
import { guardTyping, handled } from "../keys.js";
import { dividerKey, schemaHeight, treeWidth } from "../layout.js";

const modelId = (ref) => String(ref || "").replace(/^IPY_MODEL_/, "");

function render({ model, el }) {
  const unsize = sizeRoot(el, model, "lnx-explorer");
  const unguard = guardTyping(el);
  const manager = model.widget_manager;
  const treePane = h("div", { class: "lnx-pane lnx-tree-pane" });
  const vbar = h("div", { class: "lnx-divider lnx-divider-v", role: "separator", tabindex: "0",
    "aria-orientation": "vertical", "aria-label": "Resize the tree" });
  const schemaPane = h("div", { class: "lnx-pane lnx-schema-pane" });
  const hbar = h("div", { class: "lnx-divider lnx-divider-h", role: "separator", tabindex: "0",
    "aria-orientation": "horizontal", "aria-label": "Resize the schema" });
  const problem = h("div", { class: "lnx-error", role: "alert", hidden: true });
  const hint = h("div", { class: "lnx-hint lnx-meta", hidden: true,
    text: "Select a table, a time series or /general in the tree to see it here." });
  const mainPane = h("div", { class: "lnx-pane lnx-main-pane" }, problem, hint);
  const right = h("div", { class: "lnx-right" }, schemaPane, hbar, mainPane);
  const split = h("div", { class: "lnx-split" }, treePane, vbar, right);
  el.replaceChildren(split);

  const views = new Map(); // model id -> Promise<view>
  let alive = true;

  async function viewOf(ref, pane) {
    const id = modelId(ref);
    if (!views.has(id)) {
      views.set(id, (async () => {
        const child = await manager.get_model(id);
        const view = await manager.create_view(child);
        view.el.classList.add("lnx-child");
        if (alive) pane.append(view.el);
        return view;
      })());
    }
    return views.get(id);
  }

  // -- sizes ----------------------------------------------------------------------------------
  function applySizes() {
    const width = split.clientWidth || el.clientWidth;
    const height = right.clientHeight || model.get("height");
    if (width) treePane.style.width = `${treeWidth(model.get("tree_width"), width)}px`;
    if (height) schemaPane.style.height = `${schemaHeight(model.get("schema_height"), height)}px`;
  }

  function drag(bar, vertical) {
    bar.addEventListener("pointerdown", (start) => {
      start.preventDefault();
      bar.setPointerCapture(start.pointerId);
      bar.classList.add("lnx-dragging");
      const origin = vertical ? start.clientX : start.clientY;
      const size0 = vertical ? treePane.getBoundingClientRect().width : schemaPane.getBoundingClientRect().height;
      let size = size0;
      const move = (event) => {
        size = size0 + (vertical ? event.clientX : event.clientY) - origin;
        if (vertical) treePane.style.width = `${treeWidth(size, split.clientWidth)}px`;
        else schemaPane.style.height = `${schemaHeight(size, right.clientHeight)}px`;
      };
      const up = () => {
        bar.removeEventListener("pointermove", move);
        bar.classList.remove("lnx-dragging");
        if (vertical) setTrait(model, "tree_width", treeWidth(size, split.clientWidth));
        else setTrait(model, "schema_height", schemaHeight(size, right.clientHeight));
      };
      bar.addEventListener("pointermove", move);
      bar.addEventListener("pointerup", up, { once: true });
      bar.addEventListener("pointercancel", up, { once: true });
    });
    bar.addEventListener("keydown", (event) => {
      const size = vertical ? treePane.getBoundingClientRect().width : schemaPane.getBoundingClientRect().height;
      const next = dividerKey(event.key, size, vertical);
      if (next === null) return;
      handled(event);
      if (vertical) setTrait(model, "tree_width", treeWidth(next, split.clientWidth));
      else setTrait(model, "schema_height", schemaHeight(next, right.clientHeight));
    });
  }
  drag(vbar, true);
  drag(hbar, false);
  const resize = new ResizeObserver(applySizes);
  resize.observe(split);

  // -- what is shown ---------------------------------------------------------------------------
  async function showPanels() {
    const refs = model.get("panels") || [];
    const shown = model.get("shown");
    const panes = await Promise.all(refs.map((ref) => viewOf(ref, mainPane)));
    if (!alive) return;
    panes.forEach((view, i) => {
      view.el.hidden = i !== shown;
    });
    const text = model.get("problem");
    problem.textContent = text;
    problem.hidden = !text;
    hint.hidden = !!text || (shown >= 0 && shown < panes.length);
  }

  viewOf(model.get("tree"), treePane);
  viewOf(model.get("schema"), schemaPane);
  applySizes();
  showPanels();
  const events = ["change:panels", "change:shown", "change:problem"];
  events.forEach((e) => model.on(e, showPanels));
  const sizes = ["change:tree_width", "change:schema_height", "change:height"];
  sizes.forEach((e) => model.on(e, applySizes));
  return () => {
    alive = false;
    unsize();
    unguard();
    resize.disconnect();
    events.forEach((e) => model.off(e, showPanels));
    sizes.forEach((e) => model.off(e, applySizes));
    for (const pending of views.values()) pending.then((view) => view.remove());
  };
}

export default { render };
