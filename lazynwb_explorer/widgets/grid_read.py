"""One page of one file's table, as the grid shows it: scalars as values, arrays as previews.

Why not read whole cells: a ragged cell can hold a million spike times and an n-D cell a
(82, 384) waveform; the grid shows a length and the first few values. So a page reads:
  round 1 - the scalar columns' rows (through nwb/table_query.read_table_rows), every VectorIndex
            not yet known, and the rows of small n-D columns, all in one concurrent round;
  round 2 - the first few elements of each ragged cell (spans computed from the indexes);
            once the indexes are known (after the first page) these join round 1.
Big n-D cells (over SMALL_CELL_BYTES) show their shape only and cost nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ..backends.base import rows_to_spans
from ..catalog import Catalog
from ..nwb.columns import Column, Table
from ..nwb.ragged import read_index, row_span
from ..nwb.table_query import TABLE_INDEX_COLUMN_NAME, TableRequest, read_table_rows
from ..sources import Source

PREVIEW_ITEMS = 6
PREVIEW_CHARS = 120
TEXT_CHARS = 500
SMALL_CELL_BYTES = 4096


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    if isinstance(value, bytes):
        return value[:20].hex()
    if isinstance(value, np.void):
        return "(" + ", ".join(_fmt(v) for v in value.tolist()) + ")"
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)


def preview(values: np.ndarray, total: int) -> str:
    """'0.1, 0.2, 0.3, …' from the first values of a cell holding `total` elements."""
    flat = list(values.reshape(-1)[:PREVIEW_ITEMS]) if values.ndim else [values[()]]
    text = ", ".join(_fmt(v) for v in flat) + (", …" if total > len(flat) else "")
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _cell_bytes(column: Column) -> int:
    n = int(np.prod(column.meta.shape[1:], dtype=np.int64))
    return n * (column.meta.dtype.itemsize or 8)


class _Ragged:
    """Where each row's first elements are, walking the index chain (outermost first)."""

    def __init__(self, catalog: Catalog, column: Column, rows: np.ndarray):
        self.counts = np.zeros(len(rows), dtype=np.int64)
        self.spans: list[tuple[int, int]] = []
        self.leaf_totals = np.zeros(len(rows), dtype=np.int64)
        n_data = int(column.meta.shape[0]) if column.meta.shape else 0
        for i, row in enumerate(rows.tolist()):
            lo, hi = row_span(catalog, column.index_paths[0], row)
            if len(column.index_paths) == 1:  # an index past its data: rows read short
                lo, hi = min(lo, n_data), min(hi, n_data)
            self.counts[i] = max(hi - lo, 0)
            for path in column.index_paths[1:]:  # descend into the first sub-list
                if hi <= lo:
                    break
                lo, hi = row_span(catalog, path, lo)
            lo, hi = min(lo, n_data), min(hi, n_data)
            self.leaf_totals[i] = max(hi - lo, 0)
            self.spans.append((lo, min(hi, lo + PREVIEW_ITEMS)) if hi > lo else (lo, lo))

    def texts(self, data: np.ndarray, depth: int) -> list[str]:
        out, at = [], 0
        for count, (a, b), total in zip(self.counts.tolist(), self.spans, self.leaf_totals.tolist()):
            values = data[at : at + (b - a)]
            at += b - a
            if depth == 1:
                out.append(f"[{count}] {preview(values, total)}" if count else "[0]")
            else:
                first = f"[{preview(values, total)}]" if count else ""
                out.append(f"[{count} lists] {first}{', …' if count > 1 else ''}".rstrip())
        return out


def read_page(
    source: Source, catalog: Catalog, table: Table, columns: list[str], rows: np.ndarray
) -> pl.DataFrame:
    """Display values of `columns` for sorted unique local `rows`, plus `_table_index`."""
    rows = np.asarray(rows, dtype=np.int64)
    spans = rows_to_spans(rows)
    picked = [table.columns[c] for c in columns if c in table.columns]
    scalars = [c for c in picked if not c.is_array]
    ragged = [c for c in picked if c.is_ragged]
    small_nd = [c for c in picked if c.is_ndarray and _cell_bytes(c) <= SMALL_CELL_BYTES]
    unknown = sorted({p for c in ragged for p in c.index_paths if p not in catalog.small_arrays})
    first = [(c.data_path, spans) for c in scalars + small_nd] + [
        (p, [(0, catalog.require(p).dataset.shape[0])]) for p in unknown  # type: ignore[union-attr]
    ]
    backend = catalog.backend
    request = TableRequest(table.path, exact_path=True, columns=[c.name for c in scalars])
    plans = {} if unknown else {c.name: _Ragged(catalog, c, rows) for c in ragged}
    texts: dict[str, list[str]] = {}
    # with every index known the ragged elements join the first round: one round in all
    with backend.prefetched([r for r in first + _spans(table, plans) if r[1]] if len(rows) else []):
        frame = read_table_rows(source, request, rows)
        nd_values = {c.name: backend.read(c.data_path, rows) for c in small_nd}
        for path in unknown:
            read_index(catalog, path)
        texts.update(_ragged_texts(catalog, table, plans))
    if unknown:
        plans = {c.name: _Ragged(catalog, c, rows) for c in ragged}
        with backend.prefetched([r for r in _spans(table, plans) if r[1]]):
            texts.update(_ragged_texts(catalog, table, plans))
    for column in picked:
        if column.is_ndarray:
            shape = "(" + ", ".join(str(s) for s in column.meta.shape[1:]) + ")"
            label = f"{shape} {column.meta.dtype}"
            if column.name in nd_values:
                values = nd_values[column.name]
                size = int(np.prod(column.meta.shape[1:]))
                texts[column.name] = [f"{label}: {preview(v, size)}" for v in values]
            else:
                texts[column.name] = [label] * len(rows)
    out = frame.select([c for c in frame.columns if c in {s.name for s in scalars}
                        or c == TABLE_INDEX_COLUMN_NAME])
    extra = [pl.Series(name, values, dtype=pl.String) for name, values in texts.items()]
    out = out.with_columns(extra) if extra else out
    return display_scalars(out)


def _spans(table: Table, plans: dict[str, _Ragged]) -> list[tuple[str, list[tuple[int, int]]]]:
    return [(table.columns[n].data_path, [s for s in p.spans if s[1] > s[0]]) for n, p in plans.items()]


def _ragged_texts(catalog: Catalog, table: Table, plans: dict[str, _Ragged]) -> dict[str, list[str]]:
    out = {}
    for name, plan in plans.items():
        column = table.columns[name]
        data = catalog.backend.read_spans(column.data_path, [s for s in plan.spans if s[1] > s[0]])
        out[name] = plan.texts(data, len(column.index_paths))
    return out


def display_scalars(frame: pl.DataFrame) -> pl.DataFrame:
    """Types the browser can show: structs / binary / objects become text, long text is cut."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.String:
            exprs.append(
                pl.when(col.str.len_chars() > TEXT_CHARS)
                .then(col.str.slice(0, TEXT_CHARS - 1) + "…").otherwise(col).alias(name)
            )
        elif isinstance(dtype, pl.Struct):
            exprs.append(col.struct.json_encode().alias(name))
        elif dtype == pl.Binary:
            exprs.append(col.bin.encode("hex").str.slice(0, 40).alias(name))
        elif dtype.is_numeric() or dtype == pl.Boolean:
            exprs.append(col)
        else:
            exprs.append(col.cast(pl.String).alias(name))
    return frame.select(exprs) if exprs else frame
