// Colour maps for grey frames and images: 256-entry RGB lookup tables, built by linear
// interpolation between 17 evenly spaced anchor colours of each map (the anchors are
// matplotlib's viridis, magma and inferno, which are CC0 data; between anchors the tables
// differ from matplotlib's by at most a few levels).

const ANCHORS = {
  viridis: [[68, 1, 84], [72, 24, 106], [71, 45, 123], [66, 64, 134], [59, 82, 139], [51, 99, 141],
    [44, 114, 142], [38, 130, 142], [33, 145, 140], [31, 160, 136], [40, 174, 128], [63, 188, 115],
    [94, 201, 98], [132, 212, 75], [173, 220, 48], [216, 226, 25], [253, 231, 37]],
  magma: [[0, 0, 4], [10, 8, 34], [29, 17, 71], [54, 16, 107], [81, 18, 124], [106, 28, 129],
    [131, 38, 129], [156, 46, 127], [183, 55, 121], [208, 65, 111], [231, 82, 99], [245, 107, 92],
    [252, 137, 97], [254, 167, 114], [254, 196, 136], [253, 226, 163], [252, 253, 191]],
  inferno: [[0, 0, 4], [11, 7, 36], [33, 12, 74], [61, 9, 101], [87, 16, 110], [113, 25, 110],
    [138, 34, 106], [163, 44, 97], [188, 55, 84], [210, 70, 68], [228, 90, 49], [241, 115, 29],
    [249, 142, 9], [252, 172, 17], [249, 203, 53], [242, 234, 105], [252, 255, 164]],
  gray: [[0, 0, 0], [255, 255, 255]],
};

export const COLORMAPS = Object.keys(ANCHORS);
const tables = new Map();

/** The lookup table of a colour map: a Uint8Array of 256 RGB triples (gray when unknown). */
export function lut(name) {
  const key = ANCHORS[name] ? name : "gray";
  if (!tables.has(key)) {
    const anchors = ANCHORS[key];
    const out = new Uint8Array(256 * 3);
    const steps = anchors.length - 1;
    for (let i = 0; i < 256; i++) {
      const at = (i / 255) * steps;
      const k = Math.min(Math.floor(at), steps - 1);
      const f = at - k;
      for (let c = 0; c < 3; c++) {
        out[i * 3 + c] = Math.round(anchors[k][c] * (1 - f) + anchors[k + 1][c] * f);
      }
    }
    tables.set(key, out);
  }
  return tables.get(key);
}
