"""One table from one file: which columns, which rows, predicate first, internal columns.

This is the unit of work that get_df, scan_nwb and the widgets share:
  1. read the predicate's columns (all candidate rows) and evaluate it -> surviving rows;
  2. read the other projected columns for the surviving rows only;
  3. add _nwb_path, _table_path, _table_index, and align to the unified schema.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

import numpy as np
import polars as pl

from ..catalog import Catalog, normalize_path, open_scoped_catalog
from ..errors import ColumnError, SchemaMismatchError
from ..sources import Source
from .columns import PolarsType
from .kinds import TABLE_SHORTCUTS, is_table, table_reads_link
from .tables import Table, describe_table, read_rows, resolve_table_path

NWB_PATH_COLUMN_NAME = "_nwb_path"
TABLE_PATH_COLUMN_NAME = "_table_path"
TABLE_INDEX_COLUMN_NAME = "_table_index"
INTERNAL_COLUMN_NAMES = {NWB_PATH_COLUMN_NAME, TABLE_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME}
INTERNAL_SCHEMA = {
    NWB_PATH_COLUMN_NAME: pl.String,
    TABLE_PATH_COLUMN_NAME: pl.String,
    TABLE_INDEX_COLUMN_NAME: pl.Int64,
}


def table_path_label(path: str) -> str:
    """_table_path as lazynwb writes it: without the leading slash ('intervals/trials')."""
    return path.lstrip("/")


def table_catalog(source: Source, search_term: str) -> Catalog:
    """The catalog a call about one table needs: when the term names a DynamicTable by its
    path or shortcut, only the root, that path's groups and the table are walked (the whole
    file otherwise: part of a path, a close spelling, a one-row group such as /general)."""
    term = str(search_term).strip()
    shortcut = TABLE_SHORTCUTS.get(term.strip("/"))
    candidates = [normalize_path(term)] + ([shortcut] if shortcut else [])

    def names_a_table(catalog: Catalog) -> bool:  # the path resolve_table_path will take
        for path in candidates:
            node = catalog.get(path)
            if node is not None and node.is_group:
                return is_table(catalog, path)
        return False

    return open_scoped_catalog(source, candidates, names_a_table, follows=table_reads_link)


def open_table(source: Source, search_term: str, exact_path: bool = False) -> Table:
    catalog = table_catalog(source, search_term)
    return describe_table(catalog, resolve_table_path(catalog, search_term, exact_path))


@dataclasses.dataclass
class TableRequest:
    """What to read from each file's table."""

    search_term: str
    exact_path: bool = False
    columns: Sequence[str] | None = None  # None: all (subject to exclude_array_columns)
    exclude_array_columns: bool = False
    predicate: pl.Expr | None = None
    n_rows: int | None = None
    schema: dict[str, PolarsType] | None = None  # align the result to this (unified) schema


def choose_columns(
    table: Table,
    include: Sequence[str] | None,
    exclude: Sequence[str] | None = None,
    exclude_array_columns: bool = False,
) -> list[str]:
    """lazynwb's rules: named columns are always read; otherwise array columns only when not
    excluded. Internal names are allowed in `include` and ignored here."""
    exclude_set = set(exclude or ())
    if include is not None:
        return [c for c in table.columns if c in set(include) and c not in exclude_set]
    return [
        name
        for name, column in table.columns.items()
        if name not in exclude_set and not (exclude_array_columns and column.is_array)
    ]


