"""Old-style groups: a v1 B-tree of symbol table nodes whose names live in a local heap."""

from __future__ import annotations

import struct

from .binary import UNDEFINED, Cursor, FileContext
from .btree1 import group_nodes
from .io import FormatError, Parser, fetch, fetch_many, gather
from .messages import Link

MAX_HEAP = 1 << 26


def _local_heap(ctx: FileContext, address: int) -> Parser[bytes]:
    head = yield from fetch(ctx.check_address(address, "local heap"), 64)
    c = Cursor(head, ctx)
    c.signature(b"HEAP")
    c.skip(4)
    size = c.length()
    c.length()  # free list
    data_address = ctx.check_address(c.address(), "local heap data")
    if size > MAX_HEAP:
        raise FormatError(f"local heap of {size} bytes")
    data = yield from fetch(data_address, size)
    if len(data) < size:
        raise FormatError("local heap truncated")
    return data


def _name(heap: bytes, offset: int) -> str:
    if not 0 <= offset < len(heap):
        raise FormatError("link name outside the local heap")
    end = heap.find(b"\0", offset)
    return heap[offset : end if end >= 0 else len(heap)].decode("utf-8", "replace")


def symbol_table_links(ctx: FileContext, btree: int, heap: int) -> Parser[list[Link]]:
    """The links of an old-style group, in name order."""
    heap_data, snods = yield from gather([_local_heap(ctx, heap), group_nodes(ctx, btree)])
    entry_size = 2 * ctx.offset_size + 24
    datas = yield from fetch_many([(a, 8 + 64 * entry_size) for a in snods])
    entry = _ENTRIES.get(ctx.offset_size)
    if entry is None:
        raise FormatError(f"addresses of {ctx.offset_size} bytes")
    undefined = (1 << (8 * ctx.offset_size)) - 1
    links = []
    for data in datas:
        c = Cursor(data, ctx)
        c.signature(b"SNOD")
        c.skip(2)
        n = c.u16()
        if c.pos + n * entry.size > len(data):
            raise FormatError(f"symbol table node of {n} entries truncated")
        for name_offset, address, cache_type, scratch in entry.iter_unpack(data[c.pos : c.pos + n * entry.size]):
            name = _name(heap_data, name_offset)
            if cache_type == 2:
                links.append(Link(name, "soft", target=_name(heap_data, int.from_bytes(scratch[:4], "little"))))
            else:
                address = UNDEFINED if address == undefined else address + ctx.base
                links.append(Link(name, "hard", address=address))
    return links


# a symbol table entry: link name offset, object header address, cache type, reserved,
# scratch pad (a soft link's value offset in its first 4 bytes); one struct per entry
_ENTRIES = {n: struct.Struct(f"<{code}{code}I4x16s") for n, code in ((2, "H"), (4, "I"), (8, "Q"))}
