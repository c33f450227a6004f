"""Events and intervals of a session: what can be aligned to, drawn as ticks or as bands.

An event is a time. It can come from
- a table's column: trials' `start_time` or `stim_start_time`, any TimeIntervals' time
  columns, an EventsTable's `timestamp` (NWB 2.9);
- a series' timestamps: event series (AnnotationSeries, ndx-events' Events, LabeledEvents,
  TTLs, or any series of a BehavioralEvents container), or any series with stored
  timestamps when asked for.
Intervals (bands on a time axis) are a table's start_time / stop_time rows (TimeIntervals:
trials, epochs, stimulus presentations) or an IntervalSeries (+1 starts, -1 stops).

Only the columns named are read (a filter reads its own columns first, as scan_nwb does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from ..catalog import Catalog, normalize_path, open_scoped_catalog
from ..errors import ColumnError, InternalPathError
from ..sources import Source
from .kinds import is_series, is_table
from .table_query import TABLE_INDEX_COLUMN_NAME, TableRequest, read_table_rows
from .tables import describe_table
from .timeseries import TimeSeries

EVENT_SERIES_TYPES = ("AnnotationSeries", "Events", "LabeledEvents", "TTLs")
TIMESTAMPS = "timestamps"  # align_to for a series: its timestamps
DATA = "data"  # group_by for a series: its data values


def is_events(catalog: Catalog, path: str) -> bool:
    """An event series or an events table (see the module docstring)."""
    node = catalog.get(path)
    if node is None or not node.is_group:
        return False
    if is_table(catalog, path):
        return node.neurodata_type == "EventsTable" or "timestamp" in _colnames(node.attrs)
    if not is_series(catalog, path) or catalog.resolved(f"{path.rstrip('/')}/timestamps") is None:
        return False
    parent = catalog.get(path.rsplit("/", 1)[0] or "/")
    in_events = parent is not None and parent.neurodata_type == "BehavioralEvents"
    has_data = catalog.resolved(f"{path.rstrip('/')}/data") is not None
    return node.neurodata_type in EVENT_SERIES_TYPES or in_events or not has_data


def is_intervals(catalog: Catalog, path: str) -> bool:
    """Rows with a start and a stop (TimeIntervals) or an IntervalSeries."""
    node = catalog.get(path)
    if node is None or not node.is_group:
        return False
    if is_table(catalog, path):
        names = _colnames(node.attrs)
        return "start_time" in names and "stop_time" in names
    return node.neurodata_type == "IntervalSeries" and is_series(catalog, path)


def _colnames(attrs: dict) -> list[str]:
    names = attrs.get("colnames")
    if isinstance(names, str):
        return [names]
    return [str(n) for n in names] if names is not None else []


def catalog_with_events(
    source: Source, path: str, fits: Callable[[Catalog, str], bool], events_path: str
) -> Catalog:
    """The catalog a read of `path` (a units table, a series) around the events of
    `events_path` needs: the root, both paths' groups and the two objects walked, nothing
    else (catalog/cache.py open_scoped_catalog, issue 16); the full catalog when it is
    known, or when that walk does not find `path` as `fits` wants it and the events as a
    table or a series (a missing path is then reported as a full walk reports it), or
    when a link leads out of the walked part."""
    paths = list(dict.fromkeys([normalize_path(path), normalize_path(events_path)]))
    events = paths[-1]

    def holds_both(catalog: Catalog) -> bool:
        return (all(catalog.covers(p) for p in paths) and fits(catalog, paths[0])
                and (is_table(catalog, events) or is_series(catalog, events)))

    return open_scoped_catalog(source, paths, holds_both)


@dataclasses.dataclass
class Events:
    """Event times in time order, each with its row in the source (a table's _table_index, a
    series' sample) and its group value (None without grouping)."""

    times: np.ndarray
    rows: np.ndarray
    groups: pl.Series | None
    path: str

    def __len__(self) -> int:
        return len(self.times)


def read_events(
    source: Source,
    catalog: Catalog,
    path: str,
    align_to: str | None = "start_time",
    group_by: str | None = None,
    predicate: pl.Expr | None = None,
    rows: Sequence[int] | None = None,
) -> Events:
    """The events of `path` (a table: its `align_to` column; a series: its timestamps),
    filtered by `predicate` and restricted to `rows` when given, in time order. Events
    without a time (null or NaN) are left out."""
    path = normalize_path(path)
    node = catalog.get(path)
    if node is None:
        raise InternalPathError(f"no {path} in this file", source=catalog.label, path=path)
    if is_table(catalog, path):
        return _table_events(source, catalog, path, align_to or "start_time", group_by,
                             predicate, rows)
    if is_series(catalog, path):
        if predicate is not None:
            raise ValueError("a filter applies to a table's rows, not to a series' events")
        return _series_events(catalog, path, group_by, rows)
    raise ColumnError("events come from a table (TimeIntervals, EventsTable) or a series with "
                      "timestamps", source=catalog.label, path=path)


def _table_events(source: Source, catalog: Catalog, path: str, align_to: str,
                  group_by: str | None, predicate: pl.Expr | None,
                  rows: Sequence[int] | None) -> Events:
    table = describe_table(catalog, path)
    wanted = [align_to] + ([group_by] if group_by else [])
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        scalar = [n for n, c in table.columns.items() if not c.is_array]
        raise ColumnError(f"no column(s) {missing} in this table; its columns: {scalar}",
                          source=catalog.label, path=path)
    for name in wanted:
        if table.columns[name].is_array:
            raise ColumnError(f"column {name!r} holds arrays, not one value per row",
                              source=catalog.label, path=path)
    request = TableRequest(path, exact_path=True, columns=wanted, predicate=predicate)
    index = None if rows is None else np.unique(np.asarray(rows, dtype=np.int64))
    frame = read_table_rows(source, request, index, table)
    times = frame[align_to].cast(pl.Float64).fill_null(np.nan).to_numpy()
    keep = np.flatnonzero(np.isfinite(times))
    order = keep[np.argsort(times[keep], kind="stable")]
    groups = frame[group_by][order] if group_by else None
    return Events(times[order], frame[TABLE_INDEX_COLUMN_NAME].to_numpy()[order], groups, path)


def _series_events(catalog: Catalog, path: str, group_by: str | None,
                   rows: Sequence[int] | None) -> Events:
    series = TimeSeries(catalog.label, path, catalog)
    n = len(series.timestamps)
    index = np.arange(n, dtype=np.int64) if rows is None else np.unique(np.asarray(rows, np.int64))
    times = series.times_at(index)
    groups = None
    if group_by:
        if group_by != DATA:
            raise ColumnError(f"a series' events are grouped by {DATA!r} (its values), not "
                              f"{group_by!r}", source=catalog.label, path=path)
        values = np.asarray(series.data[index] if rows is not None else series.data[:])
        if values.ndim != 1:
            raise ColumnError(f"data of shape {values.shape} cannot group events",
                              source=catalog.label, path=path)
        groups = pl.Series(DATA, values.tolist())
    keep = np.flatnonzero(np.isfinite(times))
    order = keep[np.argsort(times[keep], kind="stable")]
    return Events(times[order], index[order], groups[order] if groups is not None else None, path)


def read_intervals(source: Source, catalog: Catalog, path: str, t0: float | None = None,
                   t1: float | None = None, color_by: str | None = None) -> pl.DataFrame:
    """Intervals overlapping [t0, t1] (None: all): start_time, stop_time, _table_index and
    `color_by` when given; a table is filtered where it is stored (only its time columns
    are read whole), an IntervalSeries pairs its +1 / -1 samples."""
    path = normalize_path(path)
    if is_table(catalog, path):
        columns = ["start_time", "stop_time"] + ([color_by] if color_by else [])
        overlap = None
        if t0 is not None and t1 is not None:
            overlap = (pl.col("stop_time") >= t0) & (pl.col("start_time") <= t1)
        request = TableRequest(path, exact_path=True, columns=columns, predicate=overlap)
        frame = read_table_rows(source, request)
        return frame.select(*columns, TABLE_INDEX_COLUMN_NAME)
    series = TimeSeries(catalog.label, path, catalog)
    values = np.asarray(series.data[:]).reshape(-1)
    times = np.asarray(series.timestamps[:], dtype=np.float64)
    starts = np.flatnonzero(values > 0)
    stops = np.flatnonzero(values < 0)
    after = np.searchsorted(stops, starts, side="right")  # each start's next stop
    ends = np.where(after < len(stops), times[stops[np.minimum(after, len(stops) - 1)]]
                    if len(stops) else np.inf, np.inf)
    frame = pl.DataFrame({"start_time": times[starts], "stop_time": ends,
                          TABLE_INDEX_COLUMN_NAME: starts.astype(np.int64)})
    if t0 is not None and t1 is not None:
        frame = frame.filter((pl.col("stop_time") >= t0) & (pl.col("start_time") <= t1))
    return frame.select("start_time", "stop_time", TABLE_INDEX_COLUMN_NAME)
