// "Code": the Python that computes what a view shows with the public API, shown as text and
// copied with a button. Two kinds: asked of the kernel when opened (`snippetBox`: the view's
// state decides it), or kept by the kernel in the `snippet` traitlet (`traitSnippet`).
import { h } from "./common.js";

export function snippetBox(channel) {
  const pre = h("pre", { class: "lnx-snippet", "aria-label": "Code reproducing this view", tabindex: "0" });
  const copy = h("button", { class: "lnx-button", type: "button", text: "Copy", "aria-label": "Copy the code" });
  const summary = h("summary", { class: "lnx-button", text: "Code" });
  const node = h("details", { class: "lnx-code" }, summary,
    h("div", { class: "lnx-code-panel" }, h("div", { class: "lnx-toolbar" },
      h("span", { class: "lnx-meta", text: "Reproduce it in Python" }), copy), pre));
  const load = async () => {
    pre.textContent = "…";
    const { msg } = await channel.request("snippet", {});
    pre.textContent = msg.text;
  };
  node.addEventListener("toggle", () => node.open && load());
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(pre.textContent);
    } catch {
      const range = document.createRange();
      range.selectNodeContents(pre);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      document.execCommand?.("copy");
    }
    copy.textContent = "Copied";
    setTimeout(() => (copy.textContent = "Copy"), 1200);
  });
  return { node, refresh: () => node.open && load() };
}

/**
 * The code box of a view whose kernel keeps its code in the `snippet` traitlet: a "Python"
 * button that shows or hides it, the code as text (`label` names it for screen readers) and a
 * Copy button (where the clipboard is refused, it selects the code instead). Returns
 * {button, node, destroy}: the button goes in the view's toolbar, the node below the view.
 */
export function traitSnippet(model, label) {
  const pre = h("pre", { class: "lnx-snippet", "aria-label": label, tabindex: "0" });
  const copy = h("button", { class: "lnx-button", type: "button", text: "Copy", "aria-label": "Copy the code" });
  const node = h("div", { class: "lnx-snippet-box", hidden: true },
    h("div", { class: "lnx-toolbar" }, h("span", { class: "lnx-meta", text: "Read it in Python" }), copy), pre);
  const button = h("button", { class: "lnx-button", type: "button", text: "Python", "aria-expanded": "false",
    title: "The code that reads what is shown" });
  button.addEventListener("click", () => {
    node.hidden = !node.hidden;
    button.setAttribute("aria-expanded", String(!node.hidden));
  });
  let timer = null;
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(model.get("snippet"));
      copy.textContent = "Copied";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(pre);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      copy.textContent = "Selected";
    }
    clearTimeout(timer);
    timer = setTimeout(() => (copy.textContent = "Copy"), 1200);
  });
  const show = () => (pre.textContent = model.get("snippet") || "");
  show();
  model.on("change:snippet", show);
  return {
    button,
    node,
    destroy() {
      clearTimeout(timer);
      model.off("change:snippet", show);
    },
  };
}
