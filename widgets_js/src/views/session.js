// SessionPanel front end: the session and subject metadata of the file, as name / value
// tables (text only), with the fields the file does not have listed after them.
import { Channel, errorLine, h, sizeRoot } from "../common.js";
import { guardKeys } from "../keys.js";

function section({ title, fields }) {
  if (!fields.length) return h("p", { class: "lnx-meta", text: `${title}: nothing recorded` });
  return h("table", { class: "lnx-table lnx-pairs" },
    h("caption", { text: title }),
    h("tbody", {}, fields.map(([name, value]) => h("tr", {},
      h("th", { scope: "row", text: name.replaceAll("_", " ") }),
      h("td", { text: value })))));
}

function render({ model, el }) {
  const unsize = sizeRoot(el, model, "lnx-session");
  const unguard = guardKeys(el);
  const error = errorLine();
  const content = h("div", { class: "lnx-scroll" });
  const channel = new Channel(model, (msg) => error.show(msg));
  el.replaceChildren(h("div", { class: "lnx-col" }, error.node, content));

  channel.request("metadata", {}, "metadata").then(({ msg }) => {
    const head = h("div", { class: "lnx-title" },
      h("span", { class: "lnx-name", text: msg.source, title: msg.source }),
      msg.nwb_version ? h("span", { class: "lnx-badge", text: `NWB ${msg.nwb_version}` }) : null);
    const missing = msg.missing.length
      ? h("p", { class: "lnx-meta", text: `Not in this file: ${msg.missing.join(", ").replaceAll("_", " ")}` }) : null;
    content.replaceChildren(head, ...msg.sections.map(section), missing);
  });
  return () => {
    unsize();
    unguard();
    channel.close();
  };
}

export default { render };
