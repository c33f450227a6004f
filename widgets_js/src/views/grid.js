// TableGrid front end: a virtual-scrolling grid that asks the kernel for pages of rows (Arrow
// IPC), prefetches the next page, and edits the filters / sort traitlets. Cells show values
// compactly, in full on hover; an array cell opens in full below the grid (every value, with a
// histogram or sparkline); a region cell (DynamicTableRegion) is a link to the rows it names.
import { tableFromIPC } from "apache-arrow";
import { Channel, errorLine, float64, formatValue, h, setTrait, sizeRoot } from "../common.js";
import { guardKeys, handled } from "../keys.js";
import { geometry, pagesFor, ROW, rowValues } from "../paging.js";
import { draw as drawPicture } from "../sparkline.js";

const OPS = ["==", "!=", "<", "<=", ">", ">=", "contains", "starts_with", "in", "is_null", "not_null"];

/** Full text of a value (the hover): numbers as JS writes them, exactly. */
const fullText = (value) => (value === null || value === undefined ? "" : typeof value === "bigint" ? value.toString() : String(value));

function decode(bytes) {
  const table = tableFromIPC(bytes);
  const names = table.schema.fields.map((f) => f.name);
  const vectors = names.map((_, i) => table.getChildAt(i));
  const rows = [];
  for (let r = 0; r < table.numRows; r++) {
    rows.push(vectors.map((v) => {
      const value = v?.get(r);
      return [formatValue(value), fullText(value)];
    }));
  }
  return { names, rows };
}

