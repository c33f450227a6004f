"""NWB DynamicTables: columns described from the catalog, read row-selectively into polars.

Column kinds (all from metadata, no data read):
  scalar   one value per row (numbers, bools, strings, object references as paths)
  ndarray  a fixed-shape array per row (waveform_mean) -> polars Array
  ragged   VectorData + VectorIndex (spike_times) -> polars List; doubly ragged -> List(List)
A DynamicTableRegion is a scalar or ragged column of row numbers into another table.

Reading rows of a ragged column reads its index (small, kept per open file), then only the
data spans of the selected rows, in one round.
"""

from __future__ import annotations

import dataclasses
import difflib
import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from ..backends.base import DatasetMeta, rows_to_spans
from ..catalog import Catalog, normalize_path
from ..errors import InternalPathError, MalformedFileError, get_logger, redact
from .kinds import TABLE_SHORTCUTS, is_series, is_table

logger = get_logger(__name__)

# Read the whole ragged data when the selected rows cover at least this share of it.
_FULL_READ_SHARE = 0.5


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    data_path: str
    meta: DatasetMeta
    index_paths: tuple[str, ...] = ()  # outermost first (X_index_index, X_index)
    description: str = ""
    neurodata_type: str | None = None
    rate: float | None = None  # timestamps computed as starting_time (data_path) + row / rate

    @property
    def is_ragged(self) -> bool:
        return bool(self.index_paths)

    @property
    def is_ndarray(self) -> bool:
        return not self.index_paths and len(self.meta.shape) > 1

    @property
    def is_array(self) -> bool:
        """lazynwb's 'array column': ragged or multi-dimensional per row."""
        return self.is_ragged or self.is_ndarray

    @property
    def dtype(self) -> pl.DataType:
        inner = polars_dtype(self.meta)
        if len(self.meta.shape) > 1:
            inner = pl.Array(inner, self.meta.shape[1:])
        for _ in self.index_paths:
            inner = pl.List(inner)
        return inner


@dataclasses.dataclass(frozen=True)
class Table:
    source_label: str
    path: str
    length: int
    columns: dict[str, Column]

    def schema(self, exclude_array_columns: bool = False) -> dict[str, pl.DataType]:
        return {
            n: c.dtype for n, c in self.columns.items() if not (exclude_array_columns and c.is_array)
        }


def polars_dtype(meta: DatasetMeta) -> pl.DataType:
    """The polars type of one element of a dataset (before ragged / n-D wrapping)."""
    if meta.is_string or meta.is_reference:
        return pl.String
    dtype = meta.dtype
    if dtype.names:
        return pl.Struct(
            {name: polars_dtype(DatasetMeta((), dtype.fields[name][0])) for name in dtype.names}
        )
    if dtype.kind == "O":
        return pl.String
    if dtype.kind in "SU":
        return pl.String
    if dtype.kind == "V":  # opaque bytes
        return pl.Binary
    return pl.Series(np.empty(0, dtype=dtype)).dtype


# -- finding a table ----------------------------------------------------------------------


def resolve_table_path(catalog: Catalog, search_term: str, exact_path: bool = False) -> str:
    """A table path from an exact path, a shortcut (units, trials, ...) or part of a path."""
    term = str(search_term).strip()
    shortcut = TABLE_SHORTCUTS.get(term.strip("/"))
    candidates = [normalize_path(term)] + ([shortcut] if shortcut else [])
    for path in candidates:
        node = catalog.get(path)
        if node is not None and node.is_group:
            return path
    if exact_path:
        raise InternalPathError("table not found", source=catalog.label, path=normalize_path(term))
    tables = [p for p, n in catalog.nodes.items() if n.is_group and (
        is_table(catalog, p) or is_series(catalog, p))]
    needle = term.strip("/").lower()
    ends = [p for p in tables if p.lower().endswith("/" + needle)]
    contains = [p for p in tables if needle in p.lower()]
    matches = ends or contains or difflib.get_close_matches(normalize_path(term), tables, n=3, cutoff=0.5)
    if not matches:
        raise InternalPathError(
            f"table {search_term!r} not found; tables in this file: {sorted(tables)}",
            source=catalog.label,
            path=normalize_path(term),
        )
    if len(matches) > 1:
        warnings.warn(
            f"{search_term!r} matches several paths in {redact(catalog.label)}: {matches}; using {matches[0]!r}",
            stacklevel=3,
        )
    elif matches[0] != normalize_path(term):
        logger.info("using %r for %r in %s", matches[0], search_term, redact(catalog.label))
    return matches[0]


