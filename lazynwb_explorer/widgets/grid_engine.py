"""The grid's query engine: one table over one or many files, paged by row ranges.

Why not `scan_nwb(...).slice()`: polars does not push a slice into an IO source, so every
page would read the whole table. Instead:
  - without filter or sort, global row r maps to (file, local row) through the files' table
    lengths (from metadata), and a page reads exactly its rows;
  - with filters and/or a sort, the surviving (file, row) ids are computed once by reading
    only the filter and sort columns (pushdown through read_table_rows), cached per query,
    and pages are read for the ids they cover.
A file that fails is reported (`file_errors`) and left out; the others still show.
"""

from __future__ import annotations

import dataclasses
import io
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from ..api.frames import unify_dtypes
from ..catalog import open_catalog
from ..errors import LazyNWBError, redact
from ..multifile import Missing, map_sources
from ..nwb.cells import read_cell
from ..nwb.columns import PolarsType
from ..nwb.table_query import (
    INTERNAL_SCHEMA,
    NWB_PATH_COLUMN_NAME,
    TABLE_INDEX_COLUMN_NAME,
    TableRequest,
    read_table_rows,
)
from ..nwb.tables import Table, describe_table, resolve_table_path
from ..sources import Source
from . import grid_query
from .grid_read import cell_reply, read_page

MAX_PAGE_ROWS = 1000
MAX_REPLY_BYTES = 4 * 1024 * 1024  # each page reply stays well under 10 MB
_CACHED_QUERIES = 8
MAX_REGION_ROWS = 10_000  # a region link selects at most this many rows


@dataclasses.dataclass
class FileTable:
    source: Source
    table: Table | None
    error: str | None = None


def _open(source: Source, table_path: str) -> Table:
    catalog = open_catalog(source)
    return describe_table(catalog, resolve_table_path(catalog, table_path, exact_path=True))


