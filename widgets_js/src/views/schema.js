// SchemaViewer front end: the schema of the selected path as text tables (columns of a
// table; layout, unit, rate and attributes of a series or dataset).
import { Channel, errorLine, h, sizeRoot } from "../common.js";
import { guardKeys } from "../keys.js";

const show = (value) => {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return `(${value.join(", ")})`;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
};

function table(headers, rows, caption) {
  return h(
    "table",
    { class: "lnx-table" },
    caption ? h("caption", { text: caption }) : null,
    h("thead", {}, h("tr", {}, headers.map((name) => h("th", { scope: "col", text: name })))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell) => h("td", { text: show(cell) }))))),
  );
}

function pairs(object, caption) {
  const rows = Object.entries(object || {}).map(([key, value]) => [key, value]);
  return rows.length ? table(["name", "value"], rows, caption) : null;
}

function layoutRows(info) {
  return [
    ["shape", info.shape], ["dtype", info.dtype], ["storage", info.storage], ["chunks", info.chunks],
    ["compression", info.compression], ["filters", info.filters?.length ? info.filters : null],
  ];
}

function body(msg) {
  const head = h("div", { class: "lnx-title" },
    h("span", { class: "lnx-name", text: msg.path }),
    msg.neurodata_type ? h("span", { class: "lnx-badge", text: msg.neurodata_type }) : null,
    h("span", { class: "lnx-meta", text: msg.entity === "table" ? `${msg.rows} rows` : msg.entity }));
  if (msg.entity === "table") {
    const rows = msg.columns.map((c) => [
      c.name, c.dtype, c.description, c.ragged_depth || "", c.cell_shape, c.chunks,
      [c.compression, ...(c.filters || [])].filter(Boolean).join(", ") || null,
    ]);
    return [head, table(["column", "dtype", "description", "ragged", "cell shape", "chunks", "compression"], rows),
      pairs(msg.attrs, "attributes")];
  }
  if (msg.entity === "series") {
    const fields = Object.entries(msg.fields).map(([k, v]) => [k, v]);
    const parts = [head, table(["field", "value"], fields, "series"),
      table(["data", "value"], layoutRows(msg.data))];
    if (msg.timestamps_layout) parts.push(table(["timestamps", "value"], layoutRows(msg.timestamps_layout)));
    parts.push(pairs(msg.attrs, "attributes"));
    return parts;
  }
  if (msg.entity === "dataset") {
    return [head, table(["field", "value"], [...layoutRows(msg), ["size", msg.size]]), pairs(msg.attrs, "attributes")];
  }
  if (msg.entity === "group") {
    return [head, table(["field", "value"], [["children", msg.children]]), pairs(msg.attrs, "attributes")];
  }
  return [h("div", { class: "lnx-meta", text: "Select a path to see its schema." })];
}

function render({ model, el }) {
  const unsize = sizeRoot(el, model, "lnx-schema");
  const unguard = guardKeys(el);
  const error = errorLine();
  const content = h("div", { class: "lnx-scroll" });
  const channel = new Channel(model, (msg) => {
    content.replaceChildren();
    error.show(msg);
  });
  el.replaceChildren(h("div", { class: "lnx-col" }, error.node, content));

  const load = async () => {
    error.clear();
    const path = model.get("selected_path");
    const { msg } = await channel.request("schema", { path }, "schema");
    content.replaceChildren(...body(msg).filter(Boolean));
  };
  model.on("change:selected_path", load);
  load();
  return () => {
    unsize();
    unguard();
    channel.close();
    model.off("change:selected_path", load);
  };
}

export default { render };
