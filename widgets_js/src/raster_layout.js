// The raster's rows (unit-tested): how many units fit, where a page starts, the keys that
// page, and how the kernel's reply becomes tick segments or a heat map.

export const ROW_MIN = 5; // px: a unit's row is never thinner
export const ROW_MAX = 16;

/** Units shown in `height` px (at least one row of ROW_MIN px each, at most `total`). */
export function rowsThatFit(height, total) {
  const fit = Math.max(1, Math.floor(Math.max(0, height) / ROW_MIN));
  return Math.max(1, Math.min(fit, total > 0 ? total : fit));
}

/** The first unit of a page: inside [0, total - count]. */
export function clampOffset(offset, count, total) {
  return Math.max(0, Math.min(Math.floor(offset) || 0, Math.max(0, total - count)));
}

/** A paging key's new offset, or null for a key the raster does not page with. */
export function pageKey(key, offset, count, total) {
  const step = { PageDown: count, PageUp: -count, ArrowDown: 1, ArrowUp: -1 }[key];
  if (step !== undefined) return clampOffset(offset + step, count, total);
  if (key === "Home") return 0;
  if (key === "End") return clampOffset(total, count, total);
  return null;
}

/** Spikes as row-tagged times: for unit k (row k from the top), times[offsets[k]:offsets[k+1]].
 * Returns {x, row} of every tick (Float64Array, Int32Array). */
export function ticks(times, offsets) {
  const n = offsets.length - 1;
  const row = new Int32Array(times.length);
  for (let k = 0; k < n; k++) row.fill(k, offsets[k], offsets[k + 1]);
  return { x: times, row };
}

/** The heat of a count among counts whose largest is `max` (0..1, square-root scaled so a
 * few spikes still show beside bursts). */
export function heat(count, max) {
  if (!(count > 0) || !(max > 0)) return 0;
  return Math.min(1, Math.sqrt(count / max));
}

/** The status line of a raster reply. */
export function rasterStatus(msg) {
  const n = (v) => Number(v).toLocaleString("en-US");
  const units = `${n(msg.units?.length ?? 0)} of ${n(msg.total ?? 0)} units`;
  switch (msg.mode) {
    case "ticks":
      return `every spike: ${n(msg.spikes)} spikes of ${units} (${n(msg.offset + 1)}–${n(msg.offset + (msg.units?.length ?? 0))})`;
    case "counts":
      return `${n(msg.spikes)} spikes of ${units}: counts per pixel column (zoom in for every spike)`;
    case "estimated":
      return `~${n(msg.spikes)} spikes of ${units}: counts estimated from an index of the trains ` +
        `(the window's spikes exceed the ${Math.round(msg.budget / 1048576)} MiB ${msg.remote ? "remote" : "local"} read budget) - zoom in`;
    case "empty":
      return `no spikes: ${units}`;
    default:
      return "";
  }
}
