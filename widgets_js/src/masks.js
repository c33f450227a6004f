// ROI masks as pixels (unit-tested): a label image (which ROI each pixel shows, for hover and
// clicks), and the overlay drawn over the plane's image - filled (each ROI in its colour,
// opacity following its weights) or outlines (pixels whose neighbour belongs elsewhere).
// ROIs the table's filter drops are drawn faint; the picked ROI is drawn strong, outlined white.
//
// Pixels come as parallel arrays: rows (ROI row), xs, ys (frame axes: x down, y across, as
// frame_draw.js draws frames), weights.

const PALETTE = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [188, 189, 34], [23, 190, 207], [255, 187, 120],
];

/** The colour of a ROI (by row), from a ten-colour palette. */
export function roiColour(row) {
  return PALETTE[((row % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/** Int32Array of nx*ny: the row of the ROI each pixel shows (-1: none). Where ROIs overlap,
 * the one with the larger weight there wins. */
export function labelImage(pixels, shape) {
  const [nx, ny] = shape;
  const labels = new Int32Array(nx * ny).fill(-1);
  const best = new Float32Array(nx * ny);
  const { rows, xs, ys, weights } = pixels;
  for (let i = 0; i < rows.length; i++) {
    const x = xs[i];
    const y = ys[i];
    if (x >= nx || y >= ny) continue;
    const p = x * ny + y;
    const w = Math.abs(weights[i]);
    if (labels[p] < 0 || w > best[p]) {
      labels[p] = rows[i];
      best[p] = w;
    }
  }
  return labels;
}

/** The largest |weight| of each ROI (by row), to scale its opacity. */
export function peakWeights(pixels, nRows) {
  const peaks = new Float32Array(Math.max(nRows, 0));
  const { rows, weights } = pixels;
  for (let i = 0; i < rows.length; i++) {
    const w = Math.abs(weights[i]);
    if (rows[i] < peaks.length && w > peaks[rows[i]]) peaks[rows[i]] = w;
  }
  return peaks;
}

/** Whether the pixel at p (row-major in an nx*ny label image) is on its ROI's edge. */
export function onEdge(labels, p, nx, ny) {
  const label = labels[p];
  const x = Math.floor(p / ny);
  const y = p - x * ny;
  return (x === 0 || labels[p - ny] !== label) || (x === nx - 1 || labels[p + ny] !== label)
    || (y === 0 || labels[p - 1] !== label) || (y === ny - 1 || labels[p + 1] !== label);
}

/** RGBA overlay (out: width*height*4) of the masks. `selected` is a Set of rows (null: all),
 * `picked` a row or -1, `style` "filled" | "outline". */
export function overlay(pixels, labels, shape, { style, selected, picked, peaks, transpose }, out) {
  const [nx, ny] = shape;
  const width = transpose ? nx : ny;
  out.fill(0);
  const weightAt = new Float32Array(nx * ny);
  const { rows, xs, ys, weights } = pixels;
  for (let i = 0; i < rows.length; i++) {
    if (xs[i] < nx && ys[i] < ny && labels[xs[i] * ny + ys[i]] === rows[i]) weightAt[xs[i] * ny + ys[i]] = Math.abs(weights[i]);
  }
  for (let p = 0; p < labels.length; p++) {
    const row = labels[p];
    if (row < 0) continue;
    const kept = !selected || selected.has(row);
    const isPicked = row === picked;
    const edge = onEdge(labels, p, nx, ny);
    let alpha;
    if (style === "outline") alpha = edge ? (isPicked ? 255 : kept ? 230 : 70) : (isPicked ? 60 : 0);
    else {
      const share = peaks && peaks[row] > 0 ? weightAt[p] / peaks[row] : 1;
      alpha = Math.round((kept ? 90 + 110 * share : 35) * (isPicked ? 1.25 : 1));
      if (isPicked && edge) alpha = 255;
    }
    if (!alpha) continue;
    const colour = isPicked && edge ? [255, 255, 255] : kept ? roiColour(row) : [160, 160, 160];
    const x = Math.floor(p / ny);
    const y = p - x * ny;
    const q = (transpose ? y * width + x : x * width + y) * 4;
    out[q] = colour[0];
    out[q + 1] = colour[1];
    out[q + 2] = colour[2];
    out[q + 3] = Math.min(255, alpha);
  }
  return out;
}
