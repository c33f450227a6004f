"""Spikes around events, over many files: `get_psth`, `get_aligned_spike_times`,
`get_spike_times_in_window`.

Why in the public API: the Explorer's raster and PSTH views compute exactly these, and a
script should get the same numbers without a widget. Each reads only what it needs: the
units' rows named by `filtered_units_df`, the events' time (and grouping) column, and of
each spike train only the spans inside the windows (nwb/spike_trains.py: trains are read
whole when the windows cover most of them, as trials spread over a session do, and as
predicted spans after a small index otherwise). Files are read concurrently.

A spike belongs to the window [event + window[0], event + window[1]) (start included, stop
left out, as in get_spike_times_in_intervals); its aligned time is spike - event. A PSTH bin
k holds the aligned times t with edges[k] <= t < edges[k + 1], where edges =
window[0] + bin_width * arange(n_bins + 1) (a spike in the window whose aligned time rounds
outside the edges goes to the nearest end bin).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from ..config import config, resolve_as_polars
from ..multifile import results_of
from ..nwb.events import Events, catalog_with_events, read_events
from ..nwb.kinds import is_table
from ..nwb.spike_trains import SpikeTrains
from ..nwb.table_query import (
    NWB_PATH_COLUMN_NAME,
    TABLE_INDEX_COLUMN_NAME,
    TABLE_PATH_COLUMN_NAME,
    table_catalog,
)
from ..sources import Source, to_source
from .observed import (
    INTERVALS_TABLE_INDEX_COLUMN_NAME,
    UNITS_TABLE_INDEX_COLUMN_NAME,
    FrameType,
    require_columns,
    to_lazy,
)

CI_Z = 1.959963984540054  # two-sided 95% (normal approximation)
INDEX_WORTH = 4  # index a unit when it holds this many coalesce gaps of spikes per window


# -- pure computations (the views use them too) -----------------------------------------------


def bin_edges(window: tuple[float, float], bin_width: float) -> np.ndarray:
    """The PSTH's bin edges: window[0] + bin_width * arange(n + 1), n whole bins."""
    start, stop = float(window[0]), float(window[1])
    if not stop > start:
        raise ValueError(f"window must be (start, stop) with start < stop, got {window}")
    if not bin_width > 0:
        raise ValueError(f"bin_width must be positive, got {bin_width}")
    n = round((stop - start) / bin_width)
    if n < 1 or abs(n * bin_width - (stop - start)) > 1e-6 * bin_width:
        raise ValueError(f"the window {window} is not a whole number of {bin_width} s bins")
    return start + bin_width * np.arange(n + 1)


