"""Was a unit observed during an interval? `insert_is_observed` (lazynwb.tables).

A units table's `obs_intervals` column lists, per unit, the [start, stop] intervals in
which the unit could have been recorded. A (unit, interval) row is observed when the
interval [start_time, stop_time] lies inside one of its unit's observation intervals; a
unit without observation intervals counts as observed throughout (as in lazynwb).

Rows pairing a unit with an interval carry the unit's row in its table as
UNITS_TABLE_INDEX_COLUMN_NAME and the interval's row as INTERVALS_TABLE_INDEX_COLUMN_NAME
(get_spike_times_in_intervals makes such rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import pandas as pd
import polars as pl

from ..errors import ColumnError
from ..multifile import Missing, map_sources
from ..nwb.columns import PolarsType
from ..nwb.table_query import (
    NWB_PATH_COLUMN_NAME,
    TABLE_INDEX_COLUMN_NAME,
    TableRequest,
    open_table,
    read_table_rows,
)
from ..sources import Source, to_source

INTERVALS_TABLE_INDEX_COLUMN_NAME = "_intervals" + TABLE_INDEX_COLUMN_NAME
UNITS_TABLE_INDEX_COLUMN_NAME = "_units" + TABLE_INDEX_COLUMN_NAME

FrameType = TypeVar("FrameType", pl.DataFrame, pl.LazyFrame, pd.DataFrame)

_ROW = "__is_observed_row"


def to_lazy(frame: pl.DataFrame | pl.LazyFrame | pd.DataFrame) -> pl.LazyFrame:
    if isinstance(frame, pl.LazyFrame):
        return frame
    if isinstance(frame, pd.DataFrame):
        return pl.from_pandas(frame).lazy()
    if isinstance(frame, pl.DataFrame):
        return frame.lazy()
    raise TypeError(f"expected a polars or pandas DataFrame, got {type(frame).__name__}")


def require_columns(schema: pl.Schema, names: Sequence[str], what: str) -> None:
    missing = [n for n in names if n not in schema]
    if missing:
        raise ColumnError(f"{what} must contain the column(s) {missing}; it has {list(schema)}")


def read_unit_columns(
    source: Source, table_path: str, columns: Sequence[str], rows: np.ndarray
) -> pl.DataFrame:
    """`columns` of the given rows (sorted, unique) of one file's units table, with
    _table_index; only those rows are read. A missing column names the file and table."""
    table = open_table(source, table_path)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ColumnError(
            f"the units table has no column(s) {missing}", source=source.label, path=table.path
        )
    request = TableRequest(table.path, exact_path=True, columns=list(columns))
    frame = read_table_rows(source, request, rows, table)
    return frame.select(*columns, TABLE_INDEX_COLUMN_NAME)


def _observation_intervals(pairs: pl.LazyFrame) -> pl.LazyFrame:
    """The units' obs_intervals, read from their files (only the units in `pairs`)."""
    wanted = pairs.select(UNITS_TABLE_INDEX_COLUMN_NAME, NWB_PATH_COLUMN_NAME).unique().collect()
    labels = wanted[NWB_PATH_COLUMN_NAME].unique(maintain_order=True).to_list()

    def work(source: Source) -> pl.DataFrame:
        rows = np.sort(
            wanted.filter(pl.col(NWB_PATH_COLUMN_NAME) == source.label)[
                UNITS_TABLE_INDEX_COLUMN_NAME
            ].to_numpy()
        )
        frame = read_unit_columns(source, "units", ["obs_intervals"], rows)
        return frame.with_columns(pl.lit(source.label).alias(NWB_PATH_COLUMN_NAME))

    frames = []
    for _, frame in map_sources(
        [to_source(label) for label in labels], work, disable_progress=True,
        desc="Reading obs_intervals",
    ):
        if isinstance(frame, Missing):
            raise frame.error
        frames.append(frame)
    if not frames:
        schema: dict[str, PolarsType] = {"obs_intervals": pl.List(pl.List(pl.Float64)), TABLE_INDEX_COLUMN_NAME: pl.Int64,
                  NWB_PATH_COLUMN_NAME: pl.String}
        return pl.LazyFrame(schema=schema)
    return pl.concat(frames, how="vertical_relaxed").lazy()


