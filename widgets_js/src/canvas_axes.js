// Axes for the views drawn on a plain canvas (the probe, the trajectory): the canvas sized to
// its box, the plot area inside margins, nice tick values (unit-tested), an equal-aspect fit
// of a data box into pixels, and drawing the ticks.

/** Size `canvas` to its `box` at the screen's pixel density and clear it; returns the 2-D
 * context (drawing in CSS pixels) and the box's width and height. */
export function clearToBox(canvas, box) {
  const pxr = devicePixelRatio || 1;
  const width = box.clientWidth;
  const height = box.clientHeight;
  canvas.width = Math.max(1, Math.round(width * pxr));
  canvas.height = Math.max(1, Math.round(height * pxr));
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(pxr, 0, 0, pxr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

/** The plot area of a `width` x `height` canvas inside `margin` ({left, right, top, bottom}),
 * at least 10 px each way. */
export function insideMargin(width, height, margin) {
  return { left: margin.left, top: margin.top, width: Math.max(10, width - margin.left - margin.right),
    height: Math.max(10, height - margin.top - margin.bottom) };
}

/** About `count` round values covering [min, max] (1, 2, 5 x a power of ten apart). */
export function niceTicks(min, max, count = 5) {
  if (!(Number.isFinite(min) && Number.isFinite(max))) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const ticks = (s) => Math.floor(max / s + 1e-9) - Math.ceil(min / s - 1e-9) + 1;
  const step = [1, 2, 5, 10].map((m) => m * power)
    .reduce((best, s) => (Math.abs(ticks(s) - count) < Math.abs(ticks(best) - count) ? s : best));
  const first = Math.ceil(min / step - 1e-9) * step;
  const out = [];
  for (let v = first; v <= max + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

/** Map a data box into a pixel box with one scale on both axes (y up), centred; returns
 * {toX, toY, fromX, fromY, scale}. */
export function fitEqual(box, pixels) {
  const dx = Math.max(box.x1 - box.x0, 1e-12);
  const dy = Math.max(box.y1 - box.y0, 1e-12);
  const scale = Math.min(pixels.width / dx, pixels.height / dy);
  const left = pixels.left + (pixels.width - dx * scale) / 2;
  const bottom = pixels.top + pixels.height - (pixels.height - dy * scale) / 2;
  return {
    scale,
    toX: (x) => left + (x - box.x0) * scale,
    toY: (y) => bottom - (y - box.y0) * scale,
    fromX: (px) => box.x0 + (px - left) / scale,
    fromY: (py) => box.y0 + (bottom - py) / scale,
  };
}

/** Draw tick labels along the left (y) or bottom (x) of a plot rectangle. */
export function drawTicks(ctx, { values, at, side, rect, color, font, format = (v) => String(v) }) {
  ctx.save();
  ctx.fillStyle = color;
  ctx.strokeStyle = color;
  ctx.font = font;
  ctx.textBaseline = side === "left" ? "middle" : "top";
  ctx.textAlign = side === "left" ? "right" : "center";
  for (const v of values) {
    const p = at(v);
    if (side === "left") {
      if (p < rect.top - 1 || p > rect.top + rect.height + 1) continue;
      ctx.fillText(format(v), rect.left - 6, p);
      ctx.fillRect(rect.left - 4, Math.round(p), 4, 1);
    } else {
      if (p < rect.left - 1 || p > rect.left + rect.width + 1) continue;
      ctx.fillText(format(v), p, rect.top + rect.height + 6);
      ctx.fillRect(Math.round(p), rect.top + rect.height, 1, 4);
    }
  }
  ctx.restore();
}
