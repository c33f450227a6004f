"""Fractal heaps: where dense links and attributes keep their messages.

A heap ID names one object: tiny objects live inside the ID, managed objects at an offset
of the heap's doubling table (a root direct block, or a root indirect block whose rows of
direct and nested indirect blocks double in size), huge objects in their own extent found
through the ID or a v2 B-tree. `read_objects` resolves many IDs together, one step per
level: the header, then every block of a level the IDs need at once. `read_header` and
`resolve` split that, so the header can share a round with the B-tree listing the IDs.
"""

from __future__ import annotations

import dataclasses

from . import btree2, filters
from .binary import UNDEFINED, Cursor, FileContext, bytes_needed
from .checksum import verify, verify_inside
from .io import FormatError, Parser, fetch, fetch_many, gather
from .messages import Filter, parse_filters

MAX_BLOCK = 1 << 26  # bytes of one heap block
MAX_OBJECT = 1 << 28  # bytes of one huge object
MAX_FILTER_INFO = 1 << 16
MANAGED, HUGE, TINY = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class Heap:
    """A heap header's fields, and the doubling-table arithmetic they imply."""

    address: int
    id_length: int
    pipeline: tuple[Filter, ...]
    checksummed_direct: bool  # flags bit 1: direct blocks carry a checksum
    max_managed: int  # bytes of the largest managed object
    huge_btree: int
    managed_space: int  # bytes of the managed address space
    width: int  # blocks per row of the doubling table
    start_block: int  # bytes of the blocks in rows 0 and 1
    max_direct: int  # bytes of the largest direct block
    max_heap_bits: int  # log2 of the heap's address space
    root: int
    root_rows: int  # 0: the root is a direct block
    root_filtered_size: int = 0
    root_filter_mask: int = 0

    @property
    def offset_size(self) -> int:
        """Bytes of a heap offset (in managed IDs and block headers)."""
        return (self.max_heap_bits + 7) // 8

    @property
    def length_size(self) -> int:
        """Bytes of a managed object's length in its ID."""
        direct_offset = (self.max_direct.bit_length() - 1 + 7) // 8
        return min(direct_offset, bytes_needed(self.max_managed))

    @property
    def first_row_bits(self) -> int:
        return (self.start_block * self.width).bit_length() - 1

    @property
    def direct_rows(self) -> int:
        """Rows of direct blocks an indirect block may have; rows beyond hold indirect ones."""
        return (self.max_direct.bit_length() - self.start_block.bit_length()) + 2

    def row_size(self, row: int) -> int:
        return self.start_block << max(row - 1, 0)

    def row_offset(self, row: int) -> int:
        """Heap offset of a row's first block, relative to its indirect block."""
        return 0 if row == 0 else (self.start_block * self.width) << (row - 1)

    def locate(self, offset: int) -> tuple[int, int]:
        """(row, column) of the block holding a heap offset relative to an indirect block."""
        if offset < self.start_block * self.width:
            return 0, offset // self.start_block
        row = offset.bit_length() - self.first_row_bits
        return row, (offset - (1 << (offset.bit_length() - 1))) // self.row_size(row)

    def indirect_size(self, ctx: FileContext, rows: int) -> int:
        """Bytes of an indirect block of `rows` rows, up to its checksum's end."""
        direct, indirect = self.entries(rows)
        entry = ctx.offset_size + (ctx.length_size + 4 if self.pipeline else 0)
        return 5 + ctx.offset_size + self.offset_size + direct * entry + indirect * ctx.offset_size + 4

    def entries(self, rows: int) -> tuple[int, int]:
        """(direct, indirect) child entries of an indirect block of `rows` rows."""
        direct_rows = min(rows, self.direct_rows)
        return direct_rows * self.width, (rows - direct_rows) * self.width


def read_objects(ctx: FileContext, heap_address: int, heap_ids: list[bytes]) -> Parser[list[bytes]]:
    """The objects the heap IDs name, in the same order."""
    if not heap_ids:
        return []
    heap = yield from read_header(ctx, heap_address)
    return (yield from resolve(ctx, heap, heap_ids))


