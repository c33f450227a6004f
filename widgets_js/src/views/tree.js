// TreeBrowser front end: an ARIA tree (role=tree / treeitem, aria-expanded, roving tabindex,
// arrow keys, type-ahead), children requested when a group opens, a search box whose results
// are a keyboard-navigable listbox, and the access snippet of the selection with a copy button.
// Keys the tree handles stay in the widget (keys.js); a failed request shows its error above
// a tree that keeps working.
import { Channel, errorLine, h, setTrait, sizeRoot } from "../common.js";
import { guardKeys, handled, isCharacter } from "../keys.js";
import { listKey, treeKey, TypeAhead, typeAhead } from "../tree_keys.js";

function metaText(node) {
  const meta = [];
  if (node.shape) meta.push(`(${node.shape.join(", ")})`);
  if (node.dtype) meta.push(node.dtype);
  if (node.size) meta.push(node.size);
  return meta.join(" · ");
}

/** A row's label: name, neurodata type badge, shape / dtype / size; each ellipsized, each
 * with its full text on hover. */
function label(node, name = node.name) {
  const parts = [h("span", { class: "lnx-name", text: name, title: node.path })];
  if (node.neurodata_type) parts.push(h("span", { class: "lnx-badge", text: node.neurodata_type, title: node.neurodata_type }));
  const meta = metaText(node);
  if (meta) parts.push(h("span", { class: "lnx-meta", text: meta, title: meta }));
  return parts;
}

