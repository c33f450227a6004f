// TableGrid front end: a virtual-scrolling grid that asks the kernel for pages of rows (Arrow
// IPC), prefetches the next page, and edits the filters / sort traitlets.
import { tableFromIPC } from "apache-arrow";
import { Channel, errorLine, formatValue, h, setTrait, sizeRoot } from "../common.js";

const ROW = 24;
const OPS = ["==", "!=", "<", "<=", ">", ">=", "contains", "starts_with", "in", "is_null", "not_null"];

function decode(bytes) {
  const table = tableFromIPC(bytes);
  const names = table.schema.fields.map((f) => f.name);
  const vectors = names.map((_, i) => table.getChildAt(i));
  const rows = [];
  for (let r = 0; r < table.numRows; r++) rows.push(vectors.map((v) => formatValue(v?.get(r))));
  return { names, rows };
}

function render({ model, el }) {
  const unsize = sizeRoot(el, model, "lnx-grid");
  const error = errorLine();
  const channel = new Channel(model, (msg) => {
    error.show(msg);
    if (msg.request === "page") pending.clear();
  });
  let info = { columns: [], total: 0 };
  let names = [];
  const pages = new Map(); // page index -> rows
  const pending = new Set();

  const title = h("span", { class: "lnx-name" });
  const count = h("span", { class: "lnx-meta", role: "status" });
  const colSelect = h("select", { class: "lnx-input", "aria-label": "Filter column" });
  const opSelect = h("select", { class: "lnx-input", "aria-label": "Filter operation" },
    OPS.map((op) => h("option", { value: op, text: op })));
  const value = h("input", { class: "lnx-input", type: "text", placeholder: "value", "aria-label": "Filter value" });
  const add = h("button", { class: "lnx-button", type: "button", text: "Add filter" });
  const chips = h("div", { class: "lnx-chips", "aria-label": "Active filters" });
  const header = h("div", { class: "lnx-grid-head", role: "row" });
  const spacer = h("div", { class: "lnx-grid-spacer" });
  const body = h("div", { class: "lnx-grid-body", role: "rowgroup" }, spacer);
  const scroller = h("div", { class: "lnx-grid-scroll", tabindex: "0", role: "grid", "aria-label": "Table rows" }, header, body);
  el.replaceChildren(h("div", { class: "lnx-col" },
    h("div", { class: "lnx-toolbar" }, title, count),
    h("div", { class: "lnx-toolbar" }, colSelect, opSelect, value, add),
    chips, error.node, scroller));

  const pageSize = () => Math.max(10, model.get("page_size") || 100);
  const query = () => ({ filters: model.get("filters") || [], sort: model.get("sort") || [] });
  const width = (c) => (c === "_nwb_path" ? 220 : c === "_table_index" ? 90 : (info.kinds?.[c] || "scalar") === "scalar" ? 130 : 260);

  function drawHeader() {
    const sort = model.get("sort") || [];
    const cells = names.map((name) => {
      const key = sort.find((s) => s.column === name);
      const column = info.columns.find((c) => c.name === name);
      const cell = h("div", {
        class: "lnx-cell lnx-head-cell", role: "columnheader", style: { width: `${width(name)}px` },
        title: column ? `${column.dtype}${column.description ? " — " + column.description : ""}` : name,
        "aria-sort": key ? (key.descending ? "descending" : "ascending") : "none",
      }, h("span", { text: name }), h("span", { class: "lnx-meta", text: key ? (key.descending ? " ▼" : " ▲") : "" }));
      if (column && column.kind === "scalar") cell.addEventListener("click", () => cycleSort(name));
      return cell;
    });
    header.replaceChildren(...cells);
    const total = names.reduce((sum, n) => sum + width(n), 0);
    header.style.width = `${total}px`;
    body.style.width = `${total}px`;
  }

  function drawChips() {
    const filters = model.get("filters") || [];
    chips.replaceChildren(...filters.map((f, i) => h("span", { class: "lnx-chip" },
      h("span", { text: `${f.column} ${f.op} ${f.value ?? ""}` }),
      h("button", { class: "lnx-chip-x", type: "button", "aria-label": "Remove filter", text: "×",
        onclick: () => setTrait(model, "filters", filters.filter((_, k) => k !== i)) }))));
  }

  // Browsers cap element heights (~16M px): past MAX_PX the scrollbar maps proportionally.
  const MAX_PX = 8e6;
  function geometry() {
    const height = scroller.clientHeight || model.get("height");
    const full = info.total * ROW;
    const virtual = Math.min(full, MAX_PX);
    const scale = full > virtual ? (full - height) / Math.max(1, virtual - height) : 1;
    return { height, virtual, shift: scroller.scrollTop * (scale - 1) };
  }

  function drawRows() {
    const { height, virtual, shift } = geometry();
    const top = scroller.scrollTop + shift;
    const first = Math.max(0, Math.floor(top / ROW) - 5);
    const last = Math.min(info.total, Math.ceil((top + height) / ROW) + 5);
    const size = pageSize();
    const rows = [];
    for (let r = first; r < last; r++) {
      const page = pages.get(Math.floor(r / size));
      const values = page ? page[r % size] : null;
      const cells = names.map((name, i) => h("div", { class: "lnx-cell", role: "gridcell", style: { width: `${width(name)}px` },
        text: values ? values[i] : "…" }));
      rows.push(h("div", { class: "lnx-row" + (values ? "" : " lnx-loading"), role: "row", "aria-rowindex": r + 1,
        style: { top: `${r * ROW - shift}px` } }, ...cells));
    }
    spacer.style.height = `${virtual}px`;
    body.replaceChildren(spacer, ...rows);
    const want = new Set();
    for (let p = Math.floor(first / size); p <= Math.floor(Math.max(first, last - 1) / size); p++) want.add(p);
    want.forEach(load);
    const next = Math.floor(Math.max(first, last - 1) / size) + 1; // prefetch the next page
    if (want.size && [...want].every((p) => pages.has(p))) load(next);
  }

  function load(page) {
    const size = pageSize();
    if (pages.has(page) || pending.has(page) || page * size >= info.total) return;
    pending.add(page);
    channel.request("page", { offset: page * size, limit: size, ...query() }, `page:${page}`).then(({ msg, buffers }) => {
      pending.delete(page);
      const { names: got, rows } = decode(buffers[0]);
      if (!names.length) names = got;
      const order = names.map((n) => got.indexOf(n));
      pages.set(page, rows.map((row) => order.map((i) => (i < 0 ? "" : row[i]))));
      drawRows();
    });
  }

  async function reset() {
    channel.cancel("page:");
    pages.clear();
    pending.clear();
    error.clear();
    drawChips();
    title.textContent = model.get("table_path") || "No table selected";
    const { msg } = await channel.request("info", query(), "info");
    info = { ...msg, kinds: Object.fromEntries(msg.columns.map((c) => [c.name, c.kind])) };
    names = [...(msg.multi_file ? ["_nwb_path"] : []), "_table_index", ...msg.columns.map((c) => c.name)];
    const cols = msg.columns.filter((c) => c.kind === "scalar").map((c) => c.name);
    colSelect.replaceChildren(...[...(msg.multi_file ? ["_nwb_path"] : []), ...cols].map((c) => h("option", { value: c, text: c })));
    count.textContent = msg.total === msg.unfiltered ? `${msg.total} rows` : `${msg.total} of ${msg.unfiltered} rows`;
    if (msg.file_errors?.length) error.show(`Some files were skipped: ${msg.file_errors.join("; ")}`);
    if (!msg.table_path) names = [];
    drawHeader();
    scroller.scrollTop = 0;
    drawRows();
  }

  function cycleSort(name) {
    const current = (model.get("sort") || []).find((s) => s.column === name);
    const next = !current ? [{ column: name, descending: false }]
      : !current.descending ? [{ column: name, descending: true }] : [];
    setTrait(model, "sort", next);
  }

  add.addEventListener("click", () => {
    if (!colSelect.value) return;
    const filters = [...(model.get("filters") || []), { column: colSelect.value, op: opSelect.value, value: value.value }];
    setTrait(model, "filters", filters);
  });
  value.addEventListener("keydown", (e) => e.key === "Enter" && add.click());
  let frame = 0;
  scroller.addEventListener("scroll", () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(drawRows);
  });

  const events = ["change:filters", "change:sort", "change:table_path", "change:page_size"];
  events.forEach((e) => model.on(e, reset));
  reset();
  return () => {
    unsize();
    channel.close();
    events.forEach((e) => model.off(e, reset));
  };
}

export default { render };
