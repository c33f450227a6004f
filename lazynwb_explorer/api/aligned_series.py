"""A time series around events, over many files: `get_aligned_timeseries` (and the mean
traces the Explorer's trial-aligned view draws, `aligned_means`).

Why in the public API: "running speed around stimulus onset, per stimulus" is a question a
script asks of many sessions. Each file reads its events' time (and grouping) column and,
of the series, only the samples inside the windows: one concurrent round for all windows
once the series is open (nwb/aligned_series.py). Samples belong to [event + window[0],
event + window[1]) and are given at full resolution, conversion and offset applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from ..config import resolve_as_polars
from ..multifile import results_of
from ..nwb.aligned_series import AlignedSeries
from ..nwb.events import Events, catalog_with_events, read_events
from ..nwb.kinds import is_series
from ..nwb.table_query import NWB_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME, TABLE_PATH_COLUMN_NAME
from ..sources import PathLike, Source, to_sources
from .observed import INTERVALS_TABLE_INDEX_COLUMN_NAME, FrameType, to_lazy
from .psth import group_codes

MEAN_POINTS = 1000  # the most points of a mean trace


def _events_in(source: Source, intervals_df: str | pl.DataFrame
               ) -> tuple[str, list[int] | None] | None:
    """The events' path in this file and the rows chosen (None: all); None when
    intervals_df's rows hold none of this file's."""
    if isinstance(intervals_df, str):
        return intervals_df, None
    mine = intervals_df.filter(pl.col(NWB_PATH_COLUMN_NAME) == source.label)
    if mine.is_empty():
        return None
    path = "/intervals/trials"
    if TABLE_PATH_COLUMN_NAME in mine.columns:
        path = "/" + str(mine[TABLE_PATH_COLUMN_NAME][0]).lstrip("/")
    return path, mine[TABLE_INDEX_COLUMN_NAME].to_list()


def aligned_frame(label: str, events: Events, times: np.ndarray, values: np.ndarray,
                  offsets: np.ndarray, group_by: str | None) -> pl.DataFrame:
    """The long frame of one file's windows: a row per sample."""
    counts = np.diff(offsets)
    event = np.repeat(np.arange(len(events)), counts)
    frame: dict[str, Any] = {
        NWB_PATH_COLUMN_NAME: pl.Series([label], dtype=pl.String).new_from_index(0, len(times)),
        INTERVALS_TABLE_INDEX_COLUMN_NAME: events.rows[event].astype(np.int64),
    }
    if group_by and events.groups is not None:
        frame[group_by] = events.groups.gather(event)
    frame |= {"event_time": events.times[event], "time": times - events.times[event],
              "value": values}
    return pl.DataFrame(frame)


def get_aligned_timeseries(
    nwb_path: PathLike | Sequence[PathLike],
    series_path: str,
    intervals_df: str | FrameType = "/intervals/trials",
    align_to: str | None = "start_time",
    window: tuple[float, float] = (-0.5, 1.0),
    channel: int | None = None,
    group_by: str | None = None,
    intervals_df_filter: pl.Expr | None = None,
    disable_progress: bool = False,
    as_polars: bool | None = None,
) -> pd.DataFrame | pl.DataFrame:
    """A time series' samples around each event (trial-aligned running speed, pupil area...).

    nwb_path: one file or many; series_path: the series' path in each file.
    intervals_df, align_to, group_by, intervals_df_filter: the events, as in get_psth (a
    table or series path, or rows of a table with _nwb_path, _table_path, _table_index).
    window: (start, stop) in seconds around each event. channel: the column of 2-D data
    (required for 2-D data; 1-D data have none).

    One row per sample, files in the order given, events in time order, samples in time
    order: _nwb_path, _intervals_table_index (the event's row), the group column (with
    group_by), event_time, time (sample time - event time, in [window[0], window[1])),
    value (conversion and offset applied)."""
    if len(window) != 2 or not float(window[1]) > float(window[0]):
        raise ValueError(f"window must be (start, stop) with start < stop, got {window!r}")
    if intervals_df_filter is not None and not isinstance(intervals_df_filter, pl.Expr):
        raise ValueError("`intervals_df_filter` must be a polars expression or None")
    chosen = intervals_df if isinstance(intervals_df, str) else to_lazy(intervals_df).collect()
    start, stop = float(window[0]), float(window[1])

    def work(source: Source) -> pl.DataFrame | None:
        found = _events_in(source, chosen)
        if found is None:
            return None
        events_path, rows = found
        # only the series and the events' table or series are walked (issue 16)
        catalog = catalog_with_events(source, series_path, is_series, events_path)
        with catalog.backend.deferred_check():  # the samples' fetch confirms the events kept
            events = read_events(source, catalog, events_path, align_to, group_by,
                                 intervals_df_filter, rows)
            series = AlignedSeries(catalog, series_path)
            windows = np.stack([events.times + start, events.times + stop], 1)
            times, values, offsets = series.windows(windows, channel)
        return aligned_frame(source.label, events, times, values, offsets, group_by)

    frames = results_of(to_sources(nwb_path), work, desc="Reading aligned windows",
                        disable_progress=disable_progress)
    if frames:
        df = pl.concat(frames, how="diagonal_relaxed")
    else:
        df = pl.DataFrame(schema={NWB_PATH_COLUMN_NAME: pl.String,
                                  INTERVALS_TABLE_INDEX_COLUMN_NAME: pl.Int64,
                                  "event_time": pl.Float64, "time": pl.Float64,
                                  "value": pl.Float64})
    return df if resolve_as_polars(as_polars) else df.to_pandas()


def aligned_means(times: np.ndarray, values: np.ndarray, offsets: np.ndarray,
                  groups: pl.Series | None, window: tuple[float, float], step: float
                  ) -> tuple[np.ndarray, list[Any], np.ndarray, np.ndarray, np.ndarray]:
    """Mean traces per group on a common grid of relative times: each event's samples are
    interpolated linearly onto the grid (never beyond its first and last sample), then
    averaged over events. Returns (grid, group values, n events per grid point and group,
    mean, standard error) - the last three groups x grid points. `times` are relative."""
    start, stop = window
    n = int(min(MEAN_POINTS, max(2, round((stop - start) / step))))
    grid = start + (stop - start) / n * np.arange(n)  # step wide, or wider past MEAN_POINTS
    k = len(offsets) - 1
    codes, values_of = group_codes(groups, k)
    g = len(values_of)
    total = np.zeros((g, n))
    squares = np.zeros((g, n))
    count = np.zeros((g, n))
    for j in range(k):
        t = times[offsets[j] : offsets[j + 1]]
        v = values[offsets[j] : offsets[j + 1]]
        ok = np.isfinite(v)
        if ok.sum() < 2:
            continue
        inside = (grid >= t[ok][0]) & (grid <= t[ok][-1])
        trace = np.interp(grid[inside], t[ok], v[ok])
        total[codes[j], inside] += trace
        squares[codes[j], inside] += trace**2
        count[codes[j], inside] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        var = (squares - count * mean**2) / (count - 1)
        sem = np.sqrt(np.clip(var, 0, None) / count)
    return grid, values_of, count, mean, sem