class GridEngine:
    """Row-range reads, filters and sorts over `table_path` in `sources`."""

    def __init__(self, sources: Sequence[Source], table_path: str):
        self.table_path = table_path
        self.files: list[FileTable] = []
        for source, result in map_sources(
            list(sources), lambda s: _safe_open(s, table_path), disable_progress=True
        ):
            if isinstance(result, Missing):
                self.files.append(FileTable(source, None, str(result.error)))
            else:
                self.files.append(result)
        if not any(f.table for f in self.files):
            errors = "; ".join(f.error or "" for f in self.files[:3])
            raise LazyNWBError(f"table {table_path!r} could not be read from any file: {errors}")
        self.schema, self.order = self._unify()
        lengths = [f.table.length if f.table else 0 for f in self.files]
        self.starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.multi_file = len(self.files) > 1
        self._ids: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.query_errors: list[str] = []

    @property
    def file_errors(self) -> list[str]:
        return [f"{redact(f.source.label)}: {f.error}" for f in self.files if f.error]

    def _unify(self) -> tuple[dict[str, PolarsType], list[str]]:
        schema: dict[str, PolarsType] = {}
        for f in self.files:
            if f.table is None:
                continue
            for name, dtype in f.table.schema().items():
                common = unify_dtypes(schema[name], dtype) if name in schema else dtype
                schema[name] = common if common is not None else pl.String
        first = next(f for f in self.files if f.table)
        colnames = open_catalog(first.source).get(first.table.path)  # type: ignore[union-attr]
        declared = list(colnames.attrs.get("colnames") or []) if colnames else []
        order = [c for c in ["id", *declared] if c in schema]
        order += [c for c in schema if c not in order]
        return schema, order

    def columns(self) -> list[dict[str, Any]]:
        """What the header shows: name, dtype, kind (scalar | ragged | ndarray), description."""
        described: dict[str, Any] = {}
        for f in self.files:
            if f.table:
                for name, column in f.table.columns.items():
                    described.setdefault(name, column)
        out = []
        for name in self.order:
            column = described[name]
            kind = "ragged" if column.is_ragged else "ndarray" if column.is_ndarray else "scalar"
            out.append({"name": name, "dtype": str(self.schema[name]), "kind": kind,
                        "description": column.description, "target": column.region})
        return out

    def check(self, filters: Sequence[dict]) -> tuple[list[dict], list[dict]]:
        """(the filters that apply, [{index, message}] for each one left out)."""
        return grid_query.checked(filters, {**self.schema, **INTERNAL_SCHEMA})

    # -- queries --------------------------------------------------------------------------

    def ids(self, filters: Sequence[dict], sort: Sequence[dict]) -> tuple[np.ndarray, np.ndarray] | None:
        """(file index, local row) of every row the query keeps, in order; None = all rows."""
        filters, _errors = self.check(filters)
        if not filters and not sort:
            return None
        key = grid_query.query_key(filters, sort)
        if key in self._ids:
            self._ids.move_to_end(key)
            return self._ids[key]
        full = {**self.schema, **INTERNAL_SCHEMA}
        expr = grid_query.predicate(filters, full)
        keys = grid_query.sort_keys(sort, full)
        needed = list(dict.fromkeys(
            [*(expr.meta.root_names() if expr is not None else []), *(k for k, _ in keys)]
        ))
        schema = {n: full[n] for n in needed if n in self.schema} | INTERNAL_SCHEMA
        request = TableRequest(self.table_path, exact_path=True,
                               columns=[k for k, _ in keys if k in self.schema],
                               predicate=expr, schema=schema)
        live = [(i, f) for i, f in enumerate(self.files) if f.table is not None]
        frames, self.query_errors = [], []
        results = map_sources([f.source for _, f in live], lambda s: _safe_rows(s, request),
                              disable_progress=True)
        for (i, _f), (source, frame) in zip(live, results):
            if not isinstance(frame, pl.DataFrame):  # an error's text (_safe_rows catches them all)
                self.query_errors.append(f"{redact(source.label)}: {frame}")
                continue
            frames.append(frame.select([*(k for k, _ in keys), TABLE_INDEX_COLUMN_NAME])
                          .with_columns(pl.lit(i, pl.Int32).alias("__file")))
        if frames:
            kept = grid_query.sorted_frame(pl.concat(frames, how="vertical_relaxed"), keys, full)
            result = (kept["__file"].to_numpy().astype(np.int32),
                      kept[TABLE_INDEX_COLUMN_NAME].to_numpy().astype(np.int64))
        else:
            result = (np.zeros(0, np.int32), np.zeros(0, np.int64))
        self._ids[key] = result
        while len(self._ids) > _CACHED_QUERIES:
            self._ids.popitem(last=False)
        return result

    def total(self, filters: Sequence[dict], sort: Sequence[dict]) -> int:
        ids = self.ids(filters, sort)
        return int(self.starts[-1]) if ids is None else len(ids[0])

    def locate(self, offset: int, filters: Sequence[dict], sort: Sequence[dict]) -> tuple[int, int]:
        """(file index, local row) of display row `offset` of the query."""
        ids = self.ids(filters, sort)
        total = int(self.starts[-1]) if ids is None else len(ids[0])
        if not 0 <= offset < total:
            raise IndexError(f"row {offset} of {total}")
        if ids is not None:
            return int(ids[0][offset]), int(ids[1][offset])
        file = int(np.searchsorted(self.starts, offset, side="right") - 1)
        return file, int(offset - self.starts[file])

    def cell(self, offset: int, column: str, filters: Sequence[dict],
             sort: Sequence[dict]) -> tuple[dict[str, Any], list[bytes]]:
        """Display row `offset`'s cell of `column` in full (grid_read.cell_reply)."""
        file, row = self.locate(offset, filters, sort)
        f = self.files[file]
        if f.table is None or column not in f.table.columns:
            raise LazyNWBError(f"no column {column!r} in this file's table",
                               source=f.source.label, path=self.table_path)
        reply, buffers = cell_reply(open_catalog(f.source), f.table, column, row)
        return {**reply, "offset": offset, "table_index": row}, buffers

    def region_rows(self, offset: int, column: str, filters: Sequence[dict],
                    sort: Sequence[dict]) -> tuple[str, list[int], Source]:
        """(target table, row numbers, file) a DynamicTableRegion cell points to."""
        file, row = self.locate(offset, filters, sort)
        f = self.files[file]
        target = f.table.columns[column].region if f.table and column in f.table.columns else None
        if target is None or f.table is None:
            raise LazyNWBError(f"column {column!r} does not point into another table",
                               source=f.source.label, path=self.table_path)
        cell = read_cell(open_catalog(f.source), f.table, f.table.columns[column], row,
                         MAX_REGION_ROWS)
        return target, sorted({int(v) for v in cell.values.tolist()}), f.source

    def page(self, offset: int, limit: int, filters: Sequence[dict], sort: Sequence[dict],
             columns: Sequence[str] | None = None) -> pl.DataFrame:
        """Display rows [offset, offset + limit) of the query, in order."""
        limit = max(0, min(int(limit), MAX_PAGE_ROWS))
        offset = max(0, int(offset))
        wanted = [c for c in (columns or self.order) if c in self.schema]
        ids = self.ids(filters, sort)
        if ids is None:
            glob = np.arange(offset, min(offset + limit, int(self.starts[-1])), dtype=np.int64)
            files = np.searchsorted(self.starts, glob, side="right") - 1
            local = glob - self.starts[files]
        else:
            files, local = ids[0][offset : offset + limit], ids[1][offset : offset + limit]
        parts = []
        for i in dict.fromkeys(files.tolist()):
            f = self.files[i]
            rows = np.unique(local[files == i])
            part = read_page(f.source, open_catalog(f.source), f.table, wanted, rows)
            part = part.with_columns(pl.lit(i, pl.Int32).alias("__file"))
            if self.multi_file:
                shown = redact(f.source.label)  # what the page shows; the file is read by uri
                part = part.with_columns(pl.lit(shown, pl.String).alias(NWB_PATH_COLUMN_NAME))
            parts.append(part)
        order = pl.DataFrame({"__file": files.astype(np.int32), TABLE_INDEX_COLUMN_NAME: local})
        front = [NWB_PATH_COLUMN_NAME] if self.multi_file else []
        if not parts:
            names = [*front, TABLE_INDEX_COLUMN_NAME, *wanted]
            return pl.DataFrame(schema={n: pl.Int64 if n == TABLE_INDEX_COLUMN_NAME else pl.String
                                        for n in names})
        data = pl.concat(parts, how="diagonal_relaxed")
        out = order.join(data, on=["__file", TABLE_INDEX_COLUMN_NAME], how="left",
                         maintain_order="left").drop("__file")
        names = [*front, TABLE_INDEX_COLUMN_NAME, *[c for c in wanted if c in out.columns]]
        return out.select(names)


def encode_page(frame: pl.DataFrame) -> tuple[bytes, int]:
    """Arrow IPC bytes of the frame (cut in half until under MAX_REPLY_BYTES), rows kept."""
    rows = frame.height
    while True:
        buffer = io.BytesIO()
        frame.head(rows).write_ipc(buffer, compat_level=pl.CompatLevel.oldest())
        data = buffer.getvalue()
        if len(data) <= MAX_REPLY_BYTES or rows <= 1:
            return data, rows
        rows //= 2


def _safe_open(source: Source, table_path: str) -> FileTable:
    try:
        return FileTable(source, _open(source, table_path))
    except LazyNWBError as exc:
        return FileTable(source, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad file must not take the grid down
        return FileTable(source, None, f"{type(exc).__name__}: {exc}")


def _safe_rows(source: Source, request: TableRequest) -> pl.DataFrame | str:
    try:
        return read_table_rows(source, request)
    except LazyNWBError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - reported with the file's name, others still shown
        return f"{type(exc).__name__}: {exc}"
