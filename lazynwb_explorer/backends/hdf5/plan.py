"""Row and box reads of one dataset as a parser: chunk index, byte ranges, decode.

The byte ranges of a read are computed up front and asked for in one step: exact row
ranges for contiguous data and inside uncompressed chunks that span whole rows, whole
chunks where compressed (undone after the fetch). Run many of these under `gather` and a
whole query's bytes arrive in one round (plus one for global-heap strings).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..base import UNBACKED_LIMIT
from . import btree1, filters
from .binary import UNDEFINED, FileContext
from .chunk_index import chunk_entries
from .io import FormatError, Parser, Refused, Unsupported, fetch_data, fetch_many
from .layout import ChunkEntry
from .objects import DatasetInfo
from .values import RefName, decode_array

Box = tuple[tuple[int, int], ...]  # [lo, hi) per axis
Fetch = Callable[[Sequence[tuple[int, int]]], Parser[list[bytes]]]


def chunk_index(ctx: FileContext, info: DatasetInfo) -> Parser[list[ChunkEntry]]:
    layout = info.layout
    if layout.index == "btree1":
        entries = yield from btree1.chunk_entries(ctx, layout.address, layout.chunk_shape)
        return entries
    shape = info.shape or ()
    maxshape = info.maxshape or shape
    entries = yield from chunk_entries(ctx, layout, shape, maxshape, bool(info.filters))
    return entries


def _empty(info: DatasetInfo, rows: int, rest: tuple[int, ...]) -> np.ndarray:
    storage = info.type.storage
    if info.fill is not None and any(info.fill):
        one = np.frombuffer(info.fill, dtype=storage, count=1)
        return np.full((rows, *rest), one[0], dtype=storage)
    return np.zeros((rows, *rest), dtype=storage)


def read_boxes(
    ctx: FileContext,
    info: DatasetInfo,
    boxes: Sequence[Box],
    entries: Callable[[], Parser[list[ChunkEntry]]],
    ref_name: RefName,
    exact: bool = True,
) -> Parser[np.ndarray]:
    """The boxes' values stacked along axis 0 (every box spans the same other axes).
    `exact`: fetch exactly the bytes needed (data); else through cached metadata blocks
    (small datasets read during a walk, which sit among the metadata)."""
    if info.outside:
        raise Refused(info.outside)
    check_backed(ctx, info)
    fetch = fetch_data if exact else fetch_many
    shape = info.shape
    if shape is None:
        return np.empty((0,), dtype=info.type.decoded)
    if shape == ():
        raw = yield from _scalar_bytes(info, fetch)
        return (yield from decode_array(ctx, info.type, raw, (), ref_name, exact))
    boxes = [b for b in boxes if b[0][1] > b[0][0]]
    rest = tuple(hi - lo for lo, hi in boxes[0][1:]) if boxes else tuple(shape[1:])
    total = sum(b[0][1] - b[0][0] for b in boxes)
    layout = info.layout
    index = None
    if total and all(rest) and layout.kind == "chunked":
        index = yield from entries()
        _check_coverage(info, boxes, index)
    out = _empty(info, total, rest)
    if total and all(rest):
        if index is not None:
            yield from _chunked(info, boxes, index, out, fetch)
        elif layout.kind == "contiguous":
            yield from _contiguous(info, boxes, out, fetch)
        else:
            _compact(info, boxes, out)
    if not info.type.needs_decoding and not info.type.is_bool:
        return out
    return (yield from decode_array(ctx, info.type, out.tobytes(), out.shape, ref_name, exact))


def check_backed(ctx: FileContext, info: DatasetInfo) -> None:
    """FormatError when the dataset's declared size is not backed by bytes of the file: no
    storage at all for more than UNBACKED_LIMIT bytes, or contiguous data past the end."""
    shape = info.shape or ()
    declared = math.prod(shape) * info.type.size
    layout = info.layout
    if layout.kind in ("contiguous", "chunked") and layout.address == UNDEFINED and declared > UNBACKED_LIMIT:
        raise FormatError(f"declares shape {shape} ({declared} bytes) but stores none of its data")
    if layout.kind == "contiguous" and layout.address != UNDEFINED and layout.address + declared > ctx.eof:
        raise FormatError(f"declares shape {shape} ({declared} bytes), more than the file holds "
                          f"after its data's address {layout.address}")


def _check_coverage(info: DatasetInfo, boxes: Sequence[Box], index: list[ChunkEntry]) -> None:
    """FormatError when a read would be almost all fill: more than 4 x UNBACKED_LIMIT bytes of
    it in chunks that do not exist, and under 1% of it in chunks that do."""
    chunk = info.layout.chunk_shape
    if len(chunk) != len(info.shape or ()) or not all(chunk):
        return  # _chunked names this
    wanted = sum(math.prod(hi - lo for lo, hi in box) for box in boxes)
    if wanted * info.type.size <= 4 * UNBACKED_LIMIT:
        return
    # against the boxes' bounding box: covered is over-counted, never under (no false alarm)
    bounds = [(min(b[axis][0] for b in boxes), max(b[axis][1] for b in boxes)) for axis in range(len(chunk))]
    covered = 0
    for entry in index:
        covered += math.prod(max(0, min(hi, o + k) - max(lo, o))
                             for o, k, (lo, hi) in zip(entry.offset, chunk, bounds))
    if (wanted - covered) * info.type.size > 4 * UNBACKED_LIMIT and covered * 100 < wanted:
        raise FormatError(f"declares shape {info.shape} but stores data for {covered} of the "
                          f"{wanted} elements read")


def _scalar_bytes(info: DatasetInfo, fetch: Fetch) -> Parser[bytes]:
    layout, size = info.layout, info.type.size
    if layout.kind == "compact":
        return layout.data[:size]
    if layout.kind == "contiguous" and layout.address != UNDEFINED:
        return (yield from fetch([(layout.address, size)]))[0]
    if layout.kind == "chunked":
        raise Unsupported("chunked scalar dataset")
    return info.fill or bytes(size)


def _compact(info: DatasetInfo, boxes: Sequence[Box], out: np.ndarray) -> None:
    shape = info.shape or ()
    count = math.prod(shape)
    if len(info.layout.data) < count * info.type.size:
        raise FormatError(f"compact data of {len(info.layout.data)} bytes for {count} elements")
    data = np.frombuffer(info.layout.data, dtype=info.type.storage, count=count).reshape(shape)
    pos = 0
    for box in boxes:
        n = box[0][1] - box[0][0]
        out[pos : pos + n] = data[tuple(slice(lo, hi) for lo, hi in box)]
        pos += n


def _row_bytes(info: DatasetInfo) -> int:
    shape = info.shape or ()
    return math.prod(shape[1:]) * info.type.size


def _whole_rows(box: Box, shape: tuple[int, ...]) -> bool:
    return all(lo == 0 and hi == n for (lo, hi), n in zip(box[1:], shape[1:]))


def _contiguous(info: DatasetInfo, boxes: Sequence[Box], out: np.ndarray, fetch: Fetch) -> Parser[None]:
    layout, shape = info.layout, info.shape or ()
    if layout.address == UNDEFINED:
        return
    row = _row_bytes(info)
    ranges = [(layout.address + box[0][0] * row, (box[0][1] - box[0][0]) * row) for box in boxes]
    datas = yield from fetch(ranges)
    pos = 0
    for box, data, (_, n) in zip(boxes, datas, ranges):
        if len(data) < n:
            raise FormatError("contiguous data runs past the end of the file")
        rows = np.frombuffer(data, dtype=info.type.storage).reshape(-1, *shape[1:])
        k = box[0][1] - box[0][0]
        index = (slice(None), *(slice(lo, hi) for lo, hi in box[1:]))  # named: see backends/base.py
        out[pos : pos + k] = rows[index]
        pos += k


def _chunked(
    info: DatasetInfo, boxes: Sequence[Box], index: list[ChunkEntry], out: np.ndarray, fetch: Fetch
) -> Parser[None]:
    shape = info.shape or ()
    chunk = info.layout.chunk_shape
    if len(chunk) != len(shape) or not all(chunk):
        raise FormatError("chunk shape does not match the dataset")
    storage = info.type.storage
    chunk_bytes = math.prod(chunk) * info.type.size  # Python ints: hostile sizes cannot wrap
    spans_rows = all(k >= n for k, n in zip(chunk[1:], shape[1:]))
    exact = not info.filters and spans_rows
    # (box index, output row of the box's start, chunk entry) for every overlap
    pieces: list[tuple[int, int, ChunkEntry]] = []
    starts = np.cumsum([0] + [b[0][1] - b[0][0] for b in boxes]).tolist()
    by_row: dict[int, list[ChunkEntry]] = {}
    for e in index:
        by_row.setdefault(e.offset[0] // chunk[0], []).append(e)
    for i, box in enumerate(boxes):
        (lo0, hi0) = box[0]
        for c in range(lo0 // chunk[0], (hi0 - 1) // chunk[0] + 1):
            for e in by_row.get(c, ()):  # (a hostile index may hold offsets off the grid)
                if all(o < hi and o + k > lo for o, k, (lo, hi) in zip(e.offset, chunk, box)):
                    pieces.append((i, starts[i], e))
    if exact:
        # a row inside a chunk is chunk-wide (edge chunks are stored whole), which may be
        # wider than the dataset's row when the chunk outgrows the shape on other axes
        row = math.prod(chunk[1:]) * info.type.size
        ranges = []
        for i, _, e in pieces:
            lo = max(boxes[i][0][0], e.offset[0])
            hi = min(boxes[i][0][1], e.offset[0] + chunk[0])
            ranges.append((e.address + (lo - e.offset[0]) * row, (hi - lo) * row))
        datas = yield from fetch(ranges)
        for (i, start, e), data, (_, n) in zip(pieces, datas, ranges):
            if len(data) < n:
                raise FormatError("chunk runs past the end of the file")
            box = boxes[i]
            lo = max(box[0][0], e.offset[0])
            rows = np.frombuffer(data, dtype=storage).reshape(-1, *chunk[1:])
            sel = (slice(None), *(slice(a, b) for a, b in box[1:]))
            out[start + lo - box[0][0] : start + lo - box[0][0] + len(rows)] = rows[sel]
        return
    wanted = sorted({e for _, _, e in pieces}, key=lambda e: e.address)
    datas = yield from fetch([(e.address, e.size) for e in wanted])
    uses: dict[ChunkEntry, list[tuple[int, int]]] = {}
    for i, start, e in pieces:
        uses.setdefault(e, []).append((i, start))
    for e, data in zip(wanted, datas):  # one decoded chunk in memory at a time
        if len(data) < e.size:
            raise FormatError("chunk runs past the end of the file")
        raw = filters.undo(data, info.filters, e.filter_mask, chunk_bytes) if info.filters else data
        if len(raw) < chunk_bytes:
            raise FormatError(f"chunk holds {len(raw)} of {chunk_bytes} bytes")
        decoded = np.frombuffer(raw, dtype=storage, count=math.prod(chunk)).reshape(chunk)
        for i, start in uses[e]:
            box = boxes[i]
            src, dst = [], []
            for axis, (o, k, (lo, hi)) in enumerate(zip(e.offset, chunk, box)):
                a, b = max(lo, o), min(hi, o + k)
                src.append(slice(a - o, b - o))
                dst.append(slice(a - lo + (start if axis == 0 else 0), b - lo + (start if axis == 0 else 0)))
            out[tuple(dst)] = decoded[tuple(src)]
