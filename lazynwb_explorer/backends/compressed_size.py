"""What a compressed buffer declares it decodes to, read from its own header (blosc, lz4 as
numcodecs frames it, zstd). Codecs allocate that size whole, so both backends (the HDF5
engine's filters, the Zarr codecs) check it against what a chunk can hold before decoding."""

from __future__ import annotations


def declared_size(codec: str, data: bytes) -> int | None:
    """The decoded size a compressed buffer's own header declares ('blosc', 'lz4' as
    numcodecs frames it, 'zstd'); None when it declares none. Codecs allocate this size
    whole, so it is checked against what the chunk can hold first."""
    if codec == "blosc" and len(data) >= 8:
        return int.from_bytes(data[4:8], "little")
    if codec == "lz4" and len(data) >= 4:
        return int.from_bytes(data[0:4], "little")
    if codec != "zstd" or len(data) < 6 or data[:4] != b"\x28\xb5\x2f\xfd":
        return None
    descriptor = data[4]
    single_segment = descriptor >> 5 & 1
    start = 5 + (1 - single_segment) + (0, 1, 2, 4)[descriptor & 3]
    width = (single_segment, 2, 4, 8)[descriptor >> 6]
    if not width:
        return None
    return int.from_bytes(data[start : start + width], "little") + (256 if width == 2 else 0)
