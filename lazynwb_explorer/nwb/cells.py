"""Cells of a table's array columns, read in part (their heads) or whole (one cell).

Why: a ragged cell can hold a million spike times and an n-D cell an (82, 384) waveform. A view
of many rows needs each cell's length and first few values; a view of one cell needs all of it.
`read_page` reads, for sorted unique rows of one table:
  round 1 - the scalar columns' rows (table_query.read_table_rows), every VectorIndex not yet
            known, and the rows of small n-D columns, all in one concurrent round;
  round 2 - the first `head` elements of each ragged cell (spans from the indexes); once the
            indexes are known (after the first page) these join round 1.
Big n-D cells (over SMALL_CELL_BYTES) are left out (their shape says enough) and cost nothing.
`read_cell` reads one cell in full, bounded by a number of elements.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl

from ..backends.base import rows_to_spans
from ..catalog import Catalog
from ..sources import Source
from .columns import Column, Table
from .ragged import read_index, row_span
from .table_query import TableRequest, read_table_rows

SMALL_CELL_BYTES = 4096


@dataclasses.dataclass
class RaggedHeads:
    """The start of each row's cell: its length, and the first elements of its first list."""

    counts: np.ndarray  # elements (depth 1) or sub-lists (depth 2+) per row
    leaf_totals: np.ndarray  # elements of the first innermost list per row
    heads: list[np.ndarray]  # up to `head` first leaf elements per row


@dataclasses.dataclass
class Cell:
    """One cell in full (or its first `limit` leaf elements)."""

    values: np.ndarray  # leaf values, flattened in order
    shape: tuple[int, ...] | None  # n-D cells: the per-row shape
    lengths: list[int] | None  # ragged depth 2+: the length of each sub-list (first level)
    total: int  # leaf elements in the cell
    cut: bool  # values hold only the first `limit` of them


def cell_bytes(column: Column) -> int:
    """Bytes of one n-D cell."""
    n = int(np.prod(column.meta.shape[1:], dtype=np.int64))
    return n * (column.meta.dtype.itemsize or 8)


def _data_length(column: Column) -> int:
    return int(column.meta.shape[0]) if column.meta.shape else 0


class _Plan:
    """Where each row's first elements are, walking the index chain (outermost first). An
    index past its data reads its rows short or empty, as table reads do (ragged.py)."""

    def __init__(self, catalog: Catalog, column: Column, rows: np.ndarray, head: int):
        self.counts = np.zeros(len(rows), dtype=np.int64)
        self.leaf_totals = np.zeros(len(rows), dtype=np.int64)
        self.spans: list[tuple[int, int]] = []
        n_data = _data_length(column)
        for i, row in enumerate(rows.tolist()):
            lo, hi = row_span(catalog, column.index_paths[0], row)
            if len(column.index_paths) == 1:
                lo, hi = min(lo, n_data), min(hi, n_data)
            self.counts[i] = max(hi - lo, 0)
            for path in column.index_paths[1:]:  # descend into the first sub-list
                if hi <= lo:
                    break
                lo, hi = row_span(catalog, path, lo)
            lo, hi = min(lo, n_data), min(hi, n_data)
            self.leaf_totals[i] = max(hi - lo, 0)
            self.spans.append((lo, min(hi, lo + head)) if hi > lo else (lo, lo))

    def nonempty(self) -> list[tuple[int, int]]:
        return [s for s in self.spans if s[1] > s[0]]

    def heads(self, catalog: Catalog, column: Column) -> RaggedHeads:
        data = catalog.backend.read_spans(column.data_path, self.nonempty())
        out, at = [], 0
        for a, b in self.spans:
            out.append(data[at : at + (b - a)])
            at += b - a
        return RaggedHeads(self.counts, self.leaf_totals, out)


def read_page(
    source: Source, catalog: Catalog, table: Table, columns: list[str], rows: np.ndarray,
    head: int,
) -> tuple[pl.DataFrame, dict[str, RaggedHeads], dict[str, np.ndarray]]:
    """For sorted unique local `rows`: the scalar columns (with `_table_index`), the heads of
    the ragged columns, and the values of the small n-D columns (rows x cell shape)."""
    rows = np.asarray(rows, dtype=np.int64)
    spans = rows_to_spans(rows)
    picked = [table.columns[c] for c in columns if c in table.columns]
    scalars = [c for c in picked if not c.is_array]
    ragged = [c for c in picked if c.is_ragged]
    small_nd = [c for c in picked if c.is_ndarray and cell_bytes(c) <= SMALL_CELL_BYTES]
    unknown = sorted({p for c in ragged for p in c.index_paths if p not in catalog.small_arrays})
    first = [(c.data_path, spans) for c in scalars + small_nd] + [
        (p, [(0, catalog.require_dataset(p).shape[0])]) for p in unknown
    ]
    backend = catalog.backend
    request = TableRequest(table.path, exact_path=True, columns=[c.name for c in scalars])
    plans = {} if unknown else {c.name: _Plan(catalog, c, rows, head) for c in ragged}
    later = [(table.columns[n].data_path, p.nonempty()) for n, p in plans.items()]
    heads: dict[str, RaggedHeads] = {}
    # with every index known the ragged elements join the first round: one round in all
    with backend.prefetched([r for r in first + later if r[1]] if len(rows) else []):
        frame = read_table_rows(source, request, rows)
        nd_values = {c.name: backend.read(c.data_path, rows) for c in small_nd}
        for path in unknown:
            read_index(catalog, path)
        heads.update({n: p.heads(catalog, table.columns[n]) for n, p in plans.items()})
    if unknown:
        plans = {c.name: _Plan(catalog, c, rows, head) for c in ragged}
        later = [(table.columns[n].data_path, p.nonempty()) for n, p in plans.items()]
        with backend.prefetched([r for r in later if r[1]]):
            heads.update({n: p.heads(catalog, table.columns[n]) for n, p in plans.items()})
    return frame, heads, nd_values


def read_cell(catalog: Catalog, table: Table, column: Column, row: int, limit: int) -> Cell:
    """One cell of a column in full (its first `limit` leaf elements when longer)."""
    if not 0 <= row < table.length:
        raise IndexError(f"row {row} of a {table.length}-row table")
    backend = catalog.backend
    if not column.is_ragged:
        values = np.asarray(backend.read(column.data_path, np.array([row])))[0]
        flat = np.asarray(values).reshape(-1)
        shape = tuple(column.meta.shape[1:]) if column.is_ndarray else None
        return Cell(flat[:limit], shape, None, int(flat.size), flat.size > limit)
    lo, hi = row_span(catalog, column.index_paths[0], row)
    lengths: list[int] | None = None
    for level, path in enumerate(column.index_paths[1:]):  # down to leaf element positions
        if hi <= lo:
            lo, hi = 0, 0
            lengths = [] if level == 0 else lengths
            break
        if level == 0:
            lengths = [int(b - a) for a, b in (row_span(catalog, path, r) for r in range(lo, min(hi, lo + limit)))]
        lo, hi = row_span(catalog, path, lo)[0], row_span(catalog, path, hi - 1)[1]
    n_data = _data_length(column)
    lo, hi = min(lo, n_data), min(hi, n_data)
    total = max(hi - lo, 0)
    stop = lo + min(total, limit)
    values = backend.read_spans(column.data_path, [(lo, stop)] if stop > lo else [])
    return Cell(np.asarray(values).reshape(-1), None, lengths, total, total > limit)
