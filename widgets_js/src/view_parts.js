// The parts every data view starts with, and their teardown in one place: the root sized by
// the `height` traitlet, the view's keys kept from the notebook, the error line, the request
// channel (its errors shown on that line), the title / status / legend elements, and the
// "open when shown, again when these traitlets change" wiring. A view registers what else it
// must undo (observers, charts, listeners) with `onDestroy` and returns `destroy`.
import { Channel, errorLine, h, sizeRoot, whenShown } from "./common.js";
import { guardKeys } from "./keys.js";

/** Subscribe `{event: handler}` on the model; returns the function that unsubscribes them. */
export function listen(model, handlers) {
  const entries = Object.entries(handlers);
  for (const [event, handler] of entries) model.on(event, handler);
  return () => {
    for (const [event, handler] of entries) model.off(event, handler);
  };
}

/**
 * Set up a view on `el` (root class `cls`). Returns {error, channel, title, status, legend,
 * lines(...legendExtras), onDestroy(...undo), opens(open, events), destroy}.
 */
export function viewParts(el, model, cls) {
  const undo = [];
  const error = errorLine();
  const channel = new Channel(model, (msg) => error.show(msg));
  undo.push(sizeRoot(el, model, cls), guardKeys(el), () => channel.close());
  const title = h("span", { class: "lnx-name" });
  const status = h("span", { class: "lnx-meta lnx-status", role: "status" });
  const legend = h("span", { class: "lnx-legend lnx-meta" });
  return {
    error,
    channel,
    title,
    status,
    legend,
    /** The status line, the legend line (with `extras` after the legend) and the error line,
     * as the views show them under their toolbars. */
    lines: (...extras) => [h("div", { class: "lnx-toolbar" }, status),
      h("div", { class: "lnx-toolbar" }, legend, ...extras), error.node],
    /** Run each of `fns` when the view is destroyed (in the order registered). */
    onDestroy(...fns) {
      undo.push(...fns);
    },
    /** Run `open` once the view is laid out, and again when any of the traitlets `names`
     * changes - each time only when the view is on screen (else once it is shown). */
    opens(open, names) {
      const opening = whenShown(el, () => open());
      const reopen = () => opening.run();
      undo.push(() => opening.destroy(), listen(model, Object.fromEntries(names.map((name) => [`change:${name}`, reopen]))));
      requestAnimationFrame(reopen);
    },
    destroy() {
      for (const fn of undo.splice(0)) fn();
    },
  };
}