def resolve(ctx: FileContext, heap: Heap, heap_ids: list[bytes]) -> Parser[list[bytes]]:
    """Like read_objects, with the header already read (say, in the same round as the
    B-tree that lists the IDs)."""
    out: list[bytes | None] = [None] * len(heap_ids)
    managed: list[tuple[int, int, int]] = []  # (position, heap offset, length)
    huge: list[tuple[int, bytes]] = []
    for i, heap_id in enumerate(heap_ids):
        if len(heap_id) != heap.id_length:
            raise FormatError(f"heap ID of {len(heap_id)} bytes, the heap uses {heap.id_length}")
        if heap_id[0] >> 6 != 0:
            raise FormatError(f"heap ID version {heap_id[0] >> 6}")
        kind = (heap_id[0] >> 4) & 3
        if kind == TINY:
            out[i] = _tiny(heap, heap_id)
        elif kind == HUGE:
            huge.append((i, heap_id))
        elif kind == MANAGED:
            c = Cursor(heap_id, ctx, 1)
            managed.append((i, c.uint(heap.offset_size), c.uint(heap.length_size)))
        else:
            raise FormatError(f"heap ID of type {kind}")
    parts = []
    if managed:
        parts.append(_managed(ctx, heap, managed))
    if huge:
        parts.append(_huge(ctx, heap, huge))
    for found in (yield from gather(parts)):
        for i, obj in found:
            out[i] = obj
    return out  # type: ignore[return-value]  # every position was filled


def read_header(ctx: FileContext, address: int) -> Parser[Heap]:
    """The heap header (FRHP) at `address`."""
    ctx.check_address(address, "fractal heap header")
    length = ctx.length_size
    size = 26 + 12 * length + 3 * ctx.offset_size
    data = yield from fetch(address, size + length + 4 + 256)  # room for a short filter pipeline
    c = Cursor(data, ctx)
    c.signature(b"FRHP")
    if c.u8() != 0:
        raise FormatError("fractal heap header version")
    id_length, filter_length, flags, max_managed = c.u16(), c.u16(), c.u8(), c.u32()
    c.length()  # next huge object ID
    huge_btree = c.address()
    c.length(), c.address()  # free space in managed blocks, its free-space manager
    managed_space = c.length()
    c.skip(7 * length)  # allocated space, iterator offset, object counts and sizes
    width, start_block, max_direct = c.u16(), c.length(), c.length()
    max_heap_bits, _, root, root_rows = c.u16(), c.u16(), c.address(), c.u16()
    pipeline: tuple[Filter, ...] = ()
    filtered_size = mask = 0
    if filter_length:
        if filter_length > MAX_FILTER_INFO:
            raise FormatError(f"fractal heap filter information of {filter_length} bytes")
        size += length + 4 + filter_length
        if len(data) < size:
            data += yield from fetch(address + len(data), size - len(data))
            c.data = data
        filtered_size, mask = c.length(), c.u32()
        pipeline = parse_filters(c.bytes(filter_length), ctx)
    verify(data, size - 4, "fractal heap header")
    heap = Heap(address, id_length, pipeline, bool(flags & 2), max_managed, huge_btree,
                managed_space, width, start_block, max_direct, max_heap_bits, root, root_rows,
                filtered_size, mask)
    _check(heap)
    return heap


def _check(heap: Heap) -> None:
    def power_of_two(n: int) -> bool:
        return n > 0 and n & (n - 1) == 0

    if not (power_of_two(heap.width) and power_of_two(heap.start_block) and power_of_two(heap.max_direct)):
        raise FormatError("fractal heap doubling table sizes are not powers of two")
    if not heap.start_block <= heap.max_direct <= MAX_BLOCK:
        raise FormatError(f"fractal heap blocks of {heap.start_block}..{heap.max_direct} bytes")
    if not heap.first_row_bits <= heap.max_heap_bits <= 64:
        raise FormatError(f"fractal heap of {heap.max_heap_bits} address bits")
    if heap.root_rows > heap.max_heap_bits - heap.first_row_bits + 1:
        raise FormatError(f"fractal heap root with {heap.root_rows} rows")
    if heap.id_length < 1 + heap.offset_size + heap.length_size:
        raise FormatError(f"fractal heap IDs of {heap.id_length} bytes")


