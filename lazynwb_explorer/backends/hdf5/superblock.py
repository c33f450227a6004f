"""The superblock: field sizes, base address and where the root group's header is."""

from __future__ import annotations

import dataclasses

from .binary import Cursor, FileContext
from .io import FormatError, Parser, Unsupported, fetch

SIGNATURE = b"\x89HDF\r\n\x1a\n"
_SEARCH_LIMIT = 1 << 20  # the signature sits at 0, 512, 1024, 2048 ... (after a user block)


@dataclasses.dataclass(frozen=True)
class Superblock:
    version: int
    ctx: FileContext
    root_address: int  # the root group's object header


def read_superblock(eof: int, first: bytes = b"") -> Parser[Superblock]:
    """Find and parse the superblock. `first` (bytes at offset 0, if already at hand)
    usually holds it."""
    position = 0
    while True:
        if position + 64 <= len(first):
            head = first[position : position + 128]
        else:
            head = yield from fetch(position, 128)
        if head[:8] == SIGNATURE:
            break
        position = 512 if position == 0 else position * 2
        if position > min(eof, _SEARCH_LIMIT):
            raise FormatError("no HDF5 signature (not an HDF5 file)")
    version = head[8] if len(head) > 8 else -1
    if version in (0, 1):
        return _parse_v0_v1(head, version, eof)
    if version in (2, 3):
        return _parse_v2_v3(head, version, eof)
    raise Unsupported(f"superblock version {version}")


def _sizes(offset_size: int, length_size: int) -> None:
    if offset_size not in (2, 4, 8) or length_size not in (2, 4, 8):
        raise FormatError(f"field sizes {offset_size}/{length_size}")


def _parse_v0_v1(head: bytes, version: int, eof: int) -> Superblock:
    c = Cursor(head, FileContext(), 9)
    c.skip(3)  # free-space, root symbol table and reserved versions
    c.u8()  # shared header message format version
    offset_size, length_size = c.u8(), c.u8()
    _sizes(offset_size, length_size)
    c.skip(1)
    c.u16(), c.u16()  # group leaf / internal node K
    c.u32()  # file consistency flags
    if version == 1:
        c.skip(4)  # indexed storage internal node K + reserved
    raw = FileContext(offset_size, length_size, 0, eof)
    c.ctx = raw
    base = c.address()
    ctx = FileContext(offset_size, length_size, max(base, 0), eof)
    c.ctx = ctx
    c.address()  # free-space info
    c.address()  # end of file address
    c.address()  # driver information block
    c.address()  # root: link name offset
    root = c.address()
    return Superblock(version, ctx, ctx.check_address(root, "root group"))


def _parse_v2_v3(head: bytes, version: int, eof: int) -> Superblock:
    c = Cursor(head, FileContext(), 9)
    offset_size, length_size = c.u8(), c.u8()
    _sizes(offset_size, length_size)
    c.u8()  # consistency flags
    c.ctx = FileContext(offset_size, length_size, 0, eof)
    base = c.address()
    ctx = FileContext(offset_size, length_size, max(base, 0), eof)
    c.ctx = ctx
    c.address()  # superblock extension
    c.address()  # end of file address
    root = c.address()
    return Superblock(version, ctx, ctx.check_address(root, "root group"))
