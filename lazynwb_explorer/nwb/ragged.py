"""Ragged columns (VectorData + VectorIndex): which elements of the data each row holds.

A VectorIndex holds each row's end in the level below (the data, or the next index of a
doubly ragged column); MatNWB 2.0b writes HDF5 region references instead, each row's
selection of the data. Indexes are small and read once per open file (kept in the
catalog). Reading rows of a ragged column turns row ids into element spans level by level,
then reads only those spans of the data, in one round. An index that points past its data
(truncated exports) reads those rows short or empty, as h5py slices them (pynwb's answer),
with a warning naming the file, table and column.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from ..catalog import Catalog
from ..errors import MalformedFileError, redact
from .columns import Column, polars_dtype, to_series

# Read the whole ragged data when the selected rows cover at least this share of it.
_FULL_READ_SHARE = 0.5
_STARTS = "#starts"  # catalog.small_arrays key suffix: a region index's row starts


def read_index(catalog: Catalog, path: str) -> np.ndarray:
    """A VectorIndex's row ends, read once per open file (they are small: one integer per
    row). An index of HDF5 region references (MatNWB 2.0b) holds each row's selection of
    the data instead: its ends are kept here and its starts under path + '#starts'."""
    store = catalog.small_arrays
    if path not in store:
        if catalog.require_dataset(path).is_reference:
            spans = np.asarray(catalog.backend.read_region_spans(path), dtype=np.int64)
            store[path + _STARTS] = spans[:, 0].copy()
            store[path] = spans[:, 1].copy()
        else:
            store[path] = np.asarray(catalog.backend.read(path), dtype=np.int64)
    return store[path]


def _bounds(catalog: Catalog, path: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's [start, stop) in the level below (data, or the next index)."""
    index = read_index(catalog, path)
    stops = index[rows]
    explicit = catalog.small_arrays.get(path + _STARTS)
    if explicit is not None:
        return explicit[rows], stops
    starts = np.where(rows > 0, index[np.maximum(rows - 1, 0)], 0)
    return starts, stops


def row_spans(catalog: Catalog, index_path: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows' [start, stop) in the level below a VectorIndex (integer or region index)."""
    return _bounds(catalog, index_path, np.asarray(rows, dtype=np.int64))


def row_span(catalog: Catalog, index_path: str, row: int) -> tuple[int, int]:
    """One row's [start, stop) in the level below a VectorIndex (integer or region index)."""
    starts, stops = _bounds(catalog, index_path, np.array([row], dtype=np.int64))
    return int(starts[0]), int(stops[0])


def _wrap_lists(name: str, flat: pl.Series, offsets_levels: list[np.ndarray]) -> pl.Series:
    """Build List(...(flat)) from offsets, innermost level last in offsets_levels."""
    values = flat.to_arrow()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    for offsets in reversed(offsets_levels):
        # 32-bit offsets where they fit: polars 1.x crashes reading a large list of strings
        # built by pyarrow (LargeListArray of large_string), polars 2 does not
        if len(offsets) and int(offsets[-1]) < 2**31:
            values = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values)
        else:
            values = pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), values)
    return pl.Series(name, values)


@dataclasses.dataclass
class RaggedPlan:
    """Where a ragged column's selected rows live in its data dataset."""

    offsets_levels: list[np.ndarray]  # list offsets, outermost level first
    starts: np.ndarray
    stops: np.ndarray
    read_all: bool  # the rows cover most of the data: one whole read beats many spans

    def data_spans(self, total: int) -> list[tuple[int, int]]:
        if self.read_all:
            return [(0, total)]
        return _merge_adjacent([(int(a), int(b)) for a, b in zip(self.starts, self.stops) if b > a])


def plan_ragged(
    catalog: Catalog, column: Column, rows: np.ndarray | None, length: int, table_path: str = ""
) -> RaggedPlan:
    """Walk the index chain outermost -> innermost, turning row ids into element spans."""
    current = np.arange(length, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    offsets_levels: list[np.ndarray] = []
    starts = stops = np.empty(0, np.int64)
    for level, index_path in enumerate(column.index_paths):
        index = read_index(catalog, index_path)
        if len(current) and (current.max() >= len(index)):
            raise MalformedFileError("row outside the index", source=catalog.label, path=index_path)
        starts, stops = _bounds(catalog, index_path, current)
        counts = stops - starts
        if np.any(counts < 0):
            raise MalformedFileError("index is not monotonic", source=catalog.label, path=index_path)
        below = _level_length(catalog, column, level)
        if len(stops) and int(stops.max()) > below:
            _warn_past_end(catalog, column, table_path, index_path, int(stops.max()), below)
            starts, stops = np.minimum(starts, below), np.minimum(stops, below)
            counts = stops - starts
        offsets_levels.append(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        if level < len(column.index_paths) - 1:
            current = (
                np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)])
                if len(starts) else np.empty(0, np.int64)
            )
    needed = int((stops - starts).sum()) if len(starts) else 0
    read_all = bool(needed) and needed >= _FULL_READ_SHARE * int(column.meta.shape[0])
    return RaggedPlan(offsets_levels, starts, stops, read_all)


def _level_length(catalog: Catalog, column: Column, level: int) -> int:
    """How many elements the index at `level` points into: the next index's rows, or the
    data's for the innermost level."""
    if level + 1 < len(column.index_paths):
        below = catalog.require(column.index_paths[level + 1]).dataset
        return int(below.shape[0]) if below is not None and below.shape else 0
    return int(column.meta.shape[0]) if column.meta.shape else 0


def _warn_past_end(
    catalog: Catalog, column: Column, table_path: str, index_path: str, end: int, n: int
) -> None:
    """A ragged index pointing past its data (truncated exports do this): read the rows as
    h5py and pynwb slice them - short, or empty past the end - and say so."""
    warnings.warn(
        f"column {column.name!r} of table {table_path or index_path.rsplit('/', 1)[0]} in "
        f"{redact(catalog.label)}: its index {index_path} points to element {end} but there are "
        f"only {n}; rows past the end are read short or empty (as pynwb reads them)",
        stacklevel=4,
    )


def read_ragged(catalog: Catalog, column: Column, plan: RaggedPlan) -> pl.Series:
    backend = catalog.backend
    if plan.read_all:
        data = backend.read(column.data_path)
        flat = (
            np.concatenate([data[a:b] for a, b in zip(plan.starts, plan.stops)])
            if len(plan.starts) else data[:0]
        )
    else:  # spans were read in order, so the concatenation is the rows' values in order
        flat = backend.read_spans(column.data_path, plan.data_spans(int(column.meta.shape[0])))
    series = to_series(column.name, flat, polars_dtype(column.meta))
    return _wrap_lists(column.name, series, plan.offsets_levels)


def _merge_adjacent(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join spans that touch (b == next a) - same elements, fewer reads. Keeps order, so the
    concatenated result equals the per-span concatenation."""
    out: list[list[int]] = []
    for a, b in spans:
        if out and out[-1][1] == a:
            out[-1][1] = b
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]
