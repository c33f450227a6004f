// Small pictures of a long list of numbers, for the grid's cell view (unit-tested): a
// histogram when the values are sorted (spike times: how they spread over time), else a
// sparkline of the values in order (a waveform), reduced to min / max per pixel column.

/** `bins` counts of the values between their min and max (NaN left out). */
export function histogram(values, bins) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const counts = new Array(bins).fill(0);
  if (lo === Infinity) return { counts, lo: NaN, hi: NaN };
  const width = hi > lo ? (hi - lo) / bins : 1;
  for (const v of values) {
    if (Number.isFinite(v)) counts[Math.min(bins - 1, Math.floor((v - lo) / width))] += 1;
  }
  return { counts, lo, hi };
}

/** Per pixel column (of `width`), the [min, max] of the values falling in it by position;
 * null for a column without a finite value. */
export function columns(values, width) {
  const n = values.length;
  const out = [];
  for (let c = 0; c < width; c++) {
    const a = Math.floor((c * n) / width);
    const b = Math.max(a + 1, Math.floor(((c + 1) * n) / width));
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = a; i < Math.min(b, n); i++) {
      const v = values[i];
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    out.push(lo === Infinity ? null : [lo, hi]);
  }
  return out;
}

/** Draw the picture of `values` on a canvas context of `width` x `height` css px. */
export function draw(ctx, values, sorted, width, height, color) {
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = color;
  ctx.strokeStyle = color;
  if (sorted) {
    const bins = Math.max(1, Math.min(120, Math.floor(width / 3)));
    const { counts } = histogram(values, bins);
    const top = Math.max(1, ...counts);
    const w = width / bins;
    counts.forEach((count, i) => {
      const bar = (count / top) * (height - 2);
      ctx.fillRect(i * w, height - bar, Math.max(1, w - 1), bar);
    });
    return "histogram";
  }
  const cols = columns(values, Math.max(1, Math.floor(width)));
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of cols) if (c) [lo, hi] = [Math.min(lo, c[0]), Math.max(hi, c[1])];
  const y = (v) => (hi > lo ? height - 1 - ((v - lo) / (hi - lo)) * (height - 2) : height / 2);
  cols.forEach((c, x) => {
    if (c) ctx.fillRect(x, y(c[1]), 1, Math.max(1, y(c[0]) - y(c[1])));
  });
  return "sparkline";
}