# -- describing a table -------------------------------------------------------------------


def describe_table(catalog: Catalog, table_path: str) -> Table:
    """A table's columns and length from metadata only. Misaligned columns are skipped
    with a warning that names them."""
    table_path = normalize_path(table_path)
    node = catalog.require(table_path)
    if not node.is_group:
        raise InternalPathError("not a table (a dataset)", source=catalog.label, path=table_path)
    datasets = {
        child.path.rsplit("/", 1)[1]: child
        for child in catalog.children(table_path)
        if child.is_dataset and child.dataset is not None
    }
    index_of: dict[str, str] = {}  # target name -> index name
    for name, child in datasets.items():
        if child.neurodata_type == "VectorIndex" or (
            name.endswith("_index") and name.removesuffix("_index") in datasets
        ):
            target = child.attrs.get("target")
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
            description=str(child.attrs.get("description", "")),
            neurodata_type=child.neurodata_type,
        )
    length = _table_length(catalog, table_path, columns)
    start = datasets.get("starting_time")
    rate = start.attrs.get("rate") if start is not None else None
    if "data" in columns and "timestamps" not in columns and isinstance(rate, int | float) and rate > 0:
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
    return Table(catalog.label, table_path, length, dict(sorted(columns.items())))


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


def read_index(catalog: Catalog, path: str) -> np.ndarray:
    """A VectorIndex, read once per open file (they are small: one integer per row)."""
    store = catalog.small_arrays
    if path not in store:
        store[path] = np.asarray(catalog.backend.read(path), dtype=np.int64)
    return store[path]


def _bounds(index: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    stops = index[rows]
    starts = np.where(rows > 0, index[np.maximum(rows - 1, 0)], 0)
    return starts, stops


def _to_series(name: str, values: np.ndarray, dtype: pl.DataType) -> pl.Series:
    if isinstance(dtype, pl.Struct):
        frame = pl.DataFrame({f: _to_series(f, values[f], t) for f, t in dtype.to_schema().items()})
        return frame.to_struct(name)
    if values.dtype == object:
        return pl.Series(name, values.tolist(), dtype=dtype)
    if values.ndim > 1:
        return pl.Series(name, values, dtype=pl.Array(_leaf(dtype), values.shape[1:]))
    return pl.Series(name, values, dtype=dtype)


def _leaf(dtype: pl.DataType) -> pl.DataType:
    while isinstance(dtype, pl.Array | pl.List):
        dtype = dtype.inner
    return dtype


def _wrap_lists(name: str, flat: pl.Series, offsets_levels: list[np.ndarray]) -> pl.Series:
    """Build List(...(flat)) from offsets, innermost level last in offsets_levels."""
    values = flat.to_arrow()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    for offsets in reversed(offsets_levels):
        values = pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), values)
    return pl.Series(name, values)


@dataclasses.dataclass
class _RaggedPlan:
    """Where a ragged column's selected rows live in its data dataset."""

    offsets_levels: list[np.ndarray]  # list offsets, outermost level first
    starts: np.ndarray
    stops: np.ndarray
    read_all: bool  # the rows cover most of the data: one whole read beats many spans

    def data_spans(self, total: int) -> list[tuple[int, int]]:
        if self.read_all:
            return [(0, total)]
        return _merge_adjacent([(int(a), int(b)) for a, b in zip(self.starts, self.stops) if b > a])


