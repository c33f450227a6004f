"""Little-endian field reading with the sizes a file's superblock declares, bounds-checked.

Every read is checked against the bytes at hand, so a truncated or hostile structure raises
FormatError rather than IndexError, struct.error or a huge allocation.
"""

from __future__ import annotations

import builtins
import dataclasses
import struct

from .io import FormatError

UNDEFINED = -1  # HDF5's "undefined address" (all bits set), normalised


@dataclasses.dataclass(frozen=True)
class FileContext:
    """What every structure needs to parse: field sizes and where the file ends."""

    offset_size: int = 8
    length_size: int = 8
    base: int = 0  # base address: addresses in the file are relative to it
    eof: int = 1 << 62  # bytes in the file (addresses beyond are corrupt)
    # parsed global heap collections by address (one file's are read-only: parse once)
    heaps: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def check_address(self, address: int, what: str) -> int:
        if address == UNDEFINED or address < 0 or address >= self.eof:
            raise FormatError(f"{what} address {address} is outside the file ({self.eof} bytes)")
        return address


_UNPACK = {n: struct.Struct(code).unpack_from for n, code in ((2, "<H"), (4, "<I"), (8, "<Q"))}


class Cursor:
    """Reads fields from `data`, starting at `pos`."""

    __slots__ = ("ctx", "data", "pos")

    def __init__(self, data: bytes, ctx: FileContext, pos: int = 0):
        self.data = data
        self.ctx = ctx
        self.pos = pos

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def bytes(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FormatError(f"structure truncated: wanted {n} bytes at {self.pos} of {len(self.data)}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise FormatError(f"structure truncated: wanted {n} bytes at {self.pos} of {len(self.data)}")
        self.pos += n

    def uint(self, n: int) -> int:
        pos = self.pos
        end = pos + n
        if n < 0 or end > len(self.data):
            raise FormatError(f"structure truncated: wanted {n} bytes at {pos} of {len(self.data)}")
        self.pos = end
        unpack = _UNPACK.get(n)  # no slice copied for the usual widths (a walk reads ~100k)
        if unpack is not None:
            return unpack(self.data, pos)[0]
        return int.from_bytes(self.data[pos:end], "little")

    def u8(self) -> int:
        pos = self.pos
        if pos >= len(self.data):
            raise FormatError(f"structure truncated at {pos}")
        self.pos = pos + 1
        return self.data[pos]

    def u16(self) -> int:
        return self.uint(2)

    def u32(self) -> int:
        return self.uint(4)

    def u64(self) -> int:
        return self.uint(8)

    def address(self) -> int:
        """A file address (UNDEFINED when all bits are set), base-adjusted."""
        n = self.ctx.offset_size
        raw = self.uint(n)
        if raw == (1 << (8 * n)) - 1:
            return UNDEFINED
        return raw + self.ctx.base

    def length(self) -> int:
        return self.uint(self.ctx.length_size)

    def cstring(self, limit: int = 1 << 16) -> builtins.bytes:
        """A NUL-terminated string (without the NUL)."""
        end = self.data.find(b"\0", self.pos, self.pos + limit)
        if end < 0:
            raise FormatError("unterminated string")
        out = self.data[self.pos : end]
        self.pos = end + 1
        return out

    def align(self, n: int, origin: int = 0) -> None:
        """Skip to the next multiple of n (counted from `origin`)."""
        rem = (self.pos - origin) % n
        if rem:
            self.skip(n - rem)

    def signature(self, expected: builtins.bytes) -> None:
        got = self.bytes(len(expected))
        if got != expected:
            raise FormatError(f"expected signature {expected!r}, found {got!r}")


def bytes_needed(n: int) -> int:
    """Bytes needed to store the unsigned integer n (at least 1)."""
    return max(1, (int(n).bit_length() + 7) // 8)
