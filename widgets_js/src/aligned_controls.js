// The controls the views aligned to events share (PSTH, aligned series): the events, their
// time column, the window around them, the grouping column; and the legend of the groups.
// Choices are traitlets; the view asks the kernel again when one changes.
import { h, setTrait } from "./common.js";
import { categoryColor } from "./palette.js";

/** Controls bound to the model's events / align_to / window / group_by; `changed()` runs
 * after any of them changes. Returns {node, fill(options)}. */
export function alignedControls(model, changed, extra = []) {
  const events = h("select", { class: "lnx-input", "aria-label": "Events" });
  const align = h("select", { class: "lnx-input", "aria-label": "Align to" });
  const group = h("select", { class: "lnx-input", "aria-label": "Group by" });
  const start = h("input", { class: "lnx-input", type: "number", step: "0.1", "aria-label": "Window start (s)" });
  const stop = h("input", { class: "lnx-input", type: "number", step: "0.1", "aria-label": "Window stop (s)" });
  const node = h("div", { class: "lnx-toolbar lnx-controls" },
    h("label", { class: "lnx-check" }, "events ", events),
    h("label", { class: "lnx-check" }, "at ", align),
    h("label", { class: "lnx-check" }, "window ", start, " to ", stop, " s"),
    ...extra,
    h("label", { class: "lnx-check" }, "group by ", group));
  let sources = [];

  function fill(options) {
    sources = options.sources || [];
    const chosen = sources.find((s) => s.path === options.events);
    events.replaceChildren(...sources.map((s) => h("option", { value: s.path, text: s.path, selected: s.path === options.events })));
    align.replaceChildren(...(chosen?.times || []).map((c) => h("option", { value: c, text: c, selected: c === options.align_to })));
    group.replaceChildren(h("option", { value: "", text: "none" }),
      ...(chosen?.groups || []).map((c) => h("option", { value: c, text: c, selected: c === options.group_by })));
    [start.value, stop.value] = options.window || [-0.5, 1];
  }

  events.addEventListener("change", () => {
    const source = sources.find((s) => s.path === events.value);
    model.set("align_to", source?.times[0] || "");
    model.set("group_by", "");
    setTrait(model, "events", events.value);
    fill({ sources, events: events.value, align_to: source?.times[0], group_by: "", window: model.get("window") });
    changed();
  });
  align.addEventListener("change", () => {
    setTrait(model, "align_to", align.value);
    changed();
  });
  group.addEventListener("change", () => {
    setTrait(model, "group_by", group.value);
    changed();
  });
  let timer = null;
  const onWindow = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const a = Number(start.value);
      const b = Number(stop.value);
      if (!(Number.isFinite(a) && Number.isFinite(b) && b > a)) return;
      setTrait(model, "window", [a, b]);
      changed();
    }, 400);
  };
  start.addEventListener("input", onWindow);
  stop.addEventListener("input", onWindow);
  return { node, fill };
}

/** The groups' legend: a swatch, the name and how many events. */
export function groupLegend(legend, groups) {
  legend.replaceChildren(...groups.flatMap((g, i) => [
    h("span", { class: "lnx-swatch", style: { background: categoryColor(i) } }),
    h("span", { text: `${g.name} (${g.n})` }),
  ]));
}
