// Shared front-end helpers: safe DOM building (text only), the request/reply channel with
// generation numbers, buffer decoding and number formatting.
//
// Everything a file contains is untrusted: it is only ever put into the page through
// textContent / attribute values, never innerHTML.

/** Build an element; children are nodes or strings (set as text, never parsed). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * The request channel of one view. Every request gets a new generation number `gen`; the
 * reply carries it back. Requests share a `slot` (e.g. "window"); a reply older than the
 * latest request of its slot is stale and dropped. `cancel(prefix)` forgets pending requests
 * (their replies are then dropped too).
 */
export class Channel {
  constructor(model, onError) {
    this.model = model;
    this.onError = onError;
    // One model can be shown by several views at once (displayed twice, a notebook reopened,
    // "new view for output"): the kernel's replies reach them all, so each view names itself
    // in its requests and takes only the replies that name it.
    this.view = Math.random().toString(36).slice(2) + Date.now().toString(36);
    this.gen = 0;
    this.pending = new Map(); // gen -> {slot, resolve}
    this.latest = new Map(); // slot -> gen
    this.handler = (msg, buffers) => this.receive(msg, buffers || []);
    model.on("msg:custom", this.handler);
  }

  request(type, params = {}, slot = type) {
    const gen = ++this.gen;
    this.latest.set(slot, gen);
    return new Promise((resolve) => {
      this.pending.set(gen, { slot, resolve, type });
      // sent after the current task's own traitlet updates (setTrait saves synchronously,
      // but a view often asks from the change event that setting fires, before the save):
      // the kernel then answers with the state the request was made for
      queueMicrotask(() => this.model.send({ type, gen, view: this.view, ...params }, undefined, []));
    });
  }

  receive(msg, buffers) {
    if (!msg || typeof msg !== "object" || typeof msg.gen !== "number" || msg.view !== this.view) return;
    const entry = this.pending.get(msg.gen);
    if (!entry) return; // cancelled, or not ours
    this.pending.delete(msg.gen);
    if (this.latest.get(entry.slot) !== msg.gen) return; // stale: a newer request exists
    if (msg.type === "error") {
      this.onError?.(msg);
      return;
    }
    entry.resolve({ msg, buffers: buffers.map(asBytes) });
  }

  cancel(prefix = "") {
    for (const [gen, entry] of this.pending) {
      if (entry.slot.startsWith(prefix)) this.pending.delete(gen);
    }
  }

  close() {
    this.model.off("msg:custom", this.handler);
    this.pending.clear();
  }
}

/** A buffer from the kernel (DataView, ArrayBuffer, typed array) as a Uint8Array view. */
export function asBytes(buffer) {
  if (buffer instanceof Uint8Array) return buffer;
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (ArrayBuffer.isView(buffer)) {
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  return new Uint8Array(0);
}

/** Little-endian float64 values of a buffer (copied when not 8-byte aligned). */
export function float64(bytes) {
  if (bytes.byteOffset % 8 === 0) {
    return new Float64Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 8));
  }
  return new Float64Array(bytes.slice().buffer);
}

/** Little-endian int32 values of a buffer (an aligned copy). */
export function int32(bytes) {
  return new Int32Array(bytes.slice().buffer);
}

/** A count as text with thousands separators (1,234,567). */
export function count(n) {
  return Number(n).toLocaleString("en-US");
}

/** A cell value as text: numbers compact, BigInt exact, null empty. */
export function formatValue(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    if (!Number.isFinite(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e7) ? value.toExponential(4) : String(+value.toPrecision(7));
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  return String(value);
}

/** The error line of a view: shows a kernel error reply (or any message) as text. */
export function errorLine() {
  const node = h("div", { class: "lnx-error", role: "alert", hidden: true });
  return {
    node,
    show(msg) {
      const text = typeof msg === "string" ? msg : `${msg.error || "Error"}: ${msg.message}`;
      node.textContent = text;
      node.hidden = false;
    },
    clear() {
      node.textContent = "";
      node.hidden = true;
    },
  };
}

/** Set a traitlet from the browser and sync it to the kernel. */
export function setTrait(model, name, value) {
  model.set(name, value);
  model.save_changes();
}

/** Give the root element the view's explicit height (so it never collapses in a Box). */
export function sizeRoot(el, model, cls) {
  el.classList.add("lnx-root", cls);
  const apply = () => {
    el.style.height = `${model.get("height")}px`;
  };
  apply();
  model.on("change:height", apply);
  return () => model.off("change:height", apply);
}

/**
 * Run `work` now when `el` is on screen, else once it is (the Explorer keeps views it does not
 * show: a hidden view asks the kernel for nothing - the time axis it shares moves while it is
 * hidden, and it asks for its window when shown again). Returns {run(...args), destroy}.
 */
export function whenShown(el, work) {
  let pending = null;
  const shown = () => el.isConnected && el.getClientRects().length > 0 && el.clientWidth > 0;
  const observer = new ResizeObserver(() => {
    if (pending && shown()) {
      const args = pending;
      pending = null;
      work(...args);
    }
  });
  observer.observe(el);
  return {
    run(...args) {
      if (shown()) {
        pending = null;
        return work(...args);
      }
      pending = args;
      return undefined;
    },
    destroy: () => observer.disconnect(),
  };
}