function render({ model, el }) {
  const unsize = sizeRoot(el, model, "lnx-tree");
  const unguard = guardKeys(el);
  const error = errorLine();
  const channel = new Channel(model, (msg) => error.show(msg));
  const nodes = new Map(); // path -> node description
  const kids = new Map(); // path -> [child paths] (known children)
  const open = new Set(["/"]);
  const typed = new TypeAhead();
  let focused = null;
  let options = []; // search results shown: [{path, el}]
  let active = -1; // the search result with the keyboard focus (-1: the search box)

  const title = h("div", { class: "lnx-title lnx-source", text: model.get("source"), title: model.get("source") });
  const search = h("input", {
    class: "lnx-input lnx-search", type: "search", placeholder: "Search paths…", "aria-label": "Search paths",
    role: "combobox", "aria-expanded": "false", "aria-autocomplete": "list", "data-lnx-escape": true,
  });
  const results = h("div", { class: "lnx-results", role: "listbox", "aria-label": "Search results", hidden: true, "data-lnx-escape": true, id: `lnx-results-${Math.random().toString(36).slice(2)}` });
  search.setAttribute("aria-controls", results.id);
  const tree = h("div", { class: "lnx-treebox", role: "tree", "aria-label": "NWB file tree" });
  const snippet = h("pre", { class: "lnx-snippet", "aria-label": "Access snippet", tabindex: "0" });
  const copy = h("button", { class: "lnx-button", type: "button", text: "Copy", "aria-label": "Copy the snippet" });
  const snippetBox = h("div", { class: "lnx-snippet-box" },
    h("div", { class: "lnx-toolbar" }, h("span", { class: "lnx-meta", text: "Read it in Python" }), copy), snippet);
  el.replaceChildren(h("div", { class: "lnx-col" }, title, search, results, error.node, tree, snippetBox));

  function visible() {
    const out = [];
    const walk = (path, level) => {
      for (const child of kids.get(path) || []) {
        const node = nodes.get(child);
        out.push({ path: child, level, name: node.name, expandable: node.expandable, open: open.has(child) });
        if (open.has(child)) walk(child, level + 1);
      }
    };
    walk("/", 1);
    return out;
  }

  function draw() {
    const hadFocus = tree.contains(document.activeElement);
    const rows = visible();
    const selected = model.get("selected_path");
    if (!rows.some((r) => r.path === focused)) {
      focused = rows.some((r) => r.path === selected) ? selected : rows.length ? rows[0].path : null;
    }
    const items = rows.map(({ path, level }) => {
      const node = nodes.get(path);
      const item = h(
        "div",
        {
          class: "lnx-item" + (path === selected ? " lnx-selected" : ""),
          role: "treeitem",
          "aria-level": level,
          "aria-selected": path === selected ? "true" : "false",
          "aria-expanded": node.expandable ? String(open.has(path)) : undefined,
          tabindex: path === focused ? "0" : "-1",
          "data-path": path,
          style: { paddingLeft: `${(level - 1) * 14 + 4}px` },
        },
        h("span", { class: "lnx-toggle", "aria-hidden": "true", text: node.expandable ? (open.has(path) ? "▾" : "▸") : " " }),
        ...label(node),
      );
      item.addEventListener("click", (event) => {
        focused = path;
        if (event.target.classList.contains("lnx-toggle")) toggle(path);
        else select(path);
      });
      return item;
    });
    tree.replaceChildren(...items);
    if (!items.length) tree.append(h("div", { class: "lnx-meta", text: "…" }));
    if (hadFocus && focused) tree.querySelector(`[data-path="${CSS.escape(focused)}"]`)?.focus();
    snippet.textContent = model.get("snippet") || "Select a node to see how to read it.";
  }

  function store(path, list) {
    for (const node of list) nodes.set(node.path, node);
    kids.set(path, list.map((n) => n.path));
  }

  async function expand(path) {
    open.add(path);
    if (!kids.has(path)) {
      const { msg } = await channel.request("children", { path }, `children:${path}`);
      store(path, msg.nodes);
    }
    draw();
  }

  function toggle(path) {
    if (open.has(path)) {
      open.delete(path);
      draw();
    } else expand(path);
  }

  function select(path) {
    error.clear();
    focused = path;
    setTrait(model, "selected_path", path);
    draw();
  }

  function focusItem(path) {
    focused = path;
    draw();
    const item = tree.querySelector(`[data-path="${CSS.escape(path)}"]`);
    item?.focus();
    item?.scrollIntoView({ block: "nearest" });
  }

  tree.addEventListener("keydown", (event) => {
    const rows = visible();
    const at = rows.findIndex((r) => r.path === focused);
    if (isCharacter(event) && event.key !== "*") {
      handled(event); // type-ahead: a letter moves to the next name starting with it
      const i = typeAhead(rows, at, typed.push(event.key));
      if (i >= 0) focusItem(rows[i].path);
      return;
    }
    const action = treeKey(event.key, rows, at);
    if (!action) return;
    handled(event);
    if (action.select) select(action.select);
    else if (action.expand) expand(action.expand).then(() => focusItem(action.focus));
    else if (action.expandAll) Promise.all(action.expandAll.map(expand)).then(() => focusItem(action.focus));
    else if (action.collapse) {
      open.delete(action.collapse);
      focusItem(action.focus);
    } else if (action.focus) focusItem(action.focus);
  });

  async function reveal(path) {
    const { msg } = await channel.request("reveal", { path }, "reveal");
    for (const [parent, list] of Object.entries(msg.levels)) {
      store(parent, list);
      open.add(parent);
    }
    focused = path;
    draw();
    tree.querySelector(`[data-path="${CSS.escape(path)}"]`)?.scrollIntoView({ block: "nearest" });
  }

  // -- search: a combobox with a listbox of results ------------------------------------------
  function showResults(visible) {
    results.hidden = !visible;
    search.setAttribute("aria-expanded", String(visible));
    if (!visible) {
      active = -1;
      search.removeAttribute("aria-activedescendant");
    }
  }

  function activate(index) {
    active = index;
    options.forEach((o, i) => o.el.setAttribute("aria-selected", String(i === index)));
    if (index < 0) {
      search.removeAttribute("aria-activedescendant");
      search.focus();
    } else {
      search.setAttribute("aria-activedescendant", options[index].el.id);
      options[index].el.focus();
      options[index].el.scrollIntoView({ block: "nearest" });
    }
  }

  function choose(index) {
    const option = options[index];
    if (!option) return;
    showResults(false);
    select(option.path);
    reveal(option.path).then(() => focusItem(option.path));
  }

  function onListKey(event) {
    if (results.hidden && event.key !== "ArrowDown") return;
    const action = listKey(event.key, options.length, active);
    if (!action) return;
    handled(event);
    if (action.close) {
      showResults(false);
      search.focus();
    } else if ("choose" in action) choose(action.choose);
    else if ("active" in action) {
      if (results.hidden && options.length) showResults(true);
      activate(action.active);
    }
  }
  search.addEventListener("keydown", onListKey);
  results.addEventListener("keydown", onListKey);

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const query = search.value;
      setTrait(model, "query", query);
      if (!query.trim()) {
        options = [];
        results.replaceChildren();
        showResults(false);
        return;
      }
      const { msg } = await channel.request("search", { query }, "search");
      options = msg.results.map((node, i) => {
        const option = h("div", { class: "lnx-option", role: "option", tabindex: "-1", "data-path": node.path,
          id: `${results.id}-${i}`, "aria-selected": "false" }, ...label(node, node.path));
        option.addEventListener("click", () => choose(i));
        return { path: node.path, el: option };
      });
      const extra = [];
      if (!options.length) extra.push(h("div", { class: "lnx-meta", text: "No match" }));
      if (msg.truncated) extra.push(h("div", { class: "lnx-meta", text: "… more matches: refine the search" }));
      results.replaceChildren(...options.map((o) => o.el), ...extra);
      active = -1;
      showResults(true);
    }, 200);
  });

  copy.addEventListener("click", async () => {
    const text = model.get("snippet");
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const range = document.createRange();
      range.selectNodeContents(snippet);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      document.execCommand?.("copy");
    }
    copy.textContent = "Copied";
    setTimeout(() => (copy.textContent = "Copy"), 1200);
  });

  const onSelected = () => {
    const path = model.get("selected_path");
    if (path && !nodes.has(path) && kids.has("/")) reveal(path);
    else draw();
  };
  const onSnippet = () => draw();
  model.on("change:selected_path", onSelected);
  model.on("change:snippet", onSnippet);

  // the root first, drawn at once; then the selection (which may fail: the tree stays)
  channel.request("children", { path: "/" }, "children:/").then(({ msg }) => {
    store("/", msg.nodes);
    draw();
    if (model.get("selected_path")) reveal(model.get("selected_path"));
  });

  return () => {
    unsize();
    unguard();
    clearTimeout(timer);
    channel.close();
    model.off("change:selected_path", onSelected);
    model.off("change:snippet", onSnippet);
  };
}

export default { render };