def with_is_observed(
    pairs: pl.LazyFrame, units: pl.LazyFrame, col_name: str = "is_observed"
) -> pl.LazyFrame:
    """`pairs` (rows with a unit, start_time and stop_time) plus a boolean `col_name`, in
    the same row order. `units` holds obs_intervals per (unit row, _nwb_path)."""
    keys = [UNITS_TABLE_INDEX_COLUMN_NAME, NWB_PATH_COLUMN_NAME]
    obs = units.select(*keys, "obs_intervals")
    dtype = obs.collect_schema()["obs_intervals"]
    if isinstance(dtype, pl.List | pl.Array) and isinstance(dtype.inner, pl.List | pl.Array):
        obs = obs.explode("obs_intervals")  # one row per observation interval
    bounds = pl.col("obs_intervals").cast(pl.List(pl.Float64))
    outside = (bounds.list.get(0, null_on_oob=True) > pl.col("start_time")) | (
        bounds.list.get(1, null_on_oob=True) < pl.col("stop_time")
    )
    numbered = pairs.with_row_index(_ROW)
    inside = (
        numbered.select(_ROW, *keys, "start_time", "stop_time")
        .join(obs, on=keys, how="inner")
        .group_by(_ROW)
        .agg((~outside).fill_null(True).any().alias(col_name))
    )
    return (
        numbered.join(inside, on=_ROW, how="left", maintain_order="left")
        .with_columns(pl.col(col_name).fill_null(True))  # no observation intervals
        .drop(_ROW)
    )


def insert_is_observed(
    intervals_frame: FrameType,
    units_frame: FrameType | None = None,
    col_name: str = "is_observed",
) -> FrameType:
    """`intervals_frame` plus a boolean column `col_name`: was the row's unit observed
    for the whole of [start_time, stop_time]?

    intervals_frame: rows pairing a unit with an interval: start_time, stop_time,
    _nwb_path and the unit's row as `_units_table_index` (as get_spike_times_in_intervals
    makes them). units_frame: the units with `obs_intervals`, `_nwb_path` and their row as
    `_table_index` (or `_units_table_index`); by default the obs_intervals of just the
    units in intervals_frame are read from their files. Rows keep their order and the
    frame its type (a LazyFrame stays lazy). Units are matched by row and file.
    """
    intervals = to_lazy(intervals_frame)
    require_columns(
        intervals.collect_schema(),
        ["start_time", "stop_time", UNITS_TABLE_INDEX_COLUMN_NAME, NWB_PATH_COLUMN_NAME],
        "intervals_frame",
    )
    if units_frame is None:
        units = _observation_intervals(intervals)
    else:
        units = to_lazy(units_frame)
    units = units.rename({TABLE_INDEX_COLUMN_NAME: UNITS_TABLE_INDEX_COLUMN_NAME}, strict=False)
    require_columns(
        units.collect_schema(),
        ["obs_intervals", UNITS_TABLE_INDEX_COLUMN_NAME, NWB_PATH_COLUMN_NAME],
        "the units frame",
    )
    if units_frame is not None:
        keys = [UNITS_TABLE_INDEX_COLUMN_NAME, NWB_PATH_COLUMN_NAME]
        absent = intervals.select(keys).unique().join(units.select(keys), on=keys, how="anti")
        if absent.collect().height:
            raise ValueError("units frame does not contain all unique units in intervals frame")
    out = with_is_observed(intervals, units, col_name)
    if isinstance(intervals_frame, pl.LazyFrame):
        return out
    frame = out.collect()
    return frame.to_pandas() if isinstance(intervals_frame, pd.DataFrame) else frame