def _tiny(heap: Heap, heap_id: bytes) -> bytes:
    """A tiny object: its length (minus one) in the ID's low bits, then its bytes."""
    if heap.id_length - 1 <= 17:
        length, start = (heap_id[0] & 0x0F) + 1, 1
    else:
        length, start = ((heap_id[0] & 0x0F) << 8 | heap_id[1]) + 1, 2
    if start + length > len(heap_id):
        raise FormatError("tiny heap object longer than its ID")
    return heap_id[start : start + length]


@dataclasses.dataclass
class _Block:
    """A heap block to read, and the objects (position, heap offset, length) wanted from it."""

    indirect: bool
    rows: int  # indirect: rows of entries; direct: bytes of the block
    offset: int  # heap offset of the block's start
    wants: list[tuple[int, int, int]]
    stored: int = 0  # direct: bytes in the file (filtered size when filtered)
    mask: int = 0  # direct: filters skipped


def _managed(ctx: FileContext, heap: Heap, wants: list[tuple[int, int, int]]) -> Parser[list[tuple[int, bytes]]]:
    """Managed objects: walk the doubling table from the root, one level of blocks per step."""
    for _, offset, length in wants:
        if length == 0 or length > heap.max_managed or offset + length > heap.managed_space:
            raise FormatError(f"managed heap object at {offset} of {length} bytes")
    if heap.root == UNDEFINED:
        raise FormatError("managed heap object in a heap without blocks")
    # The blocks to read at the next step, by address.
    if heap.root_rows == 0:
        size = heap.root_filtered_size if heap.pipeline else heap.start_block
        todo = {heap.root: _Block(False, heap.start_block, 0, wants, size, heap.root_filter_mask)}
    else:
        todo = {heap.root: _Block(True, heap.root_rows, 0, wants)}
    found: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    for _ in range(heap.max_heap_bits + 2):  # a level per indirect row doubling, at most
        if not todo:
            return found
        seen.update(todo)
        ranges = [(a, heap.indirect_size(ctx, b.rows) if b.indirect else b.stored) for a, b in todo.items()]
        for _, n in ranges:
            if n > MAX_BLOCK:
                raise FormatError(f"fractal heap block of {n} bytes")
        datas = yield from fetch_many(ranges)
        following: dict[int, _Block] = {}
        for block, data in zip(todo.values(), datas):
            if block.indirect:
                for child_addr, child in _route(ctx, heap, block, data):
                    prior = following.get(child_addr)
                    if child_addr in seen or (prior is not None and prior.indirect != child.indirect):
                        raise FormatError("fractal heap block reached twice")
                    if prior is None:
                        following[child_addr] = child
                    else:
                        prior.wants.extend(child.wants)
            else:
                found.extend(_direct(ctx, heap, block, data))
        todo = following
    raise FormatError("fractal heap nested too deeply")


def _block_header(heap: Heap, c: Cursor, signature: bytes, offset: int) -> None:
    c.signature(signature)
    if c.u8() != 0:
        raise FormatError(f"fractal heap {signature.decode()} version")
    if c.address() != heap.address:
        raise FormatError("fractal heap block of another heap")
    if c.uint(heap.offset_size) != offset:
        raise FormatError("fractal heap block at an unexpected heap offset")


def _route(ctx: FileContext, heap: Heap, block: _Block, data: bytes) -> list[tuple[int, _Block]]:
    """Children of an indirect block that hold the wanted objects."""
    size = heap.indirect_size(ctx, block.rows)
    verify(data, size - 4, "fractal heap indirect block")
    c = Cursor(data, ctx)
    _block_header(heap, c, b"FHIB", block.offset)
    n_direct, n_indirect = heap.entries(block.rows)
    direct: list[tuple[int, ...]] = []  # (address,) or, filtered, (address, stored size, mask)
    for _ in range(n_direct):
        record: tuple[int, ...] = (c.address(),)
        if heap.pipeline:
            record += (c.length(), c.u32())
        direct.append(record)
    indirect = [c.address() for _ in range(n_indirect)]
    children: dict[int, _Block] = {}
    for want in block.wants:
        row, col = heap.locate(want[1] - block.offset)
        if row >= block.rows or col >= heap.width:
            raise FormatError("managed heap object beyond its indirect block")
        offset = block.offset + heap.row_offset(row) + col * heap.row_size(row)
        entry = row * heap.width + col
        if row < heap.direct_rows:
            child_addr, *filtered = direct[entry]
            stored = filtered[0] if filtered else heap.row_size(row)
            child = _Block(False, heap.row_size(row), offset, [], stored, filtered[1] if filtered else 0)
        else:
            child_addr = indirect[entry - n_direct]
            rows = heap.row_size(row).bit_length() - heap.first_row_bits  # rows to span it
            child = _Block(True, rows, offset, [])
        if child_addr == UNDEFINED:
            raise FormatError("managed heap object in an unallocated block")
        ctx.check_address(child_addr, "fractal heap block")
        children.setdefault(child_addr, child).wants.append(want)
    return list(children.items())


