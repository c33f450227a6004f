"""Spike times of units within intervals: `get_spike_times_in_intervals` (lazynwb.tables).

For each file of `filtered_units_df`, each of its units and each row of an intervals
table (trials by default): the unit's spikes in [start, end) for every named interval,
as a list of times (or a count, or times relative to the row's start_time). Only the
chosen units' spike_times (and obs_intervals) rows are read, and only the chosen rows of
the intervals table when it is not filtered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ..config import resolve_as_polars
from ..errors import ColumnError
from ..multifile import results_of
from ..nwb.table_query import NWB_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME, TABLE_PATH_COLUMN_NAME
from ..sources import Source, to_source
from .frames import get_df
from .observed import (
    INTERVALS_TABLE_INDEX_COLUMN_NAME,
    UNITS_TABLE_INDEX_COLUMN_NAME,
    FrameType,
    read_unit_columns,
    require_columns,
    to_lazy,
    with_is_observed,
)

Bound = pl.Expr | str
_KEYS_SCHEMA = {
    UNITS_TABLE_INDEX_COLUMN_NAME: pl.Int64,
    INTERVALS_TABLE_INDEX_COLUMN_NAME: pl.Int64,
    NWB_PATH_COLUMN_NAME: pl.String,
}


def _table_path(frame: pl.DataFrame, default: str, label: str) -> str:
    """The one table a file's rows come from (by _table_path), else `default`."""
    if TABLE_PATH_COLUMN_NAME not in frame.columns:
        return default
    paths = frame[TABLE_PATH_COLUMN_NAME].unique().to_list()
    if len(paths) != 1:
        raise ValueError(f"rows of {label!r} come from several tables: {paths}")
    return "/" + str(paths[0]).lstrip("/")


def _read_intervals(
    source: Source, table_path: str, rows: list[int] | None, row_filter: str | pl.Expr | None
) -> pl.DataFrame:
    """The intervals table (array columns left out, as get_df), filtered, then restricted
    to `rows`. Unfiltered, only `rows` are read; a filter sees the whole table (it may
    compare rows with each other), as in lazynwb."""
    row_map = None if rows is None or row_filter is not None else {source.label: rows}
    table = get_df(source, table_path, nwb_path_to_row_indices=row_map, as_polars=True,
                   disable_progress=True)
    if isinstance(row_filter, str):  # a pandas query, as lazynwb evaluates it
        kept = table.to_pandas().query(row_filter).index.to_numpy()
        table = table[kept]
    elif row_filter is not None:
        table = table.filter(row_filter)
    if rows is not None and row_filter is not None:
        table = table.filter(pl.col(TABLE_INDEX_COLUMN_NAME).is_in(rows))
    return table


def _flat(spike_lists: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """A list column as (all values, offsets): unit i's values are values[o[i]:o[i+1]]."""
    arrow = spike_lists.to_arrow()
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    lengths = pc.fill_null(pc.list_value_length(arrow), 0).to_numpy().astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    values = pc.list_flatten(arrow).to_numpy(zero_copy_only=False).astype(np.float64)
    return values, offsets


def _in_intervals(
    spike_lists: pl.Series,
    starts: np.ndarray,
    ends: np.ndarray,
    align_to: np.ndarray | None,
    as_counts: bool,
    name: str,
) -> pl.Series:
    """One row per (unit, interval), units outermost: the unit's spikes in [start, end)
    (a spike at `end` is left out); nulls where a bound is null."""
    values, offsets = _flat(spike_lists)
    valid = ~(np.isnan(starts) | np.isnan(ends))
    starts_ok, ends_ok = np.where(valid, starts, 0.0), np.where(valid, ends, 0.0)
    counts_all, parts, lengths_all = [], [], []
    for u in range(len(offsets) - 1):
        spikes = values[offsets[u] : offsets[u + 1]]
        if np.any(np.diff(spikes) < 0):
            spikes = np.sort(spikes)
        first = np.searchsorted(spikes, starts_ok, side="left")
        lengths = np.clip(np.searchsorted(spikes, ends_ok, side="left") - first, 0, None)
        lengths = np.where(valid, lengths, 0)
        if as_counts:
            counts_all.append(lengths)
            continue
        positions = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths - first, lengths)
        picked = spikes[positions]
        if align_to is not None:
            picked = picked - np.repeat(align_to, lengths)
        parts.append(picked)
        lengths_all.append(lengths)
    mask = np.tile(~valid, len(offsets) - 1)
    if as_counts:
        counts = np.concatenate(counts_all) if counts_all else np.empty(0, np.int64)
        return pl.Series(name, np.ma.masked_array(counts, mask).tolist(), dtype=pl.Int64)
    lengths = np.concatenate(lengths_all) if lengths_all else np.empty(0, np.int64)
    flat = np.concatenate(parts) if parts else np.empty(0, np.float64)
    list_offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]), type=pa.int64())
    array = pa.LargeListArray.from_arrays(list_offsets, pa.array(flat, type=pa.float64()),
                                          mask=pa.array(mask, type=pa.bool_()))
    return pl.Series(name, array)


