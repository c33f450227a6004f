// Keys inside a widget stay inside it. JupyterLab and Notebook 7 run their shortcuts from a
// keydown listener on the document (in the bubbling phase in JupyterLab, the capturing phase
// in Notebook 7), so a key pressed in a widget's tree or typed into its input would also
// insert a cell, delete one, or change modes. A widget owns the keys pressed inside it
// (`ownsKey`), except shortcuts with Ctrl / Meta / Alt, Tab, Shift+Enter (run the cell) and
// Escape where the widget has nothing to close. For an owned key the element gets lumino's
// `data-lm-suppress-shortcuts` while the event is dispatched (set from a capturing listener on
// the window, which runs before any document listener), and the view stops its propagation.

const SUPPRESS = "data-lm-suppress-shortcuts";
const EDITABLE = new Set(["INPUT", "TEXTAREA", "SELECT"]);
const roots = new Set();

/** Plain typing in an editable element (no Ctrl / Meta / Alt, which stay shortcuts). */
export function isTyping(event) {
  const target = event.target;
  const editable = !!target && (EDITABLE.has(target.tagName) || target.isContentEditable === true);
  return editable && !event.ctrlKey && !event.metaKey && !event.altKey && event.key !== "Tab";
}

/** A printable character with no modifier (type-ahead in a tree or list). */
export function isCharacter(event) {
  return typeof event.key === "string" && event.key.length === 1 && event.key !== " "
    && !event.ctrlKey && !event.metaKey && !event.altKey;
}

/** Whether a key pressed inside a widget is the widget's rather than the notebook's. */
export function ownsKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.key === "Tab") return false;
  if (event.key === "Enter" && event.shiftKey) return false;
  if (event.key === "Escape") return !!event.target?.closest?.("[data-lnx-escape]");
  return true;
}

function onWindowKey(event) {
  const target = event.target;
  if (!(target instanceof Element) || target.hasAttribute(SUPPRESS)) return;
  for (const root of roots) {
    if (root.contains(target) && ownsKey(event)) {
      target.setAttribute(SUPPRESS, "true");
      setTimeout(() => target.removeAttribute(SUPPRESS)); // once the event is dispatched
      return;
    }
  }
}

/** Keep the keys owned inside `root` from reaching the notebook; returns an undo. */
export function guardKeys(root) {
  if (!roots.size) {
    window.addEventListener("keydown", onWindowKey, true);
    window.addEventListener("keypress", onWindowKey, true);
  }
  roots.add(root);
  const stop = (event) => {
    if (ownsKey(event)) event.stopPropagation();
  };
  root.addEventListener("keydown", stop);
  root.addEventListener("keypress", stop);
  return () => {
    roots.delete(root);
    root.removeEventListener("keydown", stop);
    root.removeEventListener("keypress", stop);
    if (!roots.size) {
      window.removeEventListener("keydown", onWindowKey, true);
      window.removeEventListener("keypress", onWindowKey, true);
    }
  };
}

/** Mark a key as handled by the view: no default action, no notebook shortcut. */
export function handled(event) {
  event.preventDefault();
  event.stopPropagation();
}