def _plan_ragged(catalog: Catalog, column: Column, rows: np.ndarray | None, length: int) -> _RaggedPlan:
    """Walk the index chain outermost -> innermost, turning row ids into element spans."""
    current = np.arange(length, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    offsets_levels: list[np.ndarray] = []
    starts = stops = np.empty(0, np.int64)
    for level, index_path in enumerate(column.index_paths):
        index = read_index(catalog, index_path)
        if len(current) and (current.max() >= len(index)):
            raise MalformedFileError("row outside the index", source=catalog.label, path=index_path)
        starts, stops = _bounds(index, current)
        counts = stops - starts
        if np.any(counts < 0):
            raise MalformedFileError("index is not monotonic", source=catalog.label, path=index_path)
        offsets_levels.append(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        if level < len(column.index_paths) - 1:
            current = (
                np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)])
                if len(starts) else np.empty(0, np.int64)
            )
    needed = int((stops - starts).sum()) if len(starts) else 0
    read_all = bool(needed) and needed >= _FULL_READ_SHARE * int(column.meta.shape[0])
    return _RaggedPlan(offsets_levels, starts, stops, read_all)


def _read_ragged(catalog: Catalog, column: Column, plan: _RaggedPlan) -> pl.Series:
    backend = catalog.backend
    if plan.read_all:
        data = backend.read(column.data_path)
        flat = (
            np.concatenate([data[a:b] for a, b in zip(plan.starts, plan.stops)])
            if len(plan.starts) else data[:0]
        )
    else:  # spans were read in order, so the concatenation is the rows' values in order
        flat = backend.read_spans(column.data_path, plan.data_spans(int(column.meta.shape[0])))
    series = _to_series(column.name, flat, polars_dtype(column.meta))
    return _wrap_lists(column.name, series, plan.offsets_levels)


def _read_flat(catalog: Catalog, column: Column, rows: np.ndarray | None) -> pl.Series:
    if column.rate is not None:
        start = float(np.asarray(catalog.backend.read(column.data_path)).reshape(-1)[0])
        index = np.arange(column.meta.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
        return pl.Series(column.name, start + index / column.rate, dtype=pl.Float64)
    if rows is not None and len(rows) == 0:
        values = catalog.backend.read_spans(column.data_path, [])
    else:
        values = catalog.backend.read(column.data_path, rows)
    return _to_series(column.name, values, polars_dtype(column.meta))


def read_column(catalog: Catalog, column: Column, rows: np.ndarray | None, length: int) -> pl.Series:
    """One column's values for the given rows (None = all), as a polars Series."""
    if not column.index_paths:
        return _read_flat(catalog, column, rows)
    return _read_ragged(catalog, column, _plan_ragged(catalog, column, rows, length))


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
    first_round = [(c.data_path, spans) for c in columns if not c.index_paths and c.rate is None] + [
        (path, [(0, catalog.require(path).dataset.shape[0])]) for path in sorted(unknown_indexes)
    ]
    data: dict[str, pl.Series] = {}
    ragged = [c for c in columns if c.index_paths]
    if not unknown_indexes:  # indexes known (e.g. from a stored catalog): one round for all
        plans = {c.name: _plan_ragged(catalog, c, rows, table.length) for c in ragged}
        first_round += _data_round(table, plans)
    with catalog.backend.prefetched(first_round):
        for column in columns:
            if not column.index_paths:
                data[column.name] = _read_flat(catalog, column, rows)
        for path in unknown_indexes:
            read_index(catalog, path)
        if not unknown_indexes:
            for name, plan in plans.items():
                data[name] = _read_ragged(catalog, table.columns[name], plan)
    if unknown_indexes:
        plans = {c.name: _plan_ragged(catalog, c, rows, table.length) for c in ragged}
        with catalog.backend.prefetched(_data_round(table, plans)):
            for name, plan in plans.items():
                data[name] = _read_ragged(catalog, table.columns[name], plan)
    for name, series in data.items():
        if len(series) != n:
            raise MalformedFileError(
                f"column {name!r} gave {len(series)} rows, expected {n}",
                source=catalog.label,
                path=table.path,
            )
    ordered = {name: data[name] for name in column_names}
    return pl.DataFrame(ordered) if ordered else pl.DataFrame()
