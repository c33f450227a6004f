"""NWB DynamicTables: found by path or name, described from the catalog (columns.py says
what a column is), read row-selectively into polars.

Reading rows takes one or two concurrent rounds whatever the number of columns: the flat
columns' rows and every ragged index not yet known, then the ragged columns' data spans
(ragged.py). A one-row group (the session, /general/subject: one_row.py) is a table of
one row; any other group without columns is no table, and says so.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl

from ..backends.base import DatasetMeta, Node, refuse_outside, rows_to_spans
from ..catalog import Catalog, normalize_path
from ..errors import InternalPathError, MalformedFileError, get_logger, redact
from .columns import Column, Table, polars_dtype, to_series
from .kinds import TABLE_SHORTCUTS, is_series, is_table
from .one_row import one_row_fields, one_row_table, read_whole
from .ragged import plan_ragged, read_index, read_ragged

logger = get_logger(__name__)


# -- finding a table ----------------------------------------------------------------------


def resolve_table_path(catalog: Catalog, search_term: str, exact_path: bool = False) -> str:
    """A table path from an exact path, a shortcut (units, trials, ...) or, unless
    exact_path, part of a path or a close spelling (as lazynwb's get_df: with a warning when
    the term is not part of the path used)."""
    term = str(search_term).strip()
    shortcut = TABLE_SHORTCUTS.get(term.strip("/"))
    candidates = [normalize_path(term)] + ([shortcut] if shortcut else [])
    for path in candidates:
        node = catalog.get(path)
        if node is not None and node.is_group:
            return path
    tables = [p for p, n in catalog.nodes.items() if n.is_group and (
        is_table(catalog, p) or is_series(catalog, p))]
    not_found = InternalPathError(
        f"table {search_term!r} not found; tables in this file: {sorted(tables)}",
        source=catalog.label,
        path=normalize_path(term),
    )
    if exact_path:
        raise not_found
    needle = term.strip("/").lower()
    ends = [p for p in tables if p.lower().endswith("/" + needle)]
    contains = [p for p in tables if needle in p.lower()]
    matches = ends or contains
    if not matches:
        matches = difflib.get_close_matches(normalize_path(term), tables, n=3, cutoff=0.5)
        if matches:
            warnings.warn(
                f"no table {search_term!r} in {redact(catalog.label)}: using {matches[0]!r}, "
                f"the closest spelling (pass exact_path=True to refuse)",
                stacklevel=3,
            )
    if not matches:
        raise not_found
    if len(matches) > 1:
        warnings.warn(
            f"{search_term!r} matches several paths in {redact(catalog.label)}: {matches}; using {matches[0]!r}",
            stacklevel=3,
        )
    elif matches[0] != normalize_path(term):
        logger.info("using %r for %r in %s", matches[0], search_term, redact(catalog.label))
    return matches[0]


# -- describing a table -------------------------------------------------------------------


def _what(node: Node) -> str:
    kind = node.neurodata_type
    return f"a {kind} group" if kind else "a group"


def describe_table(catalog: Catalog, table_path: str) -> Table:
    """A table's columns and length from metadata only. Misaligned columns are skipped
    with a warning that names them. A group that is neither a table, a time series nor a
    one-row metadata group (a Device, an ImagingPlane, a ProcessingModule) raises
    InternalPathError naming the path and what it is."""
    table_path = normalize_path(table_path)
    node = catalog.require(table_path)
    if not node.is_group:
        raise InternalPathError("not a table (a dataset)", source=catalog.label, path=table_path)
    fields = one_row_fields(catalog, table_path)
    if fields is not None:
        return one_row_table(catalog, table_path, fields)
    children = catalog.children(table_path)
    datasets = {
        child.path.rsplit("/", 1)[1]: child
        for child in children
        if child.is_dataset and child.dataset is not None
    }
    for child in children:
        if child.outside and child.dataset is None:  # a link out of the file: never followed
            refusal = refuse_outside(redact(catalog.label), child.path, child.outside, catalog.source.is_remote)
            warnings.warn(f"column {child.path.rsplit('/', 1)[1]!r} skipped: {refusal}", stacklevel=3)
    index_of: dict[str, str] = {}  # target name -> index name
    for name, child in datasets.items():
        if child.neurodata_type == "VectorIndex" or (
            name.endswith("_index") and name.removesuffix("_index") in datasets
        ):
            target = child.attr("target")
            target_name = target.rsplit("/", 1)[-1] if isinstance(target, str) else name.removesuffix("_index")
            index_of[target_name] = name
    index_names = set(index_of.values())
    columns: dict[str, Column] = {}
    for name, child in datasets.items():
        if name in index_names:
            continue
        chain = []
        inner = name
        while inner in index_of:
            inner = index_of[inner]
            chain.append(f"{table_path}/{inner}")
        assert child.dataset is not None
        if not child.dataset.shape:
            continue  # a scalar dataset is not a column
        columns[name] = Column(
            name=name,
            data_path=child.path,
            meta=child.dataset,
            index_paths=tuple(reversed(chain)),
            description=str(child.attr("description", "")),
            neurodata_type=child.neurodata_type,
            region=_region_target(catalog, child.neurodata_type, child.attr("table")),
        )
    length = _table_length(catalog, table_path, columns)
    start = datasets.get("starting_time")
    rate = start.attr("rate") if start is not None else None
    if start is not None and "data" in columns and "timestamps" not in columns and isinstance(rate, int | float) and rate > 0:
        # a TimeSeries sampled at a rate: its timestamps, computed as lazynwb does
        columns["timestamps"] = Column(
            name="timestamps",
            data_path=start.path,
            meta=DatasetMeta(shape=(length,), dtype=np.dtype("float64")),
            description="starting_time + sample index / rate",
            rate=float(rate),
        )
    for name in list(columns):
        column = columns[name]
        outer = catalog.get(column.index_paths[0]) if column.index_paths else None
        n = (outer.dataset.shape[0] if outer and outer.dataset else column.meta.shape[0])
        if n != length:
            warnings.warn(
                f"column {name!r} of {table_path} in {redact(catalog.label)} has {n} rows, the table "
                f"has {length}: skipped",
                stacklevel=3,
            )
            del columns[name]
    if not columns and "colnames" not in node.attrs:
        raise InternalPathError(
            f"not a table: {_what(node)} with no table columns (children: "
            f"{sorted(node.children)[:10]})", source=catalog.label, path=table_path,
        )
    return Table(catalog.label, table_path, length, dict(sorted(columns.items())))


def _region_target(catalog: Catalog, neurodata_type: str | None, target: object) -> str | None:
    """The table a DynamicTableRegion points into, when it is in this file."""
    if neurodata_type != "DynamicTableRegion" or not isinstance(target, str):
        return None
    path = normalize_path(target)
    return path if is_table(catalog, path) else None


def _table_length(catalog: Catalog, table_path: str, columns: dict[str, Column]) -> int:
    if "id" in columns:
        return columns["id"].meta.shape[0]
    lengths = []
    for column in columns.values():
        if column.index_paths:
            outer = catalog.get(column.index_paths[0])
            if outer and outer.dataset:
                lengths.append(outer.dataset.shape[0])
        else:
            lengths.append(column.meta.shape[0])
    if not lengths:
        return 0
    return max(set(lengths), key=lengths.count)  # the length most columns agree on


# -- reading ------------------------------------------------------------------------------


def _read_flat(catalog: Catalog, column: Column, rows: np.ndarray | None) -> pl.Series:
    if column.whole:
        return read_whole(catalog, column, rows)
    if column.rate is not None:
        start = float(np.asarray(catalog.backend.read(column.data_path)).reshape(-1)[0])
        index = np.arange(column.meta.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
        return pl.Series(column.name, start + index / column.rate, dtype=pl.Float64)
    if rows is not None and len(rows) == 0:
        values = catalog.backend.read_spans(column.data_path, [])
    else:
        values = catalog.backend.read(column.data_path, rows)
    return to_series(column.name, values, polars_dtype(column.meta))


def read_column(catalog: Catalog, column: Column, rows: np.ndarray | None, length: int) -> pl.Series:
    """One column's values for the given rows (None = all), as a polars Series."""
    if not column.index_paths:
        return _read_flat(catalog, column, rows)
    return read_ragged(catalog, column, plan_ragged(catalog, column, rows, length))