def aligned(times: np.ndarray, offsets: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Spike times minus their event's time (spikes of event j are times[offsets[j]:
    offsets[j + 1]])."""
    return np.asarray(times - np.repeat(events, np.diff(offsets)))


def bin_counts(times: np.ndarray, offsets: np.ndarray, events: np.ndarray,
               edges: np.ndarray) -> np.ndarray:
    """Spike counts per (event, bin): an events x bins integer matrix."""
    n_bins = len(edges) - 1
    k = len(offsets) - 1
    relative = aligned(times, offsets, events)
    bins = np.clip(np.searchsorted(edges, relative, side="right") - 1, 0, n_bins - 1)
    trial = np.repeat(np.arange(k), np.diff(offsets))
    return np.bincount(trial * n_bins + bins, minlength=k * n_bins).reshape(k, n_bins)


def group_codes(groups: pl.Series | None, n: int) -> tuple[np.ndarray, list[Any]]:
    """(each event's group number, the group values in sorted order, nulls last)."""
    if groups is None:
        return np.zeros(n, dtype=np.int64), [None]
    values = groups.unique().sort(nulls_last=True).to_list()
    lookup = {v: i for i, v in enumerate(values)}
    return np.array([lookup[v] for v in groups.to_list()], dtype=np.int64), values


@dataclasses.dataclass
class Summary:
    """A PSTH per group: mean rate, its standard error and 95% band over events (Hz)."""

    values: list[Any]
    n_events: np.ndarray  # per group
    counts: np.ndarray  # groups x bins, total spikes
    rate: np.ndarray  # groups x bins
    sem: np.ndarray  # groups x bins (NaN with fewer than two events)


def summarize(counts: np.ndarray, codes: np.ndarray, values: list[Any], bin_width: float,
              n_units: int = 1) -> Summary:
    """Per group: the mean rate over events (and units: counts summed over n_units), and
    the standard error of the per-event rates. Each group's sums are one np.add.reduceat
    over the events sorted by group (no loop over groups: a PSTH of 300 units calls this
    300 times, and a grouping column may hold thousands of values)."""
    g = len(values)
    n_events = np.bincount(codes, minlength=g)
    order = np.argsort(codes, kind="stable")
    present = np.flatnonzero(n_events)  # groups with events: their first rows, increasing
    starts = np.searchsorted(codes[order], present)

    def group_sums(rows: np.ndarray) -> np.ndarray:
        out = np.zeros((g, rows.shape[1]), dtype=rows.dtype)
        if len(present):
            out[present] = np.add.reduceat(rows[order], starts, axis=0)
        return out

    per_event = counts / (bin_width * n_units)
    n = n_events[:, None].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, group_sums(per_event) / n, np.nan)
        # two passes, as numpy's std: deviations from the group's mean, then their squares
        deviation = per_event - np.nan_to_num(rate)[codes]
        sem = np.where(n > 1, np.sqrt(group_sums(deviation * deviation) / (n - 1) / n), np.nan)
    return Summary(values, n_events, group_sums(counts).astype(np.int64), rate, sem)


# -- reading, per file ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Request:
    units: pl.DataFrame
    intervals_df: str | pl.DataFrame
    align_to: str | None
    group_by: str | None
    window: tuple[float, float]
    predicate: pl.Expr | None


def _one_table(rows: pl.DataFrame, default: str) -> str:
    """The one table a file's rows come from (by _table_path), else `default`."""
    if TABLE_PATH_COLUMN_NAME not in rows.columns:
        return default
    paths = rows[TABLE_PATH_COLUMN_NAME].unique().to_list()
    if len(paths) != 1:
        raise ValueError(f"rows of one file come from several tables: {paths}")
    return "/" + str(paths[0]).lstrip("/")


def _events_in(source: Source, request: _Request) -> tuple[str, list[int] | None] | None:
    """The events' path in this file and the rows chosen (None: all); None when
    intervals_df's rows hold none of this file's."""
    chosen = request.intervals_df
    if isinstance(chosen, str):
        return chosen, None
    mine = chosen.filter(pl.col(NWB_PATH_COLUMN_NAME) == source.label)
    if mine.is_empty():
        return None
    return _one_table(mine, "/intervals/trials"), mine[TABLE_INDEX_COLUMN_NAME].to_list()


Spikes = list[tuple[np.ndarray, np.ndarray]]  # per unit: (spike times, offsets per window)


