// Frames and images as pixels: the kernel's codes (uint8 / uint16, see
// lazynwb_explorer/widgets/frame_codec.py) -> contrast limits from percentiles -> a colour map
// -> RGBA for a canvas. Pure functions, unit-tested.
//
// Axes: a frame is (x, y) (NWB's names); it is drawn as numpy shows an array, x down and y
// across, so canvas pixel (column c, row r) is frame pixel (x = r, y = c); `transpose` swaps.

/** The codes of a frame as a typed array (copied when the buffer is not aligned). */
export function codesOf(bytes, encoding) {
  if (encoding.dtype === "uint16") {
    const n = Math.floor(bytes.byteLength / 2);
    if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    return new Uint16Array(bytes.slice(0, n * 2).buffer);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The stored value of a code. */
export function valueOf(code, encoding) {
  return code * encoding.scale + encoding.offset;
}

/** [low, high] codes at the given percentiles (0-100) of the codes, from a histogram (one
 * pass; exact for integer codes). For colour frames every channel counts. */
export function percentileCodes(codes, lowPct, highPct) {
  const size = codes instanceof Uint16Array ? 65536 : 256;
  const counts = new Uint32Array(size);
  for (let i = 0; i < codes.length; i++) counts[codes[i]]++;
  const n = codes.length;
  if (!n) return [0, 0];
  const at = (pct) => Math.min(n - 1, Math.max(0, Math.floor((Math.min(Math.max(pct, 0), 100) / 100) * (n - 1))));
  const targets = [at(lowPct), at(highPct)];
  const out = [0, size - 1];
  let seen = 0;
  let t = 0;
  for (let code = 0; code < size && t < 2; code++) {
    seen += counts[code];
    while (t < 2 && seen > targets[t]) out[t++] = code;
  }
  return out;
}

/** The canvas size of a frame of shape [x, y]: [width, height]. */
export function canvasSize(shape, transpose) {
  return transpose ? [shape[0], shape[1]] : [shape[1], shape[0]];
}

/** The frame pixel [x, y] under canvas pixel (column, row). */
export function framePixel(column, row, transpose) {
  return transpose ? [column, row] : [row, column];
}

/** Grey codes -> RGBA (out: Uint8ClampedArray of width*height*4) through `table` (256 RGB)
 * with codes <= low black-end and >= high white-end of the map. */
export function greyToRGBA(codes, shape, limits, table, transpose, out) {
  const [nx, ny] = shape;
  const [lo, hi] = limits;
  const span = hi > lo ? hi - lo : 1;
  const level = new Uint8Array(codes instanceof Uint16Array ? 65536 : 256);
  for (let c = 0; c < level.length; c++) {
    level[c] = c <= lo ? 0 : c >= hi ? 255 : Math.round(((c - lo) / span) * 255);
  }
  const width = transpose ? nx : ny;
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      const v = level[codes[x * ny + y]] * 3;
      const p = (transpose ? y * width + x : x * width + y) * 4;
      out[p] = table[v];
      out[p + 1] = table[v + 1];
      out[p + 2] = table[v + 2];
      out[p + 3] = 255;
    }
  }
  return out;
}

/** Colour codes (x, y, channels) -> RGBA; RGB is opaque, RGBA keeps its alpha. */
export function colourToRGBA(codes, shape, channels, transpose, out) {
  const [nx, ny] = shape;
  const width = transpose ? nx : ny;
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      const s = (x * ny + y) * channels;
      const p = (transpose ? y * width + x : x * width + y) * 4;
      out[p] = codes[s];
      out[p + 1] = codes[s + 1];
      out[p + 2] = codes[s + 2];
      out[p + 3] = channels === 4 ? codes[s + 3] : 255;
    }
  }
  return out;
}

/** A number for a status line: compact, never long. */
export function shortNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs < 1e7) return String(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : String(+value.toPrecision(5));
}
