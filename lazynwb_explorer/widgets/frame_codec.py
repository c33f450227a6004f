"""Frames and images as the browser draws them: uint8 / uint16 codes plus the linear map back
to stored values, sent as binary buffers (never JSON).

Why codes: a canvas draws bytes, and typed arrays of 8 or 16 bits are what a browser reads
without parsing. uint8 and uint16 frames travel as they are; int8 / int16 are shifted by
their type's minimum (exact); bool becomes 0 / 1; any other type (floats, wider integers)
is scaled per frame onto 0..65535 between its finite minimum and maximum (exact for
integers spanning at most 65,536 values). `value = code * scale + offset` gives the stored
value back for hover and contrast limits; NaN and infinities become code 0 and are counted.
Colour (RGB / RGBA) is uint8 per channel, other types scaled per image onto 0..255 (floats
within [0, 1] taken as fractions of full brightness).
"""

from __future__ import annotations

from typing import Any

import numpy as np

U16 = 65_535


def encode(values: np.ndarray, channels: int = 0) -> tuple[dict[str, Any], bytes]:
    """(encoding {dtype, scale, offset, shape, channels, nonfinite}, the codes' bytes)."""
    values = np.asarray(values)
    shape = [int(s) for s in values.shape[:2]]
    if channels:
        codes, scale, offset, bad = _colour(values)
        return {"dtype": "uint8", "scale": scale, "offset": offset, "shape": shape,
                "channels": int(channels), "nonfinite": bad}, np.ascontiguousarray(codes).tobytes()
    codes, scale, offset, bad = _grey(values)
    dtype = "uint8" if codes.dtype == np.uint8 else "uint16"
    return {"dtype": dtype, "scale": scale, "offset": offset, "shape": shape, "channels": 0,
            "nonfinite": bad}, np.ascontiguousarray(codes, codes.dtype.newbyteorder("<")).tobytes()


def _grey(values: np.ndarray) -> tuple[np.ndarray, float, float, int]:
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind == "b":
        return values.astype(np.uint8), 1.0, 0.0, 0
    if kind == "u" and size <= 2:
        return values, 1.0, 0.0, 0
    if kind == "i" and size <= 2:
        low = int(np.iinfo(values.dtype).min)
        unsigned = np.uint8 if size == 1 else np.uint16
        return (values.astype(np.int32) - low).astype(unsigned), 1.0, float(low), 0
    as_float = values.astype(np.float64)
    finite = np.isfinite(as_float)
    bad = int(values.size - np.count_nonzero(finite))
    if not finite.any():
        return np.zeros(values.shape, np.uint16), 1.0, 0.0, bad
    lo, hi = float(as_float[finite].min()), float(as_float[finite].max())
    if kind in "iu" and hi - lo <= U16:
        scale = 1.0
    else:
        scale = (hi - lo) / U16 if hi > lo else 1.0
    codes = np.where(finite, np.rint((np.where(finite, as_float, lo) - lo) / scale), 0)
    return codes.astype(np.uint16), scale, lo, bad


def _colour(values: np.ndarray) -> tuple[np.ndarray, float, float, int]:
    if values.dtype == np.uint8:
        return values, 1.0, 0.0, 0
    as_float = values.astype(np.float64)
    finite = np.isfinite(as_float)
    bad = int(values.size - np.count_nonzero(finite))
    clean = np.where(finite, as_float, 0.0)
    lo, hi = (float(clean.min()), float(clean.max())) if clean.size else (0.0, 0.0)
    if values.dtype.kind == "f" and lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0
    scale = (hi - lo) / 255 if hi > lo else 1.0
    codes = np.clip(np.rint((clean - lo) / scale), 0, 255).astype(np.uint8)
    return codes, scale, lo, bad


def decode(encoding: dict[str, Any], data: bytes) -> np.ndarray:
    """The stored values back from an encoding and its bytes (for tests and `.frame()`'s
    checks): exact for the exact cases above, within `scale / 2` otherwise."""
    dtype = np.dtype("<u2") if encoding["dtype"] == "uint16" else np.dtype("u1")
    shape = list(encoding["shape"]) + ([encoding["channels"]] if encoding["channels"] else [])
    codes = np.frombuffer(data, dtype=dtype).reshape(shape)
    return codes.astype(np.float64) * encoding["scale"] + encoding["offset"]
