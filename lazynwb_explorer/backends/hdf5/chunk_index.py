"""The chunk indexes of layout messages v4 and v5: single chunk, implicit, fixed array,
extensible array and version-2 B-tree (the version-1 B-tree lives in btree1).

Each lists the allocated chunks as ChunkEntry (first element's coordinates, address,
stored size, filter mask), reading one level per step: a fixed array costs two rounds
(header, data block with all its pages), an extensible array at most four (header, index
block, its data and super blocks, the super blocks' data blocks), a B-tree its depth + 2,
single-chunk and implicit indexes none. Elements are decoded with numpy, a block at a time.

Array elements are numbered in row-major order over the grid of chunks the dataset's
*maximum* shape holds; an extensible array first moves its unlimited dimension to the front
("swizzles" it, as libhdf5 does), so the array only ever grows at its end.

Layout v5 (HDF5 2.0) only widened the filtered chunk size field; its width is derived here
from the element (or record) size, so both versions read alike.

Over ~400 lines because its one job, the chunk indexes of layout v4/v5, has five kinds that
share the grid (_Grid) and element decoding (_Elements); the B-tree v1 of older layouts and
the v2 B-tree walk itself (btree2) already live apart.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from . import btree2
from .binary import UNDEFINED, Cursor, FileContext
from .checksum import verify
from .io import FormatError, Parser, Unsupported, fetch_index
from .layout import ChunkEntry, Layout

MAX_CHUNKS = 1 << 24  # chunks an index may list
MAX_BLOCK = 1 << 28  # bytes of one index block
UNFILTERED_RECORD, FILTERED_RECORD = 10, 11  # v2 B-tree record types of chunk indexes


def chunk_entries(
    ctx: FileContext,
    layout: Layout,
    shape: tuple[int, ...],
    maxshape: tuple[int | None, ...],
    filtered: bool,
) -> Parser[list[ChunkEntry]]:
    """The allocated chunks of a dataset whose layout uses a v4+ chunk index. `filtered`:
    the dataset has a filter pipeline (its index then records sizes and filter masks)."""
    if layout.index == "btree1":
        raise Unsupported("btree1 handled elsewhere")
    grid = _Grid(ctx, layout.chunk_shape, layout.params.get("element_size", 0), shape, maxshape)
    if layout.address == UNDEFINED:
        return []
    if layout.index == "single":
        return _single(ctx, layout, grid)
    if layout.index == "implicit":
        return _implicit(layout.address, grid)
    if layout.index == "fixed_array":
        return (yield from _fixed_array(layout.address, grid, filtered))
    if layout.index == "extensible_array":
        return (yield from _extensible_array(layout.address, grid, filtered))
    if layout.index == "btree2":
        return (yield from _btree2(layout.address, grid, filtered))
    raise Unsupported(f"{layout.index} chunk index")


class _Grid:
    """The dataset's grid of chunks; turns element numbers into ChunkEntry."""

    def __init__(self, ctx: FileContext, chunk: tuple[int, ...], element_size: int,
                 shape: tuple[int, ...], maxshape: tuple[int | None, ...]):
        if not chunk or len(shape) != len(chunk) or len(maxshape) != len(chunk) or not all(chunk):
            raise FormatError(f"chunks {chunk} for a dataset of shape {shape} / {maxshape}")
        self.ctx = ctx
        self.chunk = chunk
        self.chunk_bytes = math.prod(chunk) * element_size
        self.maxshape = maxshape
        self.current = tuple(-(-n // c) for n, c in zip(shape, chunk))  # chunks the shape spans
        self.maximum = tuple(None if m is None else -(-m // c) for m, c in zip(maxshape, chunk))

    def fixed(self) -> tuple[int, ...]:
        """Chunks along each axis of a dataset that cannot grow."""
        if any(n is None for n in self.maximum):
            raise FormatError("a fixed-size chunk index for a dataset with unlimited dimensions")
        return self.maximum  # type: ignore[return-value]

    def entries(self, rows: Sequence[np.ndarray], counts: Sequence[int],
                order: Sequence[int] | None = None) -> list[ChunkEntry]:
        """ChunkEntry of the allocated rows (element number, address, size, mask), the
        number counted row-major over `counts` chunks along the axes `order` (default: the
        dataset's); the first count is never used (the axis may be unlimited)."""
        table = np.concatenate(rows) if rows else np.zeros((0, 4), np.uint64)
        table = table[table[:, 1] != _UNDEFINED_ROW]
        if len(table) and not all(counts[1:]):
            raise FormatError("chunks in a dataset of no elements")
        rank = len(self.chunk)
        order = list(order) if order is not None else list(range(rank))
        rest = table[:, 0].copy()
        scaled = np.zeros((len(table), rank), np.uint64)
        for axis in reversed(range(1, rank)):
            scaled[:, order[axis]] = rest % np.uint64(counts[axis])
            rest //= np.uint64(counts[axis])
        scaled[:, order[0]] = rest
        offsets = scaled * np.array(self.chunk, np.uint64)
        if order[0] != 0:  # back to row-major order of the dataset's own axes
            sort = np.lexsort(offsets.T[::-1])
            offsets, table = offsets[sort], table[sort]
        return self.checked(offsets, table[:, 1], table[:, 2], table[:, 3])

    def checked(self, offsets: np.ndarray, addresses: np.ndarray, sizes: np.ndarray,
                masks: np.ndarray) -> list[ChunkEntry]:
        """ChunkEntry, after checking addresses (base-adjusted) and offsets are in range."""
        if len(addresses) and int(addresses.max()) + self.ctx.base >= self.ctx.eof:
            raise FormatError(f"chunk at {int(addresses.max())}, beyond the end of the file")
        addresses = addresses + np.uint64(self.ctx.base)
        for axis, m in enumerate(self.maxshape):
            if m is not None and len(offsets) and int(offsets[:, axis].max()) >= m:
                raise FormatError("chunk beyond the dataset's maximum shape")
        return [ChunkEntry(tuple(o), a, s, k) for o, a, s, k in
                zip(offsets.tolist(), addresses.tolist(), sizes.tolist(), masks.tolist())]


_UNDEFINED_ROW = np.uint64(0xFFFFFFFFFFFFFFFF)  # addresses decode all bits set to this


def _little(raw: np.ndarray) -> np.ndarray:
    """Little-endian unsigned integers from the byte columns of `raw` (up to 8)."""
    padded = np.zeros((raw.shape[0], 8), np.uint8)
    padded[:, : raw.shape[1]] = raw
    return padded.view("<u8").ravel()


class _Elements:
    """How an array index stores each chunk: its address, then, for filtered chunks, its
    stored size (of a width layout v5 changed: derived from the element size) and filter
    mask."""

    def __init__(self, grid: _Grid, client: int, size: int, filtered: bool):
        ctx = grid.ctx
        if client != int(filtered):
            raise FormatError(f"chunk index of client {client} for {'filtered' if filtered else 'raw'} chunks")
        width = size - ctx.offset_size - 4 if filtered else 0
        if (filtered and not 1 <= width <= 8) or (not filtered and size != ctx.offset_size):
            raise FormatError(f"chunk index elements of {size} bytes")
        self.grid = grid
        self.size = size
        self.width = width

    def decode(self, data: bytes, start: int, first: int, count: int) -> np.ndarray:
        """(count, 4) uint64 rows: element number, address (all ones: none), size, mask."""
        if start + count * self.size > len(data):
            raise FormatError("chunk index block truncated")
        raw = np.frombuffer(data, np.uint8, count * self.size, start).reshape(count, self.size)
        o = self.grid.ctx.offset_size
        out = np.empty((count, 4), np.uint64)
        out[:, 0] = np.arange(first, first + count, dtype=np.uint64)
        address = _little(raw[:, :o])
        address[address == np.uint64((1 << (8 * o)) - 1)] = _UNDEFINED_ROW
        out[:, 1] = address
        if self.width:
            out[:, 2] = _little(raw[:, o : o + self.width])
            out[:, 3] = _little(raw[:, o + self.width :])
        else:
            out[:, 2] = self.grid.chunk_bytes
            out[:, 3] = 0
        return out


def _single(ctx: FileContext, layout: Layout, grid: _Grid) -> list[ChunkEntry]:
    """One chunk holds the whole dataset; its filtered size is in the layout message."""
    size, mask = grid.chunk_bytes, 0
    if layout.flags & 2:
        size, mask = layout.params["filtered_size"], layout.params["filter_mask"]
    address = ctx.check_address(layout.address, "chunk")
    return [ChunkEntry((0,) * len(grid.chunk), address, size, mask)]


def _implicit(address: int, grid: _Grid) -> list[ChunkEntry]:
    """Every chunk allocated up front, back to back in row-major order of the maximum
    grid (no index at all); listed for the chunks the current shape spans."""
    counts = grid.fixed()
    n = math.prod(grid.current)
    if n > MAX_CHUNKS or any(c > m for c, m in zip(grid.current, counts)):
        raise FormatError(f"{grid.current} chunks in a grid of {counts}")
    scaled = np.indices(grid.current, np.uint64).reshape(len(counts), -1)
    index = np.ravel_multi_index(scaled.astype(np.intp), counts).astype(np.uint64)
    addresses = np.uint64(address - grid.ctx.base) + index * np.uint64(grid.chunk_bytes)
    offsets = scaled.T * np.array(grid.chunk, np.uint64)
    return grid.checked(offsets, addresses, np.full(n, grid.chunk_bytes, np.uint64), np.zeros(n, np.uint64))


def _fetch(ranges: list[tuple[int, int]]) -> Parser[list[bytes]]:
    """Index blocks, refused beyond MAX_BLOCK bytes (a hostile count cannot make us ask a
    server for gigabytes)."""
    for _, size in ranges:
        if size > MAX_BLOCK:
            raise FormatError(f"chunk index block of {size} bytes")
    return (yield from fetch_index(ranges))


def _block_header(c: Cursor, signature: bytes, client: int, header: int) -> None:
    c.signature(signature)
    if c.u8() != 0 or c.u8() != client:
        raise FormatError(f"{signature.decode()} version or client")
    if c.address() != header:
        raise FormatError(f"{signature.decode()} of another array")


def _fixed_array(address: int, grid: _Grid, filtered: bool) -> Parser[list[ChunkEntry]]:
    """A fixed array: header (FAHD), then its data block (FADB), paged when large: a
    bitmap then says which pages were ever written, and each page has its checksum."""
    ctx = grid.ctx
    counts = grid.fixed()
    size = 8 + ctx.length_size + ctx.offset_size + 4
    (data,) = yield from fetch_index([(ctx.check_address(address, "fixed array"), size)])
    verify(data, size - 4, "fixed array header")
    c = Cursor(data, ctx)
    c.signature(b"FAHD")
    if c.u8() != 0:
        raise FormatError("fixed array version")
    client, element_size, page_bits = c.u8(), c.u8(), c.u8()
    n, block = c.length(), c.address()
    elements = _Elements(grid, client, element_size, filtered)
    if n != math.prod(counts) or n > MAX_CHUNKS or page_bits > 32:
        raise FormatError(f"fixed array of {n} elements for {counts} chunks")
    if block == UNDEFINED:
        return []
    page = 1 << page_bits
    pages = -(-n // page) if n > page else 0
    prefix = 6 + ctx.offset_size + (pages + 7) // 8
    total = prefix + n * element_size + 4 * (pages + 1)
    (data,) = yield from _fetch([(ctx.check_address(block, "fixed array data block"), total)])
    c = Cursor(data, ctx)
    _block_header(c, b"FADB", client, address)
    if not pages:
        verify(data, prefix + n * element_size, "fixed array data block")
        return grid.entries([elements.decode(data, prefix, 0, n)], counts)
    verify(data, prefix, "fixed array data block")
    bitmap = c.bytes((pages + 7) // 8)
    rows = []
    start = prefix + 4
    for p in range(pages):
        count = min(page, n - p * page)
        if bitmap[p // 8] & (0x80 >> (p % 8)):  # most significant bit first
            verify(data, start + count * element_size, "fixed array page", start)
            rows.append(elements.decode(data, start, p * page, count))
        start += count * element_size + 4
    return grid.entries(rows, counts)


@dataclasses.dataclass(frozen=True)
class _SuperBlock:
    """A super block's share of an extensible array: `blocks` data blocks of `elements`."""

    blocks: int
    elements: int
    start: int  # number of its first element, counted after the index block's elements


def _super_blocks(max_bits: int, min_elements: int) -> list[_SuperBlock]:
    """The layout libhdf5 derives: super block k has 2**(k//2) data blocks of
    min_elements * 2**((k+1)//2) elements, up to 2**max_bits elements in all."""
    out = []
    start = 0
    for k in range(1 + max_bits - (min_elements.bit_length() - 1)):
        s = _SuperBlock(1 << (k // 2), min_elements << ((k + 1) // 2), start)
        out.append(s)
        start += s.blocks * s.elements
    return out


@dataclasses.dataclass(frozen=True)
class _Array:
    """What reading an extensible array's blocks needs from its header."""

    ctx: FileContext
    header: int  # address of the header, which every block names
    client: int
    elements: _Elements
    index_elements: int  # elements held by the index block itself
    n: int  # elements ever set: later ones are not read
    page: int  # elements per data block page
    offset_size: int  # bytes of a block's "offset in the array" field

    def paged(self, s: _SuperBlock) -> bool:
        return s.elements > self.page

    def data_block_size(self, s: _SuperBlock, pages: int = 0) -> int:
        """Bytes of a data block (of a paged one: up to the end of its first `pages`)."""
        head = 10 + self.ctx.offset_size + self.offset_size
        if self.paged(s):
            return head + pages * (self.page * self.elements.size + 4)
        return head + s.elements * self.elements.size

    def bitmap_size(self, s: _SuperBlock) -> int:
        """Bytes of a super block's bitmap of written pages (for all its data blocks)."""
        return s.blocks * ((s.elements // self.page + 7) // 8) if self.paged(s) else 0

    def super_block_size(self, s: _SuperBlock) -> int:
        o = self.ctx.offset_size
        return 10 + o + self.offset_size + self.bitmap_size(s) + s.blocks * o


def _extensible_array(address: int, grid: _Grid, filtered: bool) -> Parser[list[ChunkEntry]]:
    """An extensible array: header (EAHD), index block (EAIB) with the first elements and
    data block / super block addresses, super blocks (EASB) listing further data blocks
    (EADB), which are paged when large."""
    ctx = grid.ctx
    unlimited = [i for i, m in enumerate(grid.maxshape) if m is None]
    if len(unlimited) != 1:
        raise FormatError("an extensible array index for a dataset without exactly one unlimited dimension")
    order = [unlimited[0]] + [i for i in range(len(grid.chunk)) if i != unlimited[0]]
    counts = [0] + [m for m in (grid.maximum[i] for i in order[1:]) if m is not None]  # only order[0] is unlimited
    o, length = ctx.offset_size, ctx.length_size
    size = 12 + 6 * length + o + 4
    (data,) = yield from fetch_index([(ctx.check_address(address, "extensible array"), size)])
    verify(data, size - 4, "extensible array header")
    c = Cursor(data, ctx)
    c.signature(b"EAHD")
    if c.u8() != 0:
        raise FormatError("extensible array version")
    client, element_size = c.u8(), c.u8()
    max_bits, index_elements, min_elements, min_pointers, page_bits = (c.u8() for _ in range(5))
    c.skip(4 * length)  # super and data block counts and sizes
    n, _, index_block = c.length(), c.length(), c.address()
    elements = _Elements(grid, client, element_size, filtered)
    if not (0 < max_bits <= 64 and _power_of_two(min_elements) and _power_of_two(min_pointers)
            and min_pointers >= 2 and page_bits <= 32):
        raise FormatError("extensible array parameters")
    if n > MAX_CHUNKS or n > 1 << max_bits:
        raise FormatError(f"extensible array of {n} elements")
    if index_block == UNDEFINED or n == 0:
        return []
    arr = _Array(ctx, address, client, elements, index_elements, n, 1 << page_bits, (max_bits + 7) // 8)
    supers = _super_blocks(max_bits, min_elements)
    in_index = 2 * (min_pointers.bit_length() - 1)  # super blocks whose data blocks the index block lists
    direct_blocks = 2 * (min_pointers - 1)
    if in_index > len(supers) or sum(s.blocks for s in supers[:in_index]) != direct_blocks:
        raise FormatError("extensible array index block layout")
    size = 6 + o + index_elements * element_size + (direct_blocks + len(supers) - in_index) * o + 4
    (data,) = yield from _fetch([(ctx.check_address(index_block, "extensible array index block"), size)])
    verify(data, size - 4, "extensible array index block")
    c = Cursor(data, ctx)
    _block_header(c, b"EAIB", client, address)
    rows = [elements.decode(data, c.pos, 0, min(index_elements, n))]
    c.skip(index_elements * element_size)
    blocks = []  # (address, super block, first element) of data blocks the index block lists
    for s in supers[:in_index]:
        for b in range(s.blocks):
            addr, first = c.address(), index_elements + s.start + b * s.elements
            if addr != UNDEFINED and first < n:
                if arr.paged(s):
                    raise Unsupported("paged data blocks in an extensible array's index block")
                blocks.append((ctx.check_address(addr, "extensible array data block"), s, first))
    secondary = []
    for s in supers[in_index:]:
        addr = c.address()
        if addr != UNDEFINED and index_elements + s.start < n:
            secondary.append((ctx.check_address(addr, "extensible array super block"), s))
    datas = yield from _fetch([(a, arr.data_block_size(s)) for a, s, _ in blocks]
                              + [(a, arr.super_block_size(s)) for a, s in secondary])
    for (_, s, first), data in zip(blocks, datas):
        rows.extend(_data_block(arr, data, s, first, b""))
    more = []  # (address, super block, first element, written pages) listed by super blocks
    for (_, s), data in zip(secondary, datas[len(blocks) :]):
        more.extend(_super_block(arr, data, s))
    datas = yield from _fetch([(a, arr.data_block_size(s, len(w))) for a, s, _, w in more])
    for (_, s, first, written), data in zip(more, datas):
        rows.extend(_data_block(arr, data, s, first, written))
    return grid.entries(rows, counts, order)


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _super_block(arr: _Array, data: bytes, s: _SuperBlock) -> list[tuple[int, _SuperBlock, int, bytes]]:
    """A super block's data blocks that hold elements below n: (address, super block,
    first element, one byte per page: written or not)."""
    ctx = arr.ctx
    verify(data, arr.super_block_size(s) - 4, "extensible array super block")
    c = Cursor(data, ctx)
    _block_header(c, b"EASB", arr.client, arr.header)
    c.skip(arr.offset_size)  # its offset in the array (libhdf5 does not check it either)
    bitmap = c.bytes(arr.bitmap_size(s))
    pages = s.elements // arr.page if arr.paged(s) else 0
    out = []
    for b in range(s.blocks):
        addr, first = c.address(), arr.index_elements + s.start + b * s.elements
        if addr != UNDEFINED and first < arr.n:
            # Bits are numbered across the super block's data blocks, most significant
            # first; only pages holding elements below n are read.
            bits = range(b * pages, b * pages + min(pages, -(-(arr.n - first) // arr.page)))
            written = bytes(bool(bitmap[i // 8] & (0x80 >> (i % 8))) for i in bits)
            out.append((ctx.check_address(addr, "extensible array data block"), s, first, written))
    return out


def _data_block(arr: _Array, data: bytes, s: _SuperBlock, first: int, written: bytes) -> list[np.ndarray]:
    """Rows of the elements below n of the data block whose first element is `first`; of a
    paged block only those in pages marked written."""
    c = Cursor(data, arr.ctx)
    _block_header(c, b"EADB", arr.client, arr.header)
    c.skip(arr.offset_size)  # libhdf5 writes a quirky value here and never checks it
    size = arr.elements.size
    if not arr.paged(s):
        verify(data, c.pos + s.elements * size, "extensible array data block")
        return [arr.elements.decode(data, c.pos, first, min(s.elements, arr.n - first))]
    verify(data, c.pos, "extensible array data block")
    rows = []
    start = c.pos + 4
    for p, page_written in enumerate(written):
        lo = first + p * arr.page
        if page_written and lo < arr.n:
            verify(data, start + arr.page * size, "extensible array data block page", start)
            rows.append(arr.elements.decode(data, start, lo, min(arr.page, arr.n - lo)))
        start += arr.page * size + 4
    return rows


def _btree2(address: int, grid: _Grid, filtered: bool) -> Parser[list[ChunkEntry]]:
    """A v2 B-tree of chunk records: address, (filtered: size, filter mask), then the
    chunk's coordinates in units of chunks, 8 bytes per axis."""
    ctx = grid.ctx
    rank = len(grid.chunk)
    tree_type, recs = yield from btree2.records(ctx, address, fetch_index)
    if tree_type != (FILTERED_RECORD if filtered else UNFILTERED_RECORD):
        raise FormatError(f"chunk B-tree of record type {tree_type}")
    if not recs:
        return []
    size = len(recs[0])
    o = ctx.offset_size
    width = size - o - 4 - 8 * rank if filtered else 0
    if (filtered and not 1 <= width <= 8) or (not filtered and size != o + 8 * rank):
        raise FormatError(f"chunk B-tree records of {size} bytes")
    raw = np.frombuffer(b"".join(recs), np.uint8).reshape(len(recs), size)
    addresses = _little(raw[:, :o])
    if (addresses == np.uint64((1 << (8 * o)) - 1)).any():
        raise FormatError("chunk B-tree record without an address")
    if filtered:
        sizes, masks = _little(raw[:, o : o + width]), _little(raw[:, o + width : o + width + 4])
    else:
        sizes, masks = np.full(len(recs), grid.chunk_bytes, np.uint64), np.zeros(len(recs), np.uint64)
    scaled = np.ascontiguousarray(raw[:, size - 8 * rank :]).view("<u8")
    if (scaled > np.array([(1 << 63) // n for n in grid.chunk], np.uint64)).any():
        raise FormatError("chunk B-tree record beyond any dataset")
    return grid.checked(scaled * np.array(grid.chunk, np.uint64), addresses, sizes, masks)
