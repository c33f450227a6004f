"""Issue 15's rows, as each tool's user would write them: a units raster, a PSTH and
trial-aligned running speed, on the bench session.

Why a module of its own: these rows compare our event-aligned functions (get_spike_times_in_
window, get_psth, get_aligned_timeseries) with what lazynwb 1.0 and pynwb users write instead
(a library call for the spans, then numpy), so each row needs the same numpy on every peer
and one checksum that is equal only when the tools computed the same numbers. The numpy
peers share the helpers here; pynwb's reads sit in ``tools_pynwb.py``.

The units: the first ``units`` rows of /units (100 for the raster, 300 for the PSTH, fewer
when the session has fewer: ``Task.units``), given to the lazynwb-like tools as the frame a
grid or an earlier query already holds (``_nwb_path``, ``_table_index``), so no row times the
read that chose them.

Checksums (the runner's ``comparable`` check compares ``(rows, round(check, 3))``):
* raster: rows = units, check = the exact sum (math.fsum) of every spike time in the window;
* PSTH: rows = units x groups x bins, check = sum over cells of count x a weight that depends
  on (unit, group, bin), so two tools agree only when every bin's count agrees;
* aligned series: rows = samples, check = fsum(values) + fsum(times relative to the event).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from benchmarks.tools import SERIES, Result, frame_bytes

RASTER_UNITS = 100
RASTER_WINDOW = (300.0, 360.0)  # one minute, inside the quick (600 s) and full (3,600 s) sessions
PSTH_UNITS = 300
TRIALS = "/intervals/trials"
ALIGN_TO = "stim_start_time"
GROUP_BY = "stimulus_name"
WINDOW = (-0.5, 1.0)  # s around each stimulus onset: the PSTH's and the running speed's
BIN = 0.025  # s, the PSTH's bins
N_BINS = round((WINDOW[1] - WINDOW[0]) / BIN)
RUNNING_SPEED = SERIES[0]  # /processing/behavior/running_speed: timestamps, conversion 1


def units_frame(url: str, n: int) -> Any:
    """The first ``n`` units of a file, as a units frame of the lazynwb API names them."""
    import polars as pl

    return pl.DataFrame({"_nwb_path": [url] * n, "_table_index": np.arange(n, dtype=np.int64)})


# -- numpy, shared by the peers --------------------------------------------------------------
def windows_of(times: np.ndarray, starts: np.ndarray, stops: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(positions, window of each position) of the sorted ``times`` in [start, stop)."""
    lo = np.searchsorted(times, starts, side="left")
    hi = np.maximum(np.searchsorted(times, stops, side="left"), lo)
    owner = np.repeat(np.arange(len(lo)), hi - lo)
    positions = np.arange(int((hi - lo).sum())) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo)
    return positions + np.repeat(lo, hi - lo), owner


def psth_counts(unit: np.ndarray, group: np.ndarray, relative: np.ndarray, n_units: int,
                n_groups: int) -> np.ndarray:
    """Spike counts per (unit, group, bin) by numpy's histogramdd (edges by linspace)."""
    edges = [np.arange(n_units + 1) - 0.5, np.arange(n_groups + 1) - 0.5,
             np.linspace(WINDOW[0], WINDOW[1], N_BINS + 1)]
    counts, _ = np.histogramdd(np.stack([unit, group, relative], axis=1), bins=edges)
    return counts.astype(np.int64)


def psth_result(counts: np.ndarray, nbytes: int) -> Result:
    """(cells, weighted sum of counts, bytes) of a units x groups x bins count array."""
    u, g, b = np.indices(counts.shape)
    weight = 1 + (u * 7919 + g * 104729 + b * 31) % 1009
    return int(counts.size), float((counts * weight).sum()), nbytes


def raster_result(trains: list[np.ndarray]) -> Result:
    values = np.concatenate(trains) if trains else np.zeros(0)
    return len(trains), math.fsum(values.tolist()), int(values.nbytes)


def aligned_result(relative: np.ndarray, values: np.ndarray) -> Result:
    check = math.fsum(values.tolist()) + math.fsum(relative.tolist())
    return len(values), check, int(values.nbytes + relative.nbytes)


def aligned_samples(timestamps: np.ndarray, data: np.ndarray, events: np.ndarray) -> Result:
    """The samples in [event + WINDOW[0], event + WINDOW[1]) of every event, by numpy."""
    at, owner = windows_of(timestamps, events + WINDOW[0], events + WINDOW[1])
    relative = timestamps[at] - events[owner]
    return aligned_result(relative, data[at].astype(np.float64))