def _bounds(table: pl.DataFrame, bound: Bound) -> np.ndarray:
    expr = pl.col(bound) if isinstance(bound, str) else bound
    # with_columns, not select: a literal bound is broadcast to every row
    values = table.with_columns(expr.cast(pl.Float64).alias("__bound"))["__bound"]
    return values.fill_null(np.nan).to_numpy()


@dataclasses.dataclass(frozen=True)
class _Request:
    """get_spike_times_in_intervals' arguments, as each file's work needs them."""

    units: pl.DataFrame
    intervals: Mapping[str, tuple[Bound, Bound]]
    intervals_df: str | pl.DataFrame
    row_filter: str | pl.Expr | None
    apply_obs_intervals: bool
    as_counts: bool
    keep_only_necessary_cols: bool
    align_times: bool


def _interval_rows(source: Source, request: _Request) -> pl.DataFrame | None:
    """The file's chosen intervals (None: the intervals frame chose none in this file)."""
    if isinstance(request.intervals_df, str):
        table_path, rows = request.intervals_df, None
    else:
        chosen = request.intervals_df.filter(pl.col(NWB_PATH_COLUMN_NAME) == source.label)
        if chosen.is_empty():
            return None
        table_path = _table_path(chosen, "/intervals/trials", source.label)
        rows = chosen[TABLE_INDEX_COLUMN_NAME].unique().sort().to_list()
    table = _read_intervals(source, table_path, rows, request.row_filter)
    needed = ["start_time"] if request.align_times else []
    needed += ["start_time", "stop_time"] if request.apply_obs_intervals else []
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        raise ColumnError(f"the intervals table has no column(s) {missing}", source=source.label,
                          path=table_path)
    return table


