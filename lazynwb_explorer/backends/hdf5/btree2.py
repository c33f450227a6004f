"""Version-2 B-trees: the index of dense links and attributes (by name hash or creation
order), of huge fractal-heap objects, and of chunks with more than one unlimited dimension.

`records` returns every record's raw bytes in key order; the record layout belongs to the
caller (it depends on the tree's type). The tree is read one level per step: the header,
then all nodes of each depth at once, so a tree of depth d costs d + 2 rounds whatever its
width. Child pointers carry the child's record count, which sizes the next level exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from .binary import UNDEFINED, Cursor, FileContext, bytes_needed
from .checksum import verify
from .io import FormatError, Parser, fetch_many

PREFIX = 10  # signature, version, type and checksum: the overhead of every node
MAX_NODE_SIZE = 1 << 24
MAX_DEPTH = 32
MAX_RECORDS = 1 << 24

Fetch = Callable[[Sequence[tuple[int, int]]], Parser[list[bytes]]]


@dataclasses.dataclass(frozen=True)
class _Header:
    type: int
    node_size: int
    record_size: int
    depth: int
    root: int
    root_records: int
    total_records: int
    max_records: tuple[int, ...]  # per depth: records a node of that depth can hold
    count_sizes: tuple[int, ...]  # per depth: bytes of the "total records below" field


def records(ctx: FileContext, address: int, fetch: Fetch = fetch_many) -> Parser[tuple[int, list[bytes]]]:
    """(record type, every record's bytes in key order) of the v2 B-tree at `address`.
    `fetch` lets chunk indexes use fetch_index instead of metadata reads."""
    ctx.check_address(address, "v2 B-tree header")
    size = 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + ctx.offset_size + 2 + ctx.length_size + 4
    (data,) = yield from fetch([(address, size)])
    hdr = _parse_header(ctx, data, size - 4)
    if hdr.total_records == 0 or hdr.root == UNDEFINED:
        return hdr.type, []
    # `items` holds records (bytes) and, where a subtree is still unread, the index of its
    # node in `level`; each step replaces the placeholders by the nodes' contents.
    items: list[bytes | int] = [0]
    level = [(ctx.check_address(hdr.root, "v2 B-tree root"), hdr.root_records)]
    seen: set[int] = set()
    for depth in range(hdr.depth, -1, -1):
        for addr, _ in level:
            if addr in seen:
                raise FormatError("v2 B-tree cycle")
            seen.add(addr)
        sizes = [_node_size(ctx, hdr, depth, n) for _, n in level]
        datas = yield from fetch([(addr, s) for (addr, _), s in zip(level, sizes)])
        contents = []
        next_level: list[tuple[int, int]] = []
        for (_, n), data, node_size in zip(level, datas, sizes):
            recs, children = _parse_node(ctx, hdr, depth, n, data, node_size)
            content: list[bytes | int] = []
            for i, rec in enumerate(recs):
                if children:
                    content.append(len(next_level) + i)
                content.append(rec)
            if children:
                content.append(len(next_level) + len(recs))
                next_level.extend(children)
            contents.append(content)
        items = [x for item in items for x in ((item,) if isinstance(item, bytes) else contents[item])]
        level = next_level
        if len(items) - len(level) > hdr.total_records or len(level) > hdr.total_records + 1:
            raise FormatError("v2 B-tree holds more records than its header says")
    if len(items) != hdr.total_records:
        raise FormatError(f"v2 B-tree holds {len(items)} records, its header says {hdr.total_records}")
    return hdr.type, items  # type: ignore[return-value]  # every placeholder was replaced


def _parse_header(ctx: FileContext, data: bytes, end: int) -> _Header:
    verify(data, end, "v2 B-tree header")
    c = Cursor(data, ctx)
    c.signature(b"BTHD")
    if c.u8() != 0:
        raise FormatError("v2 B-tree header version")
    tree_type, node_size, record_size, depth = c.u8(), c.u32(), c.u16(), c.u16()
    c.skip(2)  # split and merge percentages
    root, root_records, total = c.address(), c.u16(), c.length()
    if not PREFIX < node_size <= MAX_NODE_SIZE or record_size == 0 or depth > MAX_DEPTH:
        raise FormatError(f"v2 B-tree of node size {node_size}, record size {record_size}, depth {depth}")
    if total > MAX_RECORDS:
        raise FormatError(f"v2 B-tree of {total} records")
    # Node capacities as libhdf5 derives them: a leaf fills the node with records; an
    # internal node's child pointers hold counts whose width follows from the capacity
    # of the subtree below (cumulative record counts).
    leaf_max = (node_size - PREFIX) // record_size
    if leaf_max == 0:
        raise FormatError("v2 B-tree nodes cannot hold a record")
    count_size = bytes_needed(leaf_max)
    max_records, cumulative, count_sizes = [leaf_max], [leaf_max], [0]
    for d in range(1, depth + 1):
        pointer = ctx.offset_size + count_size + count_sizes[d - 1]
        n = (node_size - (PREFIX + pointer)) // (record_size + pointer)
        if n <= 0:
            raise FormatError("v2 B-tree internal nodes cannot hold a record")
        max_records.append(n)
        cumulative.append((n + 1) * cumulative[d - 1] + n)
        count_sizes.append(bytes_needed(cumulative[d]))
    if root_records > max_records[depth]:
        raise FormatError("v2 B-tree root holds more records than fit")
    return _Header(tree_type, node_size, record_size, depth, root, root_records, total,
                   tuple(max_records), tuple(count_sizes))


def _pointer_size(ctx: FileContext, hdr: _Header, depth: int) -> int:
    """Bytes of one child pointer in an internal node at `depth` (>= 1)."""
    return ctx.offset_size + bytes_needed(hdr.max_records[0]) + hdr.count_sizes[depth - 1]


def _node_size(ctx: FileContext, hdr: _Header, depth: int, n: int) -> int:
    """Bytes a node of `depth` with n records occupies up to its checksum's end."""
    if n > hdr.max_records[depth]:
        raise FormatError(f"v2 B-tree node with {n} records")
    size = 6 + n * hdr.record_size + 4
    if depth > 0:
        size += (n + 1) * _pointer_size(ctx, hdr, depth)
    return size


def _parse_node(
    ctx: FileContext, hdr: _Header, depth: int, n: int, data: bytes, size: int
) -> tuple[list[bytes], list[tuple[int, int]]]:
    """A node's records and, for internal nodes, its children (address, record count)."""
    verify(data, size - 4, "v2 B-tree node")
    c = Cursor(data, ctx)
    c.signature(b"BTIN" if depth > 0 else b"BTLF")
    if c.u8() != 0 or c.u8() != hdr.type:
        raise FormatError("v2 B-tree node version or type")
    recs = [c.bytes(hdr.record_size) for _ in range(n)]
    children = []
    if depth > 0:
        count_size = bytes_needed(hdr.max_records[0])
        for _ in range(n + 1):
            addr, count = c.address(), c.uint(count_size)
            if depth > 1:
                c.uint(hdr.count_sizes[depth - 1])  # records in the whole subtree
            children.append((ctx.check_address(addr, "v2 B-tree child"), count))
    return recs, children
