"""The checksum of HDF5's version-2 metadata: Bob Jenkins' lookup3 `hashlittle`, seed 0.

Every structure with a signature newer than the v1 formats (B-tree v2 nodes, fractal heap
and chunk-index blocks) ends in it, so verifying it turns most corruption into a clean
FormatError instead of a plausible wrong answer.
"""

from __future__ import annotations

import struct

from .io import FormatError

_M = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M


def lookup3(data: bytes, seed: int = 0) -> int:
    """hashlittle(data, len(data), seed) as libhdf5's H5_checksum_lookup3 computes it."""
    n = len(data)
    a = b = c = (0xDEADBEEF + n + seed) & _M
    if n == 0:
        return c
    # The tail block adds only the bytes present: zero padding adds nothing.
    padded = data + b"\0" * (-n % 12)
    words = struct.unpack(f"<{len(padded) // 4}I", padded)
    last = 3 * ((n - 1) // 12)  # words of the full blocks mixed before the tail
    blocks = iter(words[:last])
    for x, y, z in zip(blocks, blocks, blocks):  # 12 bytes at a time
        a = (a + x) & 0xFFFFFFFF
        b = (b + y) & 0xFFFFFFFF
        c = (c + z) & 0xFFFFFFFF
        a = ((a - c) & 0xFFFFFFFF) ^ (((c << 4) | (c >> 28)) & 0xFFFFFFFF)
        c = (c + b) & 0xFFFFFFFF
        b = ((b - a) & 0xFFFFFFFF) ^ (((a << 6) | (a >> 26)) & 0xFFFFFFFF)
        a = (a + c) & 0xFFFFFFFF
        c = ((c - b) & 0xFFFFFFFF) ^ (((b << 8) | (b >> 24)) & 0xFFFFFFFF)
        b = (b + a) & 0xFFFFFFFF
        a = ((a - c) & 0xFFFFFFFF) ^ (((c << 16) | (c >> 16)) & 0xFFFFFFFF)
        c = (c + b) & 0xFFFFFFFF
        b = ((b - a) & 0xFFFFFFFF) ^ (((a << 19) | (a >> 13)) & 0xFFFFFFFF)
        a = (a + c) & 0xFFFFFFFF
        c = ((c - b) & 0xFFFFFFFF) ^ (((b << 4) | (b >> 28)) & 0xFFFFFFFF)
        b = (b + a) & 0xFFFFFFFF
    a = (a + words[last]) & _M
    b = (b + words[last + 1]) & _M
    c = (c + words[last + 2]) & _M
    c = ((c ^ b) - _rot(b, 14)) & _M
    a = ((a ^ c) - _rot(c, 11)) & _M
    b = ((b ^ a) - _rot(a, 25)) & _M
    c = ((c ^ b) - _rot(b, 16)) & _M
    a = ((a ^ c) - _rot(c, 4)) & _M
    b = ((b ^ a) - _rot(a, 14)) & _M
    c = ((c ^ b) - _rot(b, 24)) & _M
    return c


def verify(data: bytes, end: int, what: str, start: int = 0) -> None:
    """Check that the 4 bytes at `end` are the checksum of data[start:end]."""
    if start < 0 or len(data) < end + 4:
        raise FormatError(f"{what} truncated")
    stored = int.from_bytes(data[end : end + 4], "little")
    if lookup3(data[start:end]) != stored:
        raise FormatError(f"{what} checksum mismatch")


def verify_inside(data: bytes, field: int, what: str) -> None:
    """Check the checksum stored at `field` inside `data`: it covers all of `data`, its
    own 4 bytes counted as zeros (fractal heap direct blocks)."""
    if field < 0 or len(data) < field + 4:
        raise FormatError(f"{what} truncated")
    stored = int.from_bytes(data[field : field + 4], "little")
    if lookup3(data[:field] + bytes(4) + data[field + 4 :]) != stored:
        raise FormatError(f"{what} checksum mismatch")