def _session(source: Source, request: _Request) -> pl.DataFrame | None:
    """The rows of one file: its units (in frame order) x its chosen intervals."""
    label = source.label
    table = _interval_rows(source, request)
    if table is None:
        return None
    mine = request.units.filter(pl.col(NWB_PATH_COLUMN_NAME) == label)
    unit_rows = mine[TABLE_INDEX_COLUMN_NAME].unique(maintain_order=True).to_numpy()
    columns = ["spike_times", "obs_intervals"] if request.apply_obs_intervals else ["spike_times"]
    read = read_unit_columns(source, _table_path(mine, "units", label), columns, np.sort(unit_rows))
    unit_data = pl.DataFrame({TABLE_INDEX_COLUMN_NAME: unit_rows}).join(
        read, on=TABLE_INDEX_COLUMN_NAME, how="left", maintain_order="left"
    )
    n_units, n_rows = len(unit_rows), table.height
    align_to = (
        table["start_time"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        if request.align_times else None
    )
    out = pl.DataFrame({
        UNITS_TABLE_INDEX_COLUMN_NAME: np.repeat(unit_rows, n_rows).astype(np.int64),
        INTERVALS_TABLE_INDEX_COLUMN_NAME: np.tile(
            table[TABLE_INDEX_COLUMN_NAME].to_numpy(), n_units).astype(np.int64),
        NWB_PATH_COLUMN_NAME: pl.Series([label], dtype=pl.String).new_from_index(0, n_units * n_rows),
    }).with_columns(
        _in_intervals(unit_data["spike_times"], _bounds(table, start), _bounds(table, end),
                      align_to, request.as_counts, name)
        for name, (start, end) in request.intervals.items()
    )
    interval_columns = table.drop(NWB_PATH_COLUMN_NAME, TABLE_PATH_COLUMN_NAME, strict=False).rename(
        {TABLE_INDEX_COLUMN_NAME: INTERVALS_TABLE_INDEX_COLUMN_NAME}
    )
    if request.apply_obs_intervals:
        out = _mask_unobserved(out, unit_data, interval_columns, request.intervals, label)
    if request.keep_only_necessary_cols:
        return out.drop("is_observed", strict=False)
    is_observed = out.select(pl.col("is_observed")) if request.apply_obs_intervals else None
    out = out.drop("is_observed", strict=False).join(
        interval_columns, on=INTERVALS_TABLE_INDEX_COLUMN_NAME, how="left", maintain_order="left"
    )
    if is_observed is not None:  # after the intervals' columns, as lazynwb places it
        out = out.hstack(is_observed.get_columns())
    unit_columns = mine.rename({TABLE_INDEX_COLUMN_NAME: UNITS_TABLE_INDEX_COLUMN_NAME})
    out = out.join(unit_columns, on=[UNITS_TABLE_INDEX_COLUMN_NAME, NWB_PATH_COLUMN_NAME],
                   how="inner", maintain_order="left")
    return out.drop(pl.selectors.starts_with(TABLE_PATH_COLUMN_NAME))


def _mask_unobserved(
    out: pl.DataFrame,
    unit_data: pl.DataFrame,
    interval_columns: pl.DataFrame,
    intervals: Mapping[str, tuple[Bound, Bound]],
    label: str,
) -> pl.DataFrame:
    """`out` with is_observed, and null interval values where the unit was not observed."""
    obs = unit_data.select(
        pl.col(TABLE_INDEX_COLUMN_NAME).alias(UNITS_TABLE_INDEX_COLUMN_NAME),
        "obs_intervals", pl.lit(label).alias(NWB_PATH_COLUMN_NAME),
    )
    pairs = out.lazy().join(
        interval_columns.lazy().select(INTERVALS_TABLE_INDEX_COLUMN_NAME, "start_time", "stop_time"),
        on=INTERVALS_TABLE_INDEX_COLUMN_NAME, how="left", maintain_order="left",
    )
    observed = with_is_observed(pairs, obs.lazy()).select("is_observed").collect()
    return out.hstack(observed.get_columns()).with_columns(
        pl.when(pl.col("is_observed")).then(pl.col(name)).otherwise(None).alias(name)
        for name in intervals
    )


def _polars(frame: Any) -> pl.DataFrame:
    return to_lazy(frame).collect()


def get_spike_times_in_intervals(
    filtered_units_df: FrameType,
    intervals: dict[str, tuple[pl.Expr, pl.Expr]],
    intervals_df: str | FrameType = "/intervals/trials",
    intervals_df_filter: str | pl.Expr | None = None,
    apply_obs_intervals: bool = True,
    as_counts: bool = False,
    keep_only_necessary_cols: bool = False,
    use_process_pool: bool = True,
    disable_progress: bool = False,
    as_polars: bool | None = None,
    align_times: bool = False,
) -> pd.DataFrame | pl.DataFrame:
    """Each unit's spike times within each interval, one row per (unit, interval).

    filtered_units_df: units rows (from get_df / scan_nwb) with _nwb_path and _table_index.
    intervals: {column name: (start, end)}, expressions (or column names) evaluated on the
    intervals table, e.g. {'response': (pl.col('start_time'), pl.col('start_time') + 0.5)};
    a spike counts when start <= t < end.
    intervals_df: the intervals table's path in each file, or rows of it (with _nwb_path,
    _table_path, _table_index: only those rows of each file are used).
    intervals_df_filter: a pandas query string or a polars expression, applied to the
    whole intervals table before the rows are chosen.
    apply_obs_intervals: a unit not observed for a whole interval (see insert_is_observed)
    gets null there, and an is_observed column is added.
    as_counts: counts instead of times. align_times: times relative to the row's
    start_time (not with as_counts).
    keep_only_necessary_cols: only _units_table_index, _intervals_table_index, _nwb_path
    and the interval columns; otherwise also the intervals table's columns, is_observed
    and the units frame's columns (name clashes get a '_right' suffix).

    Rows come per file, unit and interval in the order given (files and units as they
    first appear in filtered_units_df, intervals in table order). Files are read
    concurrently in threads; `use_process_pool` is accepted for compatibility.
    """
    if align_times and as_counts:
        raise ValueError(
            "Cannot use `align_times` and `as_counts` at the same time: please choose one"
        )
    if intervals_df_filter is not None and not isinstance(intervals_df_filter, str | pl.Expr):
        raise ValueError(
            "`intervals_table_filter` must be str or pl.Expr or None, got "
            f"{type(intervals_df_filter)}"
        )
    units = _polars(filtered_units_df)
    require_columns(units.schema, [NWB_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME],
                    "filtered_units_df")
    chosen: str | pl.DataFrame = intervals_df if isinstance(intervals_df, str) else _polars(intervals_df)
    if isinstance(chosen, pl.DataFrame):
        require_columns(chosen.schema, [NWB_PATH_COLUMN_NAME, TABLE_PATH_COLUMN_NAME,
                                        TABLE_INDEX_COLUMN_NAME], "intervals_df")
    request = _Request(units, intervals, chosen, intervals_df_filter, apply_obs_intervals,
                       as_counts, keep_only_necessary_cols, align_times)
    labels = units[NWB_PATH_COLUMN_NAME].unique(maintain_order=True).to_list()
    frames = results_of([to_source(label) for label in labels], lambda source: _session(source, request),
                        desc="Getting spike times in intervals", disable_progress=disable_progress)
    if frames:
        df = pl.concat(frames, how="diagonal_relaxed")
    else:  # no units (or no chosen intervals): the key and interval columns, no rows
        value = pl.Int64 if as_counts else pl.List(pl.Float64)
        df = pl.DataFrame(schema={**_KEYS_SCHEMA, **dict.fromkeys(intervals, value)})
    return df if resolve_as_polars(as_polars) else df.to_pandas()
