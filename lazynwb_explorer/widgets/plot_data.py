"""Bounded time-window reads of a series, downsampled for the screen.

Why bounded: a raw ephys series holds billions of samples. Every read here is at most
`budget` rows: a window that fits is read whole; a bigger one (the overview of a long series,
a wide zoom) is read as evenly spread blocks of contiguous samples (chunk-aligned when the data
are chunked), so peaks inside the blocks are kept and nothing reads the whole array. The rows
are then reduced with MinMaxLTTB (tsdownsample) to a few points per pixel.

Rounds: the data rows and, for stored timestamps, the same timestamp rows are fetched together
in one concurrent round (Backend.prefetched). Stored timestamps are located through a coarse
index (COARSE_POINTS timestamps read once when the series opens), so a zoom costs one round.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from tsdownsample import MinMaxLTTBDownsampler, NaNMinMaxLTTBDownsampler

from ..catalog import open_catalog
from ..errors import LazyNWBError
from ..nwb.lazy_array import LazyDataset, RateTimestamps
from ..nwb.timeseries import TimeSeries
from ..sources import Source

COARSE_POINTS = 256
OVERVIEW_ROWS = 200_000
WINDOW_ROWS = 2_000_000
WINDOW_BYTES = 48 * 1024 * 1024
BLOCKS = 64
CACHE_BYTES = 16 * 1024 * 1024  # a series this small is kept in memory after one read


@dataclasses.dataclass
class Window:
    """Samples of a time window: times, values (rows x selected channels), how they were read."""

    t: np.ndarray
    y: np.ndarray
    mode: str  # "full" (every sample in the window) or "blocks" (spread blocks of samples)
    rows: int  # samples in the window (approximate for stored timestamps)


class SeriesWindows:
    """Reads windows of one series: `window(t0, t1, channels)` and `extent()`."""

    def __init__(self, source: Source, path: str):
        self.series = TimeSeries(source.label, path, open_catalog(source))
        data = self.series.data
        if data.ndim not in (1, 2) or data.dtype.kind not in "iufb":
            raise LazyNWBError(f"cannot plot data of shape {data.shape} and type {data.dtype}",
                               source=source.label, path=path)
        self.n = data.shape[0]
        self.n_channels = 1 if data.ndim == 1 else data.shape[1]
        self.row_bytes = data.dtype.itemsize * self.n_channels
        self.chunk_rows = int(data.chunks[0]) if data.chunks else 0
        self.times: LazyDataset | RateTimestamps = self.series.timestamps
        self.stored = isinstance(self.times, LazyDataset)
        if self.stored and len(self.times) != self.n:
            raise LazyNWBError(f"{len(self.times)} timestamps for {self.n} samples",
                               source=source.label, path=path)
        self.conversion = self.series.conversion
        self.offset = self.series.offset
        self._coarse: tuple[np.ndarray, np.ndarray] | None = None
        self._all: tuple[np.ndarray, np.ndarray] | None = None

    # -- locating samples -----------------------------------------------------------------

    def coarse(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, times) of COARSE_POINTS evenly spread samples (one read, kept)."""
        if self._coarse is None:
            rows = np.unique(np.linspace(0, max(self.n - 1, 0), min(self.n, COARSE_POINTS))
                             .astype(np.int64))
            self._coarse = (rows, self.series.times_at(rows))
        return self._coarse

    def extent(self) -> tuple[float, float]:
        """Times of the first and last samples."""
        if self.n == 0:
            return (0.0, 0.0)
        rows, times = self.coarse()
        return float(times[0]), float(times[-1])

    def rows_for(self, t0: float, t1: float) -> tuple[int, int]:
        """Rows [lo, hi) holding every sample with t0 <= t <= t1 (a few extra when stored)."""
        if not self.stored:
            return self.series.sample_range(t0, t1)
        rows, times = self.coarse()
        a = int(np.searchsorted(times, t0, side="left")) - 1
        b = int(np.searchsorted(times, t1, side="right"))
        lo = int(rows[max(a, 0)]) if a >= 0 else 0
        hi = int(rows[b]) + 1 if b < len(rows) else self.n
        return lo, max(lo, hi)

    # -- reading --------------------------------------------------------------------------

    def budget(self, overview: bool) -> int:
        rows = OVERVIEW_ROWS if overview else WINDOW_ROWS
        return max(1, min(rows, WINDOW_BYTES // (self.row_bytes + (8 if self.stored else 0))))

    def plan(self, lo: int, hi: int, budget: int) -> tuple[list[tuple[int, int]], str]:
        """Row spans to read for [lo, hi): all of it, or blocks spread over it."""
        if hi - lo <= budget:
            return ([(lo, hi)] if hi > lo else []), "full"
        c = self.chunk_rows
        if c and c > budget // BLOCKS:
            length, count = c, max(4, min(BLOCKS, budget // c))
        else:
            length, count = max(1, budget // BLOCKS), BLOCKS
        starts = np.linspace(lo, hi - length, count).astype(np.int64)
        if c:
            starts = np.maximum((starts // c) * c, 0)
        spans: list[tuple[int, int]] = []
        for s in sorted(set(starts.tolist())):
            a, b = max(s, lo), min(s + length, hi)
            if spans and a <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], b))
            elif b > a:
                spans.append((a, b))
        return spans, "blocks"

    def read(self, spans: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """(times, raw rows) of the spans, fetched in one round."""
        if not spans:
            return np.zeros(0), np.zeros((0, self.n_channels))
        t, data = self.series.read_spans(spans)
        return t, data.reshape(len(data), -1)

    def window(self, t0: float | None, t1: float | None, channels: Sequence[int],
               overview: bool = False) -> Window:
        """The samples of [t0, t1] (None = the series' start / end) for the channels."""
        first, last = self.extent()
        t0 = first if t0 is None else float(t0)
        t1 = last if t1 is None else float(t1)
        channels = [c for c in channels if 0 <= c < self.n_channels] or [0]
        if self._all is None and self.n * (self.row_bytes + 8) <= CACHE_BYTES:
            self._all = self.read([(0, self.n)] if self.n else [])
        if self._all is not None:
            t, data = self._all
            mask = (t >= t0) & (t <= t1)
            return Window(t[mask], self._values(data[mask][:, channels]), "full", int(mask.sum()))
        lo, hi = self.rows_for(t0, t1)
        spans, mode = self.plan(lo, hi, self.budget(overview))
        t, data = self.read(spans)
        mask = (t >= t0) & (t <= t1)
        return Window(t[mask], self._values(data[mask][:, channels]), mode, hi - lo)

    def _values(self, raw: np.ndarray) -> np.ndarray:
        values = raw.astype(np.float64)
        return values * self.conversion + self.offset


def downsample(
    t: np.ndarray, y: np.ndarray, n_out: int, positional: bool = False
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(t, y, reduced): at most n_out points of one channel, chosen by MinMaxLTTB. With
    `positional` the bins are over sample positions, not times (spread blocks have gaps in
    time that would leave most time bins empty)."""
    if len(t) <= n_out or n_out < 4:
        return t, y, False
    n_out -= n_out % 2
    finite = np.isfinite(y)
    sampler = MinMaxLTTBDownsampler() if finite.all() else NaNMinMaxLTTBDownsampler()
    values = np.ascontiguousarray(y)
    if positional:
        found = sampler.downsample(values, n_out=n_out)
    else:
        found = sampler.downsample(np.ascontiguousarray(t), values, n_out=n_out)
    idx = np.asarray(found, dtype=np.int64)
    return t[idx], y[idx], True


def points_for(width: Any) -> int:
    """Points per trace for a plot `width` pixels wide: about 3 per pixel, bounded."""
    try:
        pixels = int(width)
    except (TypeError, ValueError):
        pixels = 800
    return int(min(max(3 * max(pixels, 100), 300), 12_000))
