// The arithmetic of a time window (unit-tested): zoom around a point, pan, clamp, compare.

/** [a, b] zoomed by `factor` (< 1 zooms in) around `at`, kept inside `extent` when given. */
export function zoomAround(range, at, factor, extent = null) {
  const [a, b] = range;
  let lo = at - (at - a) * factor;
  let hi = at + (b - at) * factor;
  return extent ? clampRange([lo, hi], extent) : [lo, hi];
}

/** [a, b] moved by `dt`, kept inside `extent` when given (its width kept). */
export function pan(range, dt, extent = null) {
  const moved = [range[0] + dt, range[1] + dt];
  return extent ? clampRange(moved, extent) : moved;
}

/** A range inside an extent: shifted in when it sticks out, cut when it is wider. */
export function clampRange(range, extent) {
  let [lo, hi] = range;
  const [min, max] = extent;
  const width = hi - lo;
  if (width >= max - min) return [min, max];
  if (lo < min) [lo, hi] = [min, min + width];
  if (hi > max) [lo, hi] = [max - width, max];
  return [lo, hi];
}

/** Two ranges equal within a millionth of their width (or both empty). */
export function sameRange(a, b) {
  if (!a?.length || !b?.length) return !a?.length && !b?.length;
  const eps = Math.abs(a[1] - a[0]) * 1e-6 + 1e-12;
  return Math.abs(a[0] - b[0]) <= eps && Math.abs(a[1] - b[1]) <= eps;
}
