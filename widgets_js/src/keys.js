// Keys inside a widget stay inside it: JupyterLab (and Notebook 7) run their shortcuts from a
// keydown listener on the document, so a key typed into a widget's input - or pressed in its
// tree - would also insert a cell, run one, or change modes. Views stop the keys they handle;
// `guardTyping` stops plain typing in any input of a view.

const EDITABLE = new Set(["INPUT", "TEXTAREA", "SELECT"]);

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

/** Stop plain typing in the inputs under `root` from reaching the notebook; returns an undo. */
export function guardTyping(root) {
  const stop = (event) => {
    if (isTyping(event)) event.stopPropagation();
  };
  root.addEventListener("keydown", stop);
  root.addEventListener("keypress", stop);
  return () => {
    root.removeEventListener("keydown", stop);
    root.removeEventListener("keypress", stop);
  };
}

/** Mark a key as handled by the view: no default action, no notebook shortcut. */
export function handled(event) {
  event.preventDefault();
  event.stopPropagation();
}
