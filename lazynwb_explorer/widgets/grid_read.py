"""One page of one file's table, as the grid shows it: scalars as values, arrays as previews;
and one cell in full, for the grid's cell view.

Why previews: a ragged cell can hold a million spike times; the grid shows its length and its
first values (read by nwb/cells.py: heads of ragged cells, small n-D cells, in one or two
rounds). Numbers are written at full precision (the shortest text that reads back as the same
value), so 1498.92 and 1498.96 never both show as "1499".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ..catalog import Catalog
from ..nwb import cells
from ..nwb.columns import Table
from ..nwb.table_query import TABLE_INDEX_COLUMN_NAME
from ..sources import Source

PREVIEW_ITEMS = 6
PREVIEW_CHARS = 160
TEXT_CHARS = 500
CELL_VALUES = 100_000  # a cell view shows at most this many values


def fmt(value: Any) -> str:
    """A value as text, numbers at full precision (numpy's shortest round-trip repr)."""
    if isinstance(value, np.floating | np.integer | np.bool_):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return value[:20].hex()
    if isinstance(value, np.void):
        return "(" + ", ".join(fmt(v) for v in value.tolist()) + ")"
    if isinstance(value, tuple):
        return "(" + ", ".join(fmt(v) for v in value) + ")"
    return str(value)


def preview(values: np.ndarray, total: int) -> str:
    """'0.1, 0.2, 0.3, …' from the first values of a cell holding `total` elements."""
    flat = list(values.reshape(-1)[:PREVIEW_ITEMS]) if values.ndim else [values[()]]
    text = ", ".join(fmt(v) for v in flat) + (", …" if total > len(flat) else "")
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def ragged_texts(heads: cells.RaggedHeads, depth: int) -> list[str]:
    out = []
    for count, values, total in zip(heads.counts.tolist(), heads.heads, heads.leaf_totals.tolist()):
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
    frame, heads, nd_values = cells.read_page(source, catalog, table, columns, rows,
                                              PREVIEW_ITEMS)
    picked = [table.columns[c] for c in columns if c in table.columns]
    texts: dict[str, list[str]] = {
        name: ragged_texts(h, len(table.columns[name].index_paths)) for name, h in heads.items()
    }
    for column in picked:
        if column.is_ndarray:
            shape = "(" + ", ".join(str(s) for s in column.meta.shape[1:]) + ")"
            label = f"{shape} {column.meta.dtype}"
            if column.name in nd_values:
                size = int(np.prod(column.meta.shape[1:]))
                texts[column.name] = [f"{label}: {preview(v, size)}" for v in nd_values[column.name]]
            else:
                texts[column.name] = [label] * len(rows)
    scalars = {c.name for c in picked if not c.is_array}
    out = frame.select([c for c in frame.columns if c in scalars or c == TABLE_INDEX_COLUMN_NAME])
    extra = [pl.Series(name, values, dtype=pl.String) for name, values in texts.items()]
    out = out.with_columns(extra) if extra else out
    return display_scalars(out)


def cell_reply(catalog: Catalog, table: Table, name: str, row: int) -> tuple[dict[str, Any], list[bytes]]:
    """One cell in full: text of every value (or the first CELL_VALUES), its shape or list
    lengths, and the values as float64 (for a sparkline or histogram) when numeric."""
    column = table.columns[name]
    if not column.is_array:
        value = cells.read_cell(catalog, table, column, row, 1).values
        return {"column": name, "row": row, "total": 1, "text": fmt(value[0]) if len(value) else "",
                "numeric": False}, []
    cell = cells.read_cell(catalog, table, column, row, CELL_VALUES)
    values = cell.values
    numeric = values.dtype.kind in "iufb"
    reply = {"column": name, "row": row, "total": cell.total, "cut": cell.cut,
             "shape": list(cell.shape) if cell.shape else None, "lengths": cell.lengths,
             "dtype": str(column.meta.dtype), "numeric": numeric,
             "sorted": bool(numeric and len(values) > 1 and (np.diff(values) >= 0).all()),
             "text": ", ".join(fmt(v) for v in values)}
    buffers = [np.ascontiguousarray(values, "<f8").tobytes()] if numeric else []
    return reply, buffers


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