def _data_round(table: Table, plans: dict) -> list[tuple[str, list[tuple[int, int]]]]:
    """The data spans of ragged columns, for one prefetch."""
    return [
        (table.columns[name].data_path, plan.data_spans(int(table.columns[name].meta.shape[0])))
        for name, plan in plans.items()
    ]


def read_rows(
    catalog: Catalog,
    table: Table,
    column_names: Sequence[str],
    rows: np.ndarray | None,
) -> pl.DataFrame:
    """The named columns for the given rows (None = all), in the order asked. With no names,
    an empty frame (width 0): callers add the internal columns for the row count.

    Remote reads take two concurrent rounds whatever the number of columns: first the flat
    columns' rows and every index not yet known, then the ragged columns' data spans; one
    round when every index is already known."""
    n = table.length if rows is None else len(rows)
    columns = [table.columns[name] for name in column_names]
    spans = [(0, table.length)] if rows is None else rows_to_spans(rows)
    unknown_indexes = {
        path for c in columns for path in c.index_paths if path not in catalog.small_arrays
    }
    first_round = [
        (c.data_path, [(0, c.meta.shape[0])] if c.whole else spans)
        for c in columns if not c.index_paths and c.rate is None and (c.meta.shape or not c.whole)
    ] + [
        (path, [(0, catalog.require_dataset(path).shape[0])]) for path in sorted(unknown_indexes)
    ]
    data: dict[str, pl.Series] = {}
    ragged = [c for c in columns if c.index_paths]
    if not unknown_indexes:  # indexes known (e.g. from a stored catalog): one round for all
        plans = {c.name: plan_ragged(catalog, c, rows, table.length, table.path) for c in ragged}
        first_round += _data_round(table, plans)
    with catalog.backend.prefetched(first_round):
        for column in columns:
            if not column.index_paths:
                data[column.name] = _read_flat(catalog, column, rows)
        for path in unknown_indexes:
            read_index(catalog, path)
        if not unknown_indexes:
            for name, plan in plans.items():
                data[name] = read_ragged(catalog, table.columns[name], plan)
    if unknown_indexes:
        plans = {c.name: plan_ragged(catalog, c, rows, table.length, table.path) for c in ragged}
        with catalog.backend.prefetched(_data_round(table, plans)):
            for name, plan in plans.items():
                data[name] = read_ragged(catalog, table.columns[name], plan)
    for name, series in data.items():
        if len(series) != n:
            raise MalformedFileError(
                f"column {name!r} gave {len(series)} rows, expected {n}",
                source=catalog.label,
                path=table.path,
            )
    ordered = {name: data[name] for name in column_names}
    return pl.DataFrame(ordered) if ordered else pl.DataFrame()
