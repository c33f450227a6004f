// TreeBrowser front end: an ARIA tree (role=tree / treeitem, aria-expanded, roving tabindex,
// arrow keys), children requested when a group opens, a search box, and the access snippet
// of the selection with a copy button.
import { Channel, errorLine, h, setTrait, sizeRoot } from "../common.js";

function label(node) {
  const parts = [h("span", { class: "lnx-name", text: node.name })];
  if (node.neurodata_type) parts.push(h("span", { class: "lnx-badge", text: node.neurodata_type }));
  const meta = [];
  if (node.shape) meta.push(`(${node.shape.join(", ")})`);
  if (node.dtype) meta.push(node.dtype);
  if (node.size) meta.push(node.size);
  if (meta.length) parts.push(h("span", { class: "lnx-meta", text: meta.join(" · ") }));
  return parts;
}

function render({ model, el }) {
  const unsize = sizeRoot(el, model, "lnx-tree");
  const error = errorLine();
  const channel = new Channel(model, (msg) => error.show(msg));
  const nodes = new Map(); // path -> node description
  const kids = new Map(); // path -> [child paths] (known children)
  const open = new Set(["/"]);
  let focused = null;

  const title = h("div", { class: "lnx-title", text: model.get("source") });
  const search = h("input", {
    class: "lnx-input", type: "search", placeholder: "Search paths…", "aria-label": "Search paths",
  });
  const results = h("div", { class: "lnx-results", role: "listbox", "aria-label": "Search results", hidden: true });
  const tree = h("div", { class: "lnx-treebox", role: "tree", "aria-label": "NWB file tree" });
  const snippet = h("pre", { class: "lnx-snippet", "aria-label": "Access snippet" });
  const copy = h("button", { class: "lnx-button", type: "button", text: "Copy" });
  const snippetBox = h("div", { class: "lnx-snippet-box" }, snippet, copy);
  el.replaceChildren(h("div", { class: "lnx-col" }, title, search, results, error.node, tree, snippetBox));

  function visible() {
    const out = [];
    const walk = (path, level) => {
      for (const child of kids.get(path) || []) {
        out.push({ path: child, level });
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
    if (!rows.some((r) => r.path === focused)) focused = rows.length ? rows[0].path : null;
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
    if (at < 0) return;
    const path = rows[at].path;
    const node = nodes.get(path);
    const parent = path.slice(0, path.lastIndexOf("/")) || "/";
    const keys = {
      ArrowDown: () => at + 1 < rows.length && focusItem(rows[at + 1].path),
      ArrowUp: () => at > 0 && focusItem(rows[at - 1].path),
      Home: () => focusItem(rows[0].path),
      End: () => focusItem(rows[rows.length - 1].path),
      ArrowRight: () => {
        if (node.expandable && !open.has(path)) expand(path).then(() => focusItem(path));
        else if (node.expandable && (kids.get(path) || []).length) focusItem(kids.get(path)[0]);
      },
      ArrowLeft: () => {
        if (open.has(path)) {
          open.delete(path);
          focusItem(path);
        } else if (parent !== "/") focusItem(parent);
      },
      Enter: () => select(path),
      " ": () => select(path),
    };
    if (keys[event.key]) {
      event.preventDefault();
      keys[event.key]();
    }
  });

  async function reveal(path) {
    if (!path) return draw();
    const { msg } = await channel.request("reveal", { path }, "reveal");
    for (const [parent, list] of Object.entries(msg.levels)) {
      store(parent, list);
      open.add(parent);
    }
    focused = path;
    draw();
    tree.querySelector(`[data-path="${CSS.escape(path)}"]`)?.scrollIntoView({ block: "nearest" });
  }

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const query = search.value;
      setTrait(model, "query", query);
      if (!query.trim()) {
        results.hidden = true;
        return;
      }
      const { msg } = await channel.request("search", { query }, "search");
      const options = msg.results.map((node) => {
        const option = h("div", { class: "lnx-option", role: "option", tabindex: "-1", "data-path": node.path },
          h("span", { class: "lnx-name", text: node.path }), ...label(node).slice(1));
        const choose = () => {
          results.hidden = true;
          select(node.path);
        };
        option.addEventListener("click", choose);
        option.addEventListener("keydown", (e) => e.key === "Enter" && choose());
        return option;
      });
      if (!options.length) options.push(h("div", { class: "lnx-meta", text: "No match" }));
      if (msg.truncated) options.push(h("div", { class: "lnx-meta", text: "… more matches: refine the search" }));
      results.replaceChildren(...options);
      results.hidden = false;
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
    if (path && !nodes.has(path)) reveal(path);
    else draw();
  };
  const onSnippet = () => draw();
  model.on("change:selected_path", onSelected);
  model.on("change:snippet", onSnippet);

  channel.request("children", { path: "/" }, "children:/").then(({ msg }) => {
    store("/", msg.nodes);
    if (model.get("selected_path")) reveal(model.get("selected_path"));
    else draw();
  });

  return () => {
    unsize();
    channel.close();
    model.off("change:selected_path", onSelected);
    model.off("change:snippet", onSnippet);
  };
}

export default { render };
