"""Object header messages an NWB reader needs, decoded to plain records."""

from __future__ import annotations

import dataclasses

from .binary import UNDEFINED, Cursor, FileContext
from .datatypes import H5Type, parse_dataspace, parse_datatype_message
from .io import FormatError, Unsupported

DATASPACE, LINK_INFO, DATATYPE, FILL_OLD, FILL = 0x01, 0x02, 0x03, 0x04, 0x05
LINK, LAYOUT, FILTERS, ATTRIBUTE, SYMBOL_TABLE, ATTRIBUTE_INFO = 0x06, 0x08, 0x0B, 0x0C, 0x11, 0x15
EXTERNAL_FILES = 0x07  # the dataset's raw data is stored in other files
SHARED_FLAG = 0x02


@dataclasses.dataclass(frozen=True)
class Link:
    name: str
    kind: str  # "hard" | "soft" | "external"
    address: int = UNDEFINED  # hard
    target: str = ""  # soft: the path; external: "file:path"


@dataclasses.dataclass(frozen=True)
class RawAttribute:
    name: str
    type: H5Type | None  # None: shared (committed) datatype at `shared_type`
    shape: tuple[int, ...] | None  # None: null dataspace
    data: bytes
    shared_type: int = UNDEFINED


@dataclasses.dataclass(frozen=True)
class Filter:
    id: int
    name: str
    flags: int
    values: tuple[int, ...]


def shared_address(data: bytes, ctx: FileContext) -> int:
    """The object header holding a shared (committed) message."""
    c = Cursor(data, ctx)
    version = c.u8()
    kind = c.u8()
    if version == 1:
        c.skip(6)
    elif version == 3 and kind == 1:
        raise Unsupported("messages shared through the shared-message heap")
    elif version not in (2, 3):
        raise FormatError(f"shared message version {version}")
    return ctx.check_address(c.address(), "shared message")


def parse_link(data: bytes, ctx: FileContext) -> Link:
    c = Cursor(data, ctx)
    if c.u8() != 1:
        raise FormatError("link message version")
    flags = c.u8()
    kind = c.u8() if flags & 0x08 else 0
    if flags & 0x04:
        c.skip(8)
    if flags & 0x10:
        c.skip(1)
    name = c.bytes(c.uint(1 << (flags & 3))).decode("utf-8", "replace")
    if kind == 0:
        return Link(name, "hard", address=c.address())
    if kind == 1:
        return Link(name, "soft", target=c.bytes(c.u16()).decode("utf-8", "replace"))
    if kind == 64:
        raw = Cursor(c.bytes(c.u16()), ctx)
        raw.skip(1)
        target = f"{raw.cstring().decode('utf-8', 'replace')}:{raw.cstring().decode('utf-8', 'replace')}"
        return Link(name, "external", target=target)
    return Link(name, "external", target=f"user-defined link type {kind}")


def parse_link_info(data: bytes, ctx: FileContext) -> tuple[int, int]:
    """(fractal heap address, name index v2 B-tree address) of a group's dense links."""
    c = Cursor(data, ctx)
    c.u8()
    flags = c.u8()
    if flags & 1:
        c.skip(8)
    return c.address(), c.address()


def parse_attribute_info(data: bytes, ctx: FileContext) -> tuple[int, int]:
    """(fractal heap address, name index v2 B-tree address) of an object's dense attributes."""
    c = Cursor(data, ctx)
    c.u8()
    flags = c.u8()
    if flags & 1:
        c.skip(2)
    return c.address(), c.address()


def parse_symbol_table(data: bytes, ctx: FileContext) -> tuple[int, int]:
    """(v1 B-tree address, local heap address) of an old-style group."""
    c = Cursor(data, ctx)
    return c.address(), c.address()


def parse_attribute(data: bytes, ctx: FileContext) -> RawAttribute:
    c = Cursor(data, ctx)
    version = c.u8()
    if version not in (1, 2, 3):
        raise FormatError(f"attribute message version {version}")
    flags = c.u8()
    name_size, type_size, space_size = c.u16(), c.u16(), c.u16()
    if version == 3:
        c.skip(1)
    pad = 8 if version == 1 else 1
    name = c.bytes(name_size).split(b"\0", 1)[0].decode("utf-8", "replace")
    c.align(pad)
    type_bytes = c.bytes(type_size)
    c.align(pad)
    space_bytes = c.bytes(space_size)
    c.align(pad)
    if flags & 0x02:
        raise Unsupported("shared dataspace in an attribute")
    shape, _ = parse_dataspace(space_bytes, ctx)
    if flags & 0x01:
        return RawAttribute(name, None, shape, data[c.pos :], shared_address(type_bytes, ctx))
    h5type = parse_datatype_message(type_bytes, ctx)
    return RawAttribute(name, h5type, shape, data[c.pos :])


def parse_filters(data: bytes, ctx: FileContext) -> tuple[Filter, ...]:
    c = Cursor(data, ctx)
    version = c.u8()
    n = c.u8()
    if version == 1:
        c.skip(6)
    elif version != 2:
        raise FormatError(f"filter pipeline version {version}")
    out = []
    for _ in range(n):
        fid = c.u16()
        name_length = c.u16() if (version == 1 or fid >= 256) else 0
        flags, nvalues = c.u16(), c.u16()
        name = b""
        if name_length:
            name = c.bytes(name_length).split(b"\0", 1)[0]  # v1: length includes padding
        values = tuple(c.u32() for _ in range(nvalues))
        if version == 1 and nvalues % 2:
            c.skip(4)
        out.append(Filter(fid, name.decode("ascii", "replace"), flags, values))
    return tuple(out)