function render({ model, el }) {
  const unsize = sizeRoot(el, model, "lnx-grid");
  const unguard = guardKeys(el);
  const error = errorLine();
  const channel = new Channel(model, (msg) => {
    error.show(msg);
    if (msg.request === "page") pending.clear();
  });
  let info = { columns: [], total: 0, filter_errors: [] };
  let names = [];
  let columns = new Map(); // name -> column description
  const pages = new Map(); // page index -> rows of [shown, full] pairs
  const pending = new Set();

  const title = h("span", { class: "lnx-name" });
  const count = h("span", { class: "lnx-meta", role: "status" });
  const colSelect = h("select", { class: "lnx-input", "aria-label": "Filter column" });
  const opSelect = h("select", { class: "lnx-input", "aria-label": "Filter operation" },
    OPS.map((op) => h("option", { value: op, text: op })));
  const value = h("input", { class: "lnx-input lnx-value", type: "text", placeholder: "value", "aria-label": "Filter value" });
  const add = h("button", { class: "lnx-button", type: "button", text: "Add filter" });
  const chips = h("div", { class: "lnx-chips", "aria-label": "Active filters" });
  const header = h("div", { class: "lnx-grid-head", role: "row" });
  const spacer = h("div", { class: "lnx-grid-spacer" });
  const body = h("div", { class: "lnx-grid-body", role: "rowgroup" }, spacer);
  const scroller = h("div", { class: "lnx-grid-scroll", tabindex: "0", role: "grid", "aria-label": "Table rows" }, header, body);
  const cellView = h("div", { class: "lnx-cellview", hidden: true, role: "region", "aria-label": "Cell value", "data-lnx-escape": true });
  el.replaceChildren(h("div", { class: "lnx-col" },
    h("div", { class: "lnx-toolbar" }, title, count),
    h("div", { class: "lnx-toolbar lnx-filters" }, colSelect, opSelect, value, add),
    chips, error.node, scroller, cellView));

  const pageSize = () => Math.max(10, model.get("page_size") || 100);
  const query = () => ({ filters: model.get("filters") || [], sort: model.get("sort") || [] });
  const kind = (name) => columns.get(name)?.kind || "scalar";
  const width = (c) => (c === "_nwb_path" ? 220 : c === "_table_index" ? 90 : kind(c) === "scalar" ? 130 : 260);

  function drawHeader() {
    const sort = model.get("sort") || [];
    const cells = names.map((name) => {
      const key = sort.find((s) => s.column === name);
      const column = columns.get(name);
      const arrow = key ? (key.descending ? "▼" : "▲") : "";
      const cell = h("div", {
        class: "lnx-cell lnx-head-cell", role: "columnheader", style: { width: `${width(name)}px` },
        title: column ? `${name}: ${column.dtype}${column.description ? " — " + column.description : ""}` : name,
        "aria-sort": key ? (key.descending ? "descending" : "ascending") : "none",
      }, h("span", { class: "lnx-head-name", text: name }), h("span", { class: "lnx-sort", "aria-hidden": "true", text: arrow }));
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
    const bad = new Map((info.filter_errors || []).map((e) => [e.index, e.message]));
    chips.replaceChildren(...filters.map((f, i) => {
      const problem = bad.get(i);
      return h("span", { class: "lnx-chip" + (problem ? " lnx-chip-bad" : ""), title: problem || undefined },
        h("span", { text: `${f.column} ${f.op} ${f.value ?? ""}` }),
        problem ? h("span", { class: "lnx-chip-note", text: "not applied" }) : null,
        h("button", { class: "lnx-chip-x", type: "button", "aria-label": "Remove filter", text: "×",
          onclick: () => setTrait(model, "filters", filters.filter((_, k) => k !== i)) }));
    }));
  }

  function drawCell(name, i, values, r) {
    const [shown, full] = values ? values[i] : ["…", ""];
    const column = columns.get(name);
    const attrs = { class: "lnx-cell", role: "gridcell", style: { width: `${width(name)}px` }, title: full || undefined };
    if (values && column?.target && shown !== "") {
      return h("div", attrs, h("button", { class: "lnx-link", type: "button", text: shown,
        title: `show these rows of ${column.target}`, onclick: () => follow(r, name) }));
    }
    if (values && column && column.kind !== "scalar") {
      return h("div", { ...attrs, class: "lnx-cell lnx-array-cell", tabindex: "-1",
        onclick: () => openCell(r, name), title: `${full} — click to see every value` }, shown);
    }
    return h("div", attrs, shown);
  }

  // Rows drawn with their values are kept and moved, not rebuilt: a click that starts on a cell
  // while another page arrives (and the rows are drawn again) still lands on that cell.
  let drawn = new Map(); // row index -> its element, once drawn with values

  function drawRows() {
    const { virtual, shift, first, last } = geometry(scroller.scrollTop, scroller.clientHeight || model.get("height"), info.total);
    const size = pageSize();
    const rows = [];
    const kept = new Map();
    for (let r = first; r < last; r++) {
      const values = rowValues(pages, r, size);
      const row = (values && drawn.get(r)) || h("div", { class: "lnx-row" + (values ? "" : " lnx-loading"), role: "row",
        "aria-rowindex": r + 1 }, ...names.map((name, i) => drawCell(name, i, values, r)));
      row.style.top = `${r * ROW - shift}px`;
      if (values) kept.set(r, row);
      rows.push(row);
    }
    drawn = kept;
    spacer.style.height = `${virtual}px`;
    const current = [...body.children].slice(1);
    if (current.length !== rows.length || current.some((row, i) => row !== rows[i])) body.replaceChildren(spacer, ...rows);
    const { want, prefetch } = pagesFor(first, last, size, info.total, (p) => pages.has(p));
    want.forEach(load);
    if (prefetch !== null) load(prefetch);
  }

  function load(page) {
    const size = pageSize();
    if (pages.has(page) || pending.has(page) || page * size >= info.total) return;
    pending.add(page);
    channel.request("page", { offset: page * size, limit: size, ...query() }, `page:${page}`).then(({ msg, buffers }) => {
      pending.delete(page);
      if (msg.table_path !== model.get("table_path")) return;
      const { names: got, rows } = decode(buffers[0]);
      const order = names.map((n) => got.indexOf(n));
      pages.set(page, rows.map((row) => order.map((i) => (i < 0 ? ["", ""] : row[i]))));
      drawRows();
    });
  }

  // -- one cell in full ----------------------------------------------------------------------
  function closeCell() {
    cellView.hidden = true;
    cellView.replaceChildren();
    channel.cancel("cell");
  }

  async function openCell(offset, name) {
    const { msg, buffers } = await channel.request("cell", { offset, column: name, ...query() }, "cell");
    const close = h("button", { class: "lnx-button", type: "button", text: "Close", "aria-label": "Close the cell view", onclick: closeCell });
    const shape = msg.shape ? ` · shape (${msg.shape.join(", ")})` : msg.lengths ? ` · ${msg.lengths.length} lists` : "";
    const headline = `${name} · row ${offset + 1} (_table_index ${msg.table_index}) · ${msg.total.toLocaleString("en-US")} values${shape}` +
      (msg.cut ? ` · the first ${Number(msg.text.split(", ").length).toLocaleString("en-US")} shown` : "");
    const parts = [h("div", { class: "lnx-toolbar" }, h("span", { class: "lnx-name", text: headline }), close)];
    if (msg.numeric && buffers.length) {
      const values = float64(buffers[0]);
      const canvas = h("canvas", { class: "lnx-picture", height: 48, "aria-label": msg.sorted ? "histogram of the values" : "sparkline of the values" });
      parts.push(canvas);
      requestAnimationFrame(() => {
        const w = Math.max(100, canvas.clientWidth || 300);
        const ratio = window.devicePixelRatio || 1;
        canvas.width = w * ratio;
        canvas.height = 48 * ratio;
        const ctx = canvas.getContext("2d");
        ctx.scale(ratio, ratio);
        const color = getComputedStyle(el).getPropertyValue("--jp-brand-color1").trim() || "#1976d2";
        const kind = drawPicture(ctx, values, msg.sorted, w, 48, color);
        canvas.dataset.kind = kind;
      });
    }
    parts.push(h("pre", { class: "lnx-cell-text", tabindex: "0", text: msg.text }));
    cellView.replaceChildren(...parts);
    cellView.hidden = false;
  }

  cellView.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      handled(event);
      closeCell();
    }
  });

  async function follow(offset, name) {
    await channel.request("follow", { offset, column: name, ...query() }, "follow");
  }

  async function reset() {
    channel.cancel("page:");
    pages.clear();
    drawn = new Map();
    pending.clear();
    error.clear();
    closeCell();
    const path = model.get("table_path");
    title.textContent = path || "No table selected";
    title.title = path;
    const { msg } = await channel.request("info", query(), "info");
    if (msg.table_path !== model.get("table_path")) return; // another table since
    info = msg;
    columns = new Map(msg.columns.map((c) => [c.name, c]));
    names = msg.table_path ? [...(msg.multi_file ? ["_nwb_path"] : []), "_table_index", ...msg.columns.map((c) => c.name)] : [];
    const choices = [...(msg.multi_file ? ["_nwb_path"] : []), ...msg.columns.filter((c) => c.kind === "scalar").map((c) => c.name)];
    const previous = colSelect.value;
    colSelect.replaceChildren(...choices.map((c) => h("option", { value: c, text: c })));
    if (choices.includes(previous)) colSelect.value = previous; // the choice survives a new query
    const rows = (n) => `${Number(n).toLocaleString("en-US")} rows`;
    count.textContent = msg.total === msg.unfiltered ? rows(msg.total) : `${Number(msg.total).toLocaleString("en-US")} of ${rows(msg.unfiltered)}`;
    drawChips();
    const notes = [];
    if (msg.file_errors?.length) notes.push(`Some files were skipped: ${msg.file_errors.join("; ")}`);
    for (const e of msg.filter_errors || []) notes.push(`Filter ${e.index + 1} not applied: ${e.message}`);
    if (notes.length) error.show(notes.join("\n"));
    drawHeader();
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
  value.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      handled(e);
      add.click();
    }
  });
  let frame = 0;
  scroller.addEventListener("scroll", () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(drawRows);
  });

  const onTable = () => {
    scroller.scrollTop = 0; // another table starts at its top left
    scroller.scrollLeft = 0;
    reset();
  };
  const events = ["change:filters", "change:sort", "change:page_size"];
  events.forEach((e) => model.on(e, reset));
  model.on("change:table_path", onTable);
  reset();
  return () => {
    unsize();
    unguard();
    channel.close();
    events.forEach((e) => model.off(e, reset));
    model.off("change:table_path", onTable);
  };
}

export default { render };
