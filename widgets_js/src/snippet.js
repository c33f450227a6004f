// "Code": the Python that computes what a view shows with the public API, asked of the kernel
// when opened (the view's state decides it), shown as text and copied with a button.
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