def trial_spikes(trains: list[np.ndarray], events: np.ndarray, names: np.ndarray) -> Result:
    """The PSTH of ``trains`` around ``events`` grouped by ``names``, by numpy."""
    values, codes = np.unique(names, return_inverse=True)
    units, groups, relative = [], [], []
    for u, train in enumerate(trains):
        at, owner = windows_of(train, events + WINDOW[0], events + WINDOW[1])
        units.append(np.full(len(at), u))
        groups.append(codes[owner])
        relative.append(train[at] - events[owner])
    counts = psth_counts(np.concatenate(units), np.concatenate(groups), np.concatenate(relative),
                         len(trains), len(values))
    return psth_result(counts, counts.nbytes)


# -- lazynwb-like: ours by its functions, lazynwb 1.0 by get_spike_times_in_intervals etc. ------
def _raster(lib: Any, urls: list[str], units: int = RASTER_UNITS) -> Result:
    frame = units_frame(urls[0], units)
    if hasattr(lib, "get_spike_times_in_window"):
        df = lib.get_spike_times_in_window(frame, *RASTER_WINDOW, disable_progress=True,
                                           as_polars=True)
        return raster_result([np.asarray(s, dtype=np.float64) for s in df["spike_times"]])
    # lazynwb 1.0: get_spike_times_in_intervals joins windows with the rows of an intervals
    # table, and a raster's window is no table's row: the units' spike_times, then numpy
    df = lib.get_df(urls[0], "/units", exact_path=True, include_column_names="spike_times",
                    nwb_path_to_row_indices={urls[0]: list(range(units))},
                    exclude_array_columns=False, disable_progress=True, as_polars=True)
    trains = []
    for train in df.sort("_table_index")["spike_times"]:
        times = np.asarray(train, dtype=np.float64)
        at, _ = windows_of(times, np.array([RASTER_WINDOW[0]]), np.array([RASTER_WINDOW[1]]))
        trains.append(times[at])
    return raster_result(trains)


def _psth(lib: Any, urls: list[str], units: int = PSTH_UNITS) -> Result:
    import polars as pl

    frame = units_frame(urls[0], units)
    if hasattr(lib, "get_psth"):
        df = lib.get_psth(frame, TRIALS, align_to=ALIGN_TO, window=WINDOW, bin_width=BIN,
                          group_by=GROUP_BY, disable_progress=True, as_polars=True)
        values = df[GROUP_BY].unique().sort().to_list()
        group = df[GROUP_BY].replace_strict(values, list(range(len(values)))).to_numpy()
        bins = np.rint((df["bin_start"].to_numpy() - WINDOW[0]) / BIN).astype(np.int64)
        counts = np.zeros((units, len(values), N_BINS), dtype=np.int64)
        counts[df["_units_table_index"].to_numpy(), group, bins] = df["spike_count"].to_numpy()
        if df.height != counts.size:
            raise AssertionError(f"get_psth gave {df.height} rows, not {counts.size}")
        return psth_result(counts, frame_bytes(df))
    df = lib.get_spike_times_in_intervals(
        frame, {"psth": (pl.col(ALIGN_TO) + WINDOW[0], pl.col(ALIGN_TO) + WINDOW[1])}, TRIALS,
        apply_obs_intervals=False, disable_progress=True, as_polars=True)
    values, codes = np.unique(df[GROUP_BY].to_numpy().astype(str), return_inverse=True)
    long = (df.with_columns(pl.Series("group", codes))
            .select("_units_table_index", "group", ALIGN_TO, "psth").explode("psth")
            .drop_nulls("psth"))
    relative = long["psth"].to_numpy() - long[ALIGN_TO].to_numpy()
    counts = psth_counts(long["_units_table_index"].to_numpy(), long["group"].to_numpy(),
                         relative, units, len(values))
    return psth_result(counts, frame_bytes(df))


def _aligned_series(lib: Any, urls: list[str]) -> Result:
    if hasattr(lib, "get_aligned_timeseries"):
        df = lib.get_aligned_timeseries(urls[0], RUNNING_SPEED, TRIALS, align_to=ALIGN_TO,
                                        window=WINDOW, disable_progress=True, as_polars=True)
        return aligned_result(df["time"].to_numpy(), df["value"].to_numpy())
    series = lib.get_timeseries(urls[0], RUNNING_SPEED, exact_path=True)
    events = lib.get_df(urls[0], TRIALS, exact_path=True, disable_progress=True,
                        as_polars=True)[ALIGN_TO].to_numpy()
    return aligned_samples(np.asarray(series.timestamps[:]), np.asarray(series.data[:]), events)


ALIGNED_LAZY_WORK = {
    "raster": _raster,
    "psth": _psth,
    "aligned_series": _aligned_series,
}
