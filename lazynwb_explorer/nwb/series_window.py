"""The samples of a time series inside a time window, correct even when timestamps are
not sorted.

NWB requires sorted timestamps, so a window is found by binary search (lazy_array.
searchsorted: a few small reads). Real files break the rule (DANDI 000006's lick times go
backwards 95 times in 1,016 samples), and a search over unsorted times silently misses
samples. So every window read checks that the times are in order: a short series (up to
_WHOLE_CHECK samples, one read of <= 512 KB, once) is read whole and checked; a long one has
checked what the read sees anyway - the times the search probed, the window's times and
the sample just outside each end. Once a series is seen out of order the verdict is kept in
the file's catalog (also on disk), and windows are found by scanning every timestamp, with
a warning. A long series out of order only far from every probe and window still reads
as sorted: proving order would mean reading every timestamp.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..catalog import Catalog
from ..errors import redact
from .lazy_array import LazyDataset, RateTimestamps, Side, searchsorted

_WHOLE_CHECK = 65_536  # series this short are checked whole: one read of <= 512 KB
_UNSORTED = "#unsorted"  # catalog.small_arrays key suffix: [1] out of order, [0] in order


def window(
    catalog: Catalog,
    series_path: str,
    timestamps: LazyDataset | RateTimestamps,
    data: Any,
    t0: float | None,
    t1: float | None,
    channels: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(times, data) of the samples with t0 <= time <= t1 (None = unbounded), in file order."""
    if isinstance(timestamps, RateTimestamps):
        i0, i1 = search(timestamps, t0, t1)
        return _rows(timestamps, data, slice(i0, i1), channels)
    if _known_unsorted(catalog, timestamps):
        return _scan(catalog, series_path, timestamps, data, t0, t1, channels)
    seen: dict[int, float] = {}
    i0, i1 = search(timestamps, t0, t1, seen)
    n = len(timestamps)
    lo, hi = max(i0 - 1, 0), min(i1 + 1, n)  # the window and one sample either side
    around = np.asarray(timestamps[lo:hi], dtype=np.float64)
    probed = np.asarray([seen[i] for i in sorted(seen)], dtype=np.float64)
    if _in_order(around, i0 - lo, i1 - lo, t0, t1) and not np.any(np.diff(probed) < 0):
        times = around[i0 - lo : i1 - lo]
        if channels is None or data.ndim < 2:
            return times, np.asarray(data[i0:i1])
        return times, np.asarray(data[i0:i1, channels])
    catalog.small_arrays[timestamps.name + _UNSORTED] = np.array([1], dtype=np.int8)
    return _scan(catalog, series_path, timestamps, data, t0, t1, channels)


def search(
    timestamps: Any, t0: float | None, t1: float | None, seen: dict[int, float] | None = None
) -> tuple[int, int]:
    """(i0, i1) of sorted timestamps: i0 <= i < i1 have t0 <= time <= t1 (`seen` collects
    the probed times of a stored series)."""
    n = len(timestamps)
    values: list[float] = []
    sides: list[Side] = []
    if t0 is not None:
        values.append(float(t0))
        sides.append("left")
    if t1 is not None:
        values.append(float(t1))
        sides.append("right")
    if seen is not None and isinstance(timestamps, LazyDataset):
        found = searchsorted(timestamps, values, sides, seen) if values else []
    else:
        found = searchsorted(timestamps, values, sides) if values else []
    i0 = found.pop(0) if t0 is not None else 0
    i1 = found.pop(0) if t1 is not None else n
    return i0, max(i0, i1)


def _rows(timestamps: Any, data: Any, rows: Any, channels: Any) -> tuple[np.ndarray, np.ndarray]:
    times = np.asarray(timestamps[rows], dtype=np.float64)
    if channels is None or data.ndim < 2:
        return times, np.asarray(data[rows])
    return times, np.asarray(data[rows, channels])


def _known_unsorted(catalog: Catalog, timestamps: LazyDataset) -> bool:
    key = timestamps.name + _UNSORTED
    verdict = catalog.small_arrays.get(key)
    if verdict is None and len(timestamps) <= _WHOLE_CHECK:
        times = np.asarray(timestamps[:], dtype=np.float64)
        unsorted = bool(np.any(np.diff(times[~np.isnan(times)]) < 0))
        verdict = catalog.small_arrays[key] = np.array([int(unsorted)], dtype=np.int8)
    return verdict is not None and bool(verdict[0])


def _in_order(around: np.ndarray, a: int, b: int, t0: float | None, t1: float | None) -> bool:
    """What a sorted series must show around a window [a, b) found by search (`around`
    holds it and the samples just outside): times in order and inside [t0, t1], the one
    before earlier than t0, the one after later than t1."""
    times = around[a:b]
    if len(times) > 1 and np.any(np.diff(times) < 0):
        return False
    if len(times) and ((t0 is not None and times[0] < t0) or (t1 is not None and times[-1] > t1)):
        return False
    if a > 0 and t0 is not None and around[a - 1] >= t0:
        return False
    return not (b < len(around) and t1 is not None and around[b] <= t1)


def _scan(
    catalog: Catalog, series_path: str, timestamps: LazyDataset, data: Any,
    t0: float | None, t1: float | None, channels: Any,
) -> tuple[np.ndarray, np.ndarray]:
    warnings.warn(
        f"the timestamps of {series_path} in {redact(catalog.label)} are not sorted (NWB requires "
        f"it): the window is found by reading every timestamp, not by searching",
        stacklevel=4,
    )
    times = np.asarray(timestamps[:], dtype=np.float64)
    keep = np.ones(len(times), dtype=bool)
    if t0 is not None:
        keep &= times >= t0
    if t1 is not None:
        keep &= times <= t1
    rows = np.flatnonzero(keep)
    if channels is None or data.ndim < 2:
        return times[rows], np.asarray(data[rows])
    return times[rows], np.asarray(data[rows, channels])
