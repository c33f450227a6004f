"""Zarr v3 fill values of complex arrays: each part of `[real, imag]` is written as a float
fill value is ("NaN", "Infinity", a number, or the float's raw bits as "0x..."; the Zarr v3
spec's data type section). Oracle: numpy reading those bits as the part's float type."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lazynwb_explorer.backends.zarr.dtypes import fill_value

PARTS = {"<c8": ("<f4", ">u4", 32), "<c16": ("<f8", ">u8", 64)}


def _from_bits(bits: int, part: str, raw: str) -> float:
    return float(np.array([bits], dtype=raw).view(np.dtype(part).newbyteorder(">"))[0])


def _same(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(PARTS)), st.data())
def test_complex_parts_as_raw_bits(dtype: str, data: st.DataObject) -> None:
    part, raw, width = PARTS[dtype]
    re_bits, im_bits = (data.draw(st.integers(0, (1 << width) - 1)) for _ in range(2))
    value = fill_value(np.dtype(dtype), [f"0x{re_bits:0{width // 4}x}", f"0x{im_bits:0{width // 4}x}"])
    want = complex(_from_bits(re_bits, part, raw), _from_bits(im_bits, part, raw))
    assert _same(value.real, want.real) and _same(value.imag, want.imag), (value, want)


def test_complex_parts_in_every_spelling() -> None:
    value = fill_value(np.dtype("<c16"), ["NaN", "0x3ff0000000000000"])  # NaN + 1.0j
    assert np.isnan(value.real) and value.imag == 1.0
    assert fill_value(np.dtype("<c8"), [-2.5, "-Infinity"]) == complex(-2.5, -np.inf)
    assert fill_value(np.dtype("<c8"), [1, 2]) == complex(1, 2)
