// What the plot draws from a reply (unit-tested): traces, stacked or overlaid, and the status
// line that says what was read. Gaps are NaN in the buffers and stay gaps (connectgaps off).

// plotly parses a few HTML-like tags in names: escape them so file text stays text.
export const plain = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function finiteSorted(values) {
  const out = [];
  for (const v of values) if (Number.isFinite(v)) out.push(v);
  return out.sort((a, b) => a - b);
}

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/** Offsets that stack channels top to bottom: channel k is centred at -k * spacing, where the
 * spacing is the median of the channels' 1-99% spreads (spikes do not widen it). */
export function stackOffsets(ys) {
  const centres = [];
  const spreads = [];
  for (const y of ys) {
    const sorted = finiteSorted(y);
    centres.push(sorted.length ? quantile(sorted, 0.5) : 0);
    if (sorted.length) spreads.push(quantile(sorted, 0.99) - quantile(sorted, 0.01));
  }
  const spread = finiteSorted(spreads);
  let spacing = quantile(spread, 0.5);
  if (!Number.isFinite(spacing) || spacing <= 0) spacing = Math.max(1e-12, Math.abs(quantile(spread, 1)) || 1);
  spacing *= 1.2;
  return { spacing, offsets: ys.map((_, k) => -k * spacing - centres[k]) };
}

/** plotly traces of one reply: x shared, one y per channel (offset when stacked); the
 * `picked` channel (clicked here or elsewhere) drawn thicker. */
export function buildTraces(msg, x, ys, { stacked, offsets, picked = -1 }) {
  return msg.traces.map((trace, k) => {
    let y = ys[k];
    if (stacked && offsets) {
      const shifted = new Float64Array(y.length);
      const d = offsets[k] ?? 0;
      for (let i = 0; i < y.length; i++) shifted[i] = y[i] + d;
      y = shifted;
    }
    return {
      type: "scatter", mode: "lines", x, y, name: plain(trace.label), connectgaps: false,
      line: { width: trace.channel === picked ? 2.5 : 1 }, hovertemplate: `${plain(trace.label)}: %{customdata:.6g}<extra></extra>`,
      customdata: ys[k],
    };
  });
}

// the least height a channel's label needs on the y axis, in px
export const LABEL_PX = 13;

/** The y axis: channel labels at the stacked offsets, else the unit. With `height` (px of
 * drawing area) too small for a label per channel, every k-th channel is labelled. */
export function yAxis(msg, meta, stacked, offsets, spacing, height = Infinity) {
  const unit = meta?.unit ? ` (${plain(meta.unit)})` : "";
  const n = msg.traces.length;
  if (stacked && offsets && n > 1) {
    const every = height > 0 ? Math.max(1, Math.ceil((LABEL_PX * n) / height)) : 1;
    const shown = msg.traces.map((_, k) => k).filter((k) => k % every === 0);
    return { title: { text: `channels${unit}` }, tickvals: shown.map((k) => -k * spacing),
      ticktext: shown.map((k) => plain(msg.traces[k].label)), zeroline: false, autorange: true };
  }
  return { title: { text: `value${unit}` }, autorange: true };
}

const count = (n) => Number(n).toLocaleString("en-US");
const megabytes = (n) => `${Math.round(n / (1024 * 1024))} MiB`;

/** What the status line says about a reply. */
export function statusText(msg) {
  switch (msg.mode) {
    case "samples":
      return `all ${count(msg.rows)} samples in view`;
    case "envelope":
      return `envelope of all ${count(msg.rows)} samples in view (min/max per pixel column)`;
    case "sampled": {
      const share = msg.rows ? (100 * msg.rows_read) / msg.rows : 0;
      const pct = share < 1 ? share.toFixed(2) : share.toFixed(0);
      return `sampled: ${pct}% of ${count(msg.rows)} samples read (blocks within the ` +
        `${megabytes(msg.budget)} ${msg.remote ? "remote" : "local"} read budget); gaps were not read ` +
        "- zoom in to see every sample";
    }
    case "empty":
      return "no samples in view";
    default:
      return "";
  }
}

/** A vertical line at time `t` (the shared time cursor), as a plotly shape; none when unset. */
export function cursorShapes(t, colour) {
  if (t === null || t === undefined || !Number.isFinite(t)) return [];
  return [{ type: "line", xref: "x", yref: "paper", x0: t, x1: t, y0: 0, y1: 1,
    line: { color: colour, width: 1, dash: "dot" } }];
}