def read_table_rows(
    source: Source, request: TableRequest, rows: np.ndarray | None = None, table: Table | None = None
) -> pl.DataFrame:
    """The request's columns for `rows` (None = all) of one file's table, filtered. Pass
    `table` when the caller has already described it (saves describing it again)."""
    catalog = table_catalog(source, request.search_term)
    if table is None:
        table = describe_table(
            catalog, resolve_table_path(catalog, request.search_term, request.exact_path)
        )
    wanted = choose_columns(table, request.columns, None, request.exclude_array_columns)
    if rows is not None:  # in the order given, repeats kept (the caller built the list)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if len(rows) and (rows.min() < 0 or rows.max() >= table.length):
            raise ColumnError(
                f"row index out of range (table has {table.length} rows)", source=source.label, path=table.path
            )
    frame: pl.DataFrame | None = None
    if request.predicate is not None:
        needed = predicate_columns(request.predicate, table.columns)
        probe = _read_in_order(catalog, table, needed, rows)  # first: the columns' declared
        candidates = np.arange(table.length, dtype=np.int64) if rows is None else rows  # sizes
        probe = with_internal(probe, source, table, candidates)  # are checked before this
        # the predicate was written for the unified types (a Boolean column of one file may
        # be Int8 across files): evaluate it on those
        probe = align(probe, request.schema, source.label, table.path, keep_others=True)
        keep = probe.with_row_index("__pos").filter(request.predicate)
        positions = keep["__pos"].to_numpy()
        rows = candidates[positions]
        frame = keep.drop("__pos").select(needed)
    if request.n_rows is not None:
        rows = np.arange(min(table.length, request.n_rows), dtype=np.int64) if rows is None else rows[: request.n_rows]
        if frame is not None:
            frame = frame.head(request.n_rows)
    done = set(frame.columns) if frame is not None else set()
    rest = _read_in_order(catalog, table, [c for c in wanted if c not in done], rows)
    if frame is not None:
        rest = pl.concat([rest, frame], how="horizontal") if rest.width else frame
    rest = rest.select([c for c in table.columns if c in rest.columns and (c in wanted or c in done)])
    index = np.arange(table.length, dtype=np.int64) if rows is None else rows
    out = with_internal(rest, source, table, index)
    return align(out, request.schema, source.label, table.path)


def _read_in_order(
    catalog: Catalog, table: Table, names: Sequence[str], rows: np.ndarray | None
) -> pl.DataFrame:
    """read_rows for rows in any order, repeats included: each distinct row is read once
    (in file order, the cheap way), then the rows are put in the order asked."""
    if rows is None or len(rows) < 2 or bool(np.all(np.diff(rows) > 0)):
        return read_rows(catalog, table, names, rows)
    distinct, where = np.unique(rows, return_inverse=True)
    frame = read_rows(catalog, table, names, distinct)
    return frame[where.reshape(-1)] if frame.width else frame


def predicate_columns(predicate: pl.Expr, available: Collection[str]) -> list[str]:
    """The columns a predicate reads, each once, in first-use order (`root_names` repeats a
    column the predicate names twice, as any window `(c > a) & (c < b)` does)."""
    return [c for c in dict.fromkeys(predicate.meta.root_names()) if c in available]


def with_internal(frame: pl.DataFrame, source: Source, table: Table, rows: np.ndarray) -> pl.DataFrame:
    """`frame` (possibly without columns) plus _nwb_path, _table_path, _table_index for `rows`."""
    internal = pl.DataFrame(
        {
            NWB_PATH_COLUMN_NAME: pl.Series([source.label], dtype=pl.String).new_from_index(0, len(rows)),
            TABLE_PATH_COLUMN_NAME: pl.Series([table_path_label(table.path)], dtype=pl.String)
            .new_from_index(0, len(rows)),
            TABLE_INDEX_COLUMN_NAME: pl.Series(rows, dtype=pl.Int64),
        }
    )
    return frame.hstack(internal.get_columns()) if frame.width else internal


def align(
    frame: pl.DataFrame,
    schema: dict[str, PolarsType] | None,
    label: str,
    table_path: str,
    keep_others: bool = False,
) -> pl.DataFrame:
    """Cast to the unified schema and add missing columns as nulls (a file without a column
    still contributes rows). With keep_others, columns outside the schema stay too."""
    if schema is None:
        return frame
    exprs = []
    for name, dtype in schema.items():
        if name in frame.columns:
            if frame.schema[name] != dtype:
                try:
                    exprs.append(pl.col(name).cast(dtype, strict=True))
                except Exception as exc:  # noqa: BLE001
                    raise SchemaMismatchError(
                        f"column {name!r} is {frame.schema[name]} here, {dtype} elsewhere",
                        source=label,
                        path=table_path,
                    ) from exc
                continue
            exprs.append(pl.col(name))
        else:
            exprs.append(pl.lit(None, dtype).alias(name))
    try:
        return frame.with_columns(exprs) if keep_others else frame.select(exprs)
    except pl.exceptions.PolarsError as exc:
        raise SchemaMismatchError(
            f"cannot align to the common schema: {exc}", source=label, path=table_path
        ) from exc