def _direct(ctx: FileContext, heap: Heap, block: _Block, data: bytes) -> list[tuple[int, bytes]]:
    """The wanted objects of a direct block."""
    if len(data) < block.stored:
        raise FormatError("fractal heap direct block truncated")
    if heap.pipeline:
        data = filters.undo(data[: block.stored], heap.pipeline, block.mask, block.rows)
    if len(data) != block.rows:
        raise FormatError("fractal heap direct block of the wrong size")
    c = Cursor(data, ctx)
    _block_header(heap, c, b"FHDB", block.offset)
    start = c.pos
    if heap.checksummed_direct:
        verify_inside(data, start, "fractal heap direct block")
        start += 4
    out = []
    for i, offset, length in block.wants:
        at = offset - block.offset
        if at < start or at + length > len(data):
            raise FormatError("managed heap object outside its direct block")
        out.append((i, data[at : at + length]))
    return out


def _huge(ctx: FileContext, heap: Heap, wants: list[tuple[int, bytes]]) -> Parser[list[tuple[int, bytes]]]:
    """Huge objects: their extent is in the ID itself when it fits, else in a v2 B-tree
    keyed by the number the ID holds."""
    o, length = ctx.offset_size, ctx.length_size
    direct = heap.id_length - 1 >= (o + 2 * length + 4 if heap.pipeline else o + length)
    # (position, address, stored length, filter mask, length once unfiltered)
    extents: list[tuple[int, int, int, int, int]] = []
    if direct:
        for i, heap_id in wants:
            extents.append((i, *_huge_extent(Cursor(heap_id, ctx, 1), heap)))
    else:
        key_size = min(heap.id_length - 1, 8)
        tree_type, recs = yield from btree2.records(ctx, ctx.check_address(heap.huge_btree, "huge objects' B-tree"))
        if tree_type != (2 if heap.pipeline else 1):
            raise FormatError(f"huge objects indexed by a B-tree of type {tree_type}")
        by_key = {}
        for rec in recs:
            c = Cursor(rec, ctx)
            extent = _huge_extent(c, heap)
            by_key[c.length()] = extent
        for i, heap_id in wants:
            key = int.from_bytes(heap_id[1 : 1 + key_size], "little")
            if key not in by_key:
                raise FormatError(f"huge heap object {key} is not in its B-tree")
            extents.append((i, *by_key[key]))
    for _, addr, length, _, size in extents:
        ctx.check_address(addr, "huge heap object")
        if not 0 < length <= MAX_OBJECT or not 0 < size <= MAX_OBJECT:
            raise FormatError(f"huge heap object of {length} bytes")
    datas = yield from fetch_many([(addr, length) for _, addr, length, _, _ in extents])
    out = []
    for (i, _, length, mask, size), data in zip(extents, datas):
        if len(data) < length:
            raise FormatError("huge heap object truncated")
        if heap.pipeline:
            data = filters.undo(data, heap.pipeline, mask, size)
        if len(data) != size:
            raise FormatError("huge heap object of the wrong size once unfiltered")
        out.append((i, data))
    return out


def _huge_extent(c: Cursor, heap: Heap) -> tuple[int, int, int, int]:
    """(address, stored length, filter mask, length once unfiltered) of a huge object, as
    its ID or B-tree record holds them."""
    addr, length = c.address(), c.length()
    if not heap.pipeline:
        return addr, length, 0, length
    mask = c.u32()
    return addr, length, mask, c.length()