def spikes_around(source: Source, request: _Request) -> tuple[np.ndarray, Events, Spikes] | None:
    """(unit rows, events, per unit (times, offsets) in the windows) of one file. Only the
    units table and the events' table or series are walked (issue 16's scoped open)."""
    found = _events_in(source, request)
    if found is None:
        return None
    events_path, event_rows = found
    mine = request.units.filter(pl.col(NWB_PATH_COLUMN_NAME) == source.label)
    units_path = _one_table(mine, "/units")
    catalog = catalog_with_events(source, units_path, is_table, events_path)
    with catalog.backend.deferred_check():  # the spikes' fetch confirms the events kept
        events = read_events(source, catalog, events_path, request.align_to,
                             request.group_by, request.predicate, event_rows)
        rows = mine[TABLE_INDEX_COLUMN_NAME].unique(maintain_order=True).to_numpy()
        trains = SpikeTrains(catalog, units_path)
        windows = np.stack([events.times + request.window[0],
                            events.times + request.window[1]], 1)
        worth = INDEX_WORTH * max(1, len(windows)) * max(1, config.coalesce_gap // trains.item)
        trains.index([r for r in rows.tolist() if trains.count(r) > worth])
        return rows, events, trains.spikes(rows.tolist(), windows)


def per_file(filtered_units_df: Any, work: Callable[[Source], pl.DataFrame | None],
             desc: str, disable_progress: bool) -> list[pl.DataFrame]:
    units = to_lazy(filtered_units_df).collect()
    require_columns(units.schema, [NWB_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME],
                    "filtered_units_df")
    labels = units[NWB_PATH_COLUMN_NAME].unique(maintain_order=True).to_list()
    return results_of([to_source(label) for label in labels], work, desc=desc,
                      disable_progress=disable_progress)


def per_file_around(request: _Request,
                    frame_of: Callable[[Source, np.ndarray, Events, Spikes], pl.DataFrame | None],
                    desc: str, disable_progress: bool) -> list[pl.DataFrame]:
    """Each file's frame_of(source, unit rows, events, spikes around the events) (files
    without the events give none): what the aligned functions compute from."""

    def work(source: Source) -> pl.DataFrame | None:
        found = spikes_around(source, request)
        return None if found is None else frame_of(source, *found)

    return per_file(request.units, work, desc, disable_progress)


def _request(filtered_units_df: Any, intervals_df: Any, align_to: str | None,
             group_by: str | None, window: Sequence[float],
             intervals_df_filter: pl.Expr | None) -> _Request:
    if intervals_df_filter is not None and not isinstance(intervals_df_filter, pl.Expr):
        raise ValueError("`intervals_df_filter` must be a polars expression or None, got "
                         f"{type(intervals_df_filter).__name__}")
    if len(window) != 2 or not float(window[1]) > float(window[0]):
        raise ValueError(f"window must be (start, stop) with start < stop, got {window!r}")
    units = to_lazy(filtered_units_df).collect()
    chosen = intervals_df if isinstance(intervals_df, str) else to_lazy(intervals_df).collect()
    if isinstance(chosen, pl.DataFrame):
        require_columns(chosen.schema, [NWB_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME],
                        "intervals_df")
    return _Request(units, chosen, align_to, group_by, (float(window[0]), float(window[1])),
                    intervals_df_filter)


def _keys(label: str, unit: int, n: int) -> dict[str, Any]:
    return {NWB_PATH_COLUMN_NAME: pl.Series([label], dtype=pl.String).new_from_index(0, n),
            UNITS_TABLE_INDEX_COLUMN_NAME: np.full(n, unit, dtype=np.int64)}


def _out(frames: list[pl.DataFrame], empty: Mapping[str, Any], as_polars: bool | None
         ) -> pd.DataFrame | pl.DataFrame:
    df = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame(schema=empty)
    return df if resolve_as_polars(as_polars) else df.to_pandas()


# -- the public functions ---------------------------------------------------------------------


def get_psth(
    filtered_units_df: FrameType,
    intervals_df: str | FrameType = "/intervals/trials",
    align_to: str | None = "start_time",
    window: tuple[float, float] = (-0.5, 1.0),
    bin_width: float = 0.01,
    group_by: str | None = None,
    intervals_df_filter: pl.Expr | None = None,
    disable_progress: bool = False,
    as_polars: bool | None = None,
) -> pd.DataFrame | pl.DataFrame:
    """Peri-stimulus time histograms: each unit's firing rate around events, per group.

    filtered_units_df: units rows (from get_df / scan_nwb) with _nwb_path and _table_index.
    intervals_df: the events' table or series path in each file (trials, epochs, any
    TimeIntervals, an EventsTable, an event series), or rows of a table (with _nwb_path,
    _table_path, _table_index: only those rows of each file are used).
    align_to: the column whose times are the events ('start_time', 'stim_start_time', an
    EventsTable's 'timestamp'; ignored for a series: its timestamps). window: (start, stop)
    in seconds around each event; bin_width: seconds, a whole number of bins per window.
    group_by: a column of the events (a series: 'data') whose values split them
    ('stimulus_name', 'is_rewarded'); None: one group. intervals_df_filter: a polars
    expression choosing events (e.g. pl.col('contrast') > 0.5).

    One row per (file, unit, group, bin), units in the order of filtered_units_df, groups
    in sorted order (nulls last): _nwb_path, _units_table_index, the group column,
    bin_start, bin_stop (s, relative to the event), spike_count (over the group's events),
    n_events, rate (Hz: mean over events), rate_sem (standard error over events; null with
    one event), rate_ci_low, rate_ci_high (rate -/+ 1.96 rate_sem).
    """
    edges = bin_edges(window, bin_width)
    request = _request(filtered_units_df, intervals_df, align_to, group_by, window,
                       intervals_df_filter)

    def psth_of(source: Source, rows: np.ndarray, events: Events, spikes: Spikes) -> pl.DataFrame | None:
        codes, values = group_codes(events.groups, len(events))
        if not len(rows):
            return None
        n_bins, g = len(edges) - 1, len(values)
        # every unit's bins as numpy first, one frame at the end (a frame per unit costs
        # ~3 ms: a second for 300 units)
        parts = [summarize(bin_counts(times, offsets, events.times, edges), codes, values,
                           bin_width) for times, offsets in spikes]
        n = len(parts) * g * n_bins
        rate = np.concatenate([p.rate.reshape(-1) for p in parts])
        sem = np.concatenate([p.sem.reshape(-1) for p in parts])
        frame = {NWB_PATH_COLUMN_NAME: pl.Series([source.label], dtype=pl.String).new_from_index(0, n),
                 UNITS_TABLE_INDEX_COLUMN_NAME: np.repeat(rows.astype(np.int64), g * n_bins)}
        if group_by and events.groups is not None:
            frame[group_by] = pl.Series(values, dtype=events.groups.dtype).gather(
                np.tile(np.repeat(np.arange(g), n_bins), len(parts)))
        frame |= {"bin_start": np.tile(edges[:-1], g * len(parts)),
                  "bin_stop": np.tile(edges[1:], g * len(parts)),
                  "spike_count": np.concatenate([p.counts.reshape(-1) for p in parts]),
                  "n_events": np.tile(np.repeat(parts[0].n_events, n_bins), len(parts)).astype(np.int64),
                  "rate": rate, "rate_sem": sem,
                  "rate_ci_low": rate - CI_Z * sem, "rate_ci_high": rate + CI_Z * sem}
        return pl.DataFrame(frame).with_columns(
            pl.col("rate_sem", "rate_ci_low", "rate_ci_high").fill_nan(None))

    frames = per_file_around(request, psth_of, "Computing PSTHs", disable_progress)
    empty = {NWB_PATH_COLUMN_NAME: pl.String, UNITS_TABLE_INDEX_COLUMN_NAME: pl.Int64,
             "bin_start": pl.Float64, "bin_stop": pl.Float64, "spike_count": pl.Int64,
             "n_events": pl.Int64, "rate": pl.Float64, "rate_sem": pl.Float64,
             "rate_ci_low": pl.Float64, "rate_ci_high": pl.Float64}
    return _out(frames, empty, as_polars)


def get_aligned_spike_times(
    filtered_units_df: FrameType,
    intervals_df: str | FrameType = "/intervals/trials",
    align_to: str | None = "start_time",
    window: tuple[float, float] = (-0.5, 1.0),
    group_by: str | None = None,
    intervals_df_filter: pl.Expr | None = None,
    disable_progress: bool = False,
    as_polars: bool | None = None,
) -> pd.DataFrame | pl.DataFrame:
    """Each unit's spike times around each event, relative to it (a trial-aligned raster).

    Arguments as get_psth. One row per (file, unit, event), units in the order of
    filtered_units_df, events in time order: _nwb_path, _units_table_index,
    _intervals_table_index (the event's row in its table, or sample of its series),
    the group column (with group_by), event_time (s), spike_times (list of spike - event
    times in [window[0], window[1]))."""
    request = _request(filtered_units_df, intervals_df, align_to, group_by, window,
                       intervals_df_filter)

    def aligned_of(source: Source, rows: np.ndarray, events: Events, spikes: Spikes) -> pl.DataFrame | None:
        k = len(events)
        frames = []
        for unit, (times, offsets) in zip(rows.tolist(), spikes):
            lists = pa.LargeListArray.from_arrays(
                pa.array(offsets, type=pa.int64()),
                pa.array(aligned(times, offsets, events.times), type=pa.float64()))
            frame = {**_keys(source.label, unit, k),
                     INTERVALS_TABLE_INDEX_COLUMN_NAME: events.rows.astype(np.int64)}
            if group_by:
                frame[group_by] = events.groups
            frame |= {"event_time": events.times, "spike_times": pl.Series("spike_times", lists)}
            frames.append(pl.DataFrame(frame))
        return pl.concat(frames) if frames else None

    frames = per_file_around(request, aligned_of, "Aligning spike times", disable_progress)
    empty = {NWB_PATH_COLUMN_NAME: pl.String, UNITS_TABLE_INDEX_COLUMN_NAME: pl.Int64,
             INTERVALS_TABLE_INDEX_COLUMN_NAME: pl.Int64, "event_time": pl.Float64,
             "spike_times": pl.List(pl.Float64)}
    return _out(frames, empty, as_polars)


def get_spike_times_in_window(
    filtered_units_df: FrameType,
    start_time: float,
    stop_time: float,
    disable_progress: bool = False,
    as_polars: bool | None = None,
) -> pd.DataFrame | pl.DataFrame:
    """Each unit's spike times in [start_time, stop_time) (what a raster shows), reading only
    those spans of the trains (after a small index of each train).

    One row per (file, unit) in the order of filtered_units_df: _nwb_path,
    _units_table_index, spike_times (list, seconds)."""
    if not float(stop_time) > float(start_time):
        raise ValueError(f"stop_time must be after start_time, got {start_time}, {stop_time}")
    units = to_lazy(filtered_units_df).collect()

    def work(source: Source) -> pl.DataFrame | None:
        mine = units.filter(pl.col(NWB_PATH_COLUMN_NAME) == source.label)
        rows = mine[TABLE_INDEX_COLUMN_NAME].unique(maintain_order=True).to_list()
        units_path = _one_table(mine, "/units")
        catalog = table_catalog(source, units_path)
        with catalog.backend.deferred_check():  # the spikes' fetch confirms the index kept
            trains = SpikeTrains(catalog, units_path)
            trains.index(rows)
            found = trains.spikes(rows, np.array([[float(start_time), float(stop_time)]]))
        lengths = np.array([len(t) for t, _ in found], dtype=np.int64)
        values = np.concatenate([t for t, _ in found]) if found else np.zeros(0)
        lists = pa.LargeListArray.from_arrays(
            pa.array(np.concatenate([[0], np.cumsum(lengths)]), type=pa.int64()),
            pa.array(values, type=pa.float64()))
        return pl.DataFrame({
            NWB_PATH_COLUMN_NAME: pl.Series([source.label] * len(rows), dtype=pl.String),
            UNITS_TABLE_INDEX_COLUMN_NAME: np.asarray(rows, dtype=np.int64),
            "spike_times": pl.Series("spike_times", lists),
        })

    frames = per_file(units, work, "Reading spike times", disable_progress)
    empty = {NWB_PATH_COLUMN_NAME: pl.String, UNITS_TABLE_INDEX_COLUMN_NAME: pl.Int64,
             "spike_times": pl.List(pl.Float64)}
    return _out(frames, empty, as_polars)
