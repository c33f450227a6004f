"""Windows of a time series around many events, read in one concurrent round.

Why: running speed or pupil area around 500 stimulus onsets is 500 small windows of a long
series; a search per window costs round trips, and reading the whole series costs its
bytes. A series sampled at a rate needs no search (rows are arithmetic). For stored
timestamps, a series small enough that its coarse index would be read whole by the
transport (its points closer than a coalesce gap) is read whole, once; otherwise a coarse
index (COARSE_POINTS timestamps, one round when the series is first used) lets every
window's rows be predicted (known_times.KnownTimes, with the spread of
nearly regular samples); the predicted rows' timestamps and data are then read together for
all windows in one round and checked, and a window whose prediction missed is read again
wider in the next round. Samples are in [event + start, event + stop), as spikes are.
"""

from __future__ import annotations

import numpy as np

from ..catalog import Catalog, normalize_path
from ..config import config
from ..errors import LazyNWBError
from .known_times import KnownTimes, merge_spans, regular_spread
from .lazy_array import LazyDataset, searchsorted
from .timeseries import TimeSeries

COARSE_POINTS = 256
MAX_ROUNDS = 8
MAX_BYTES = 256 * 1024 * 1024  # samples a call may read (all windows together)


class WindowTooLargeError(LazyNWBError, ValueError):
    """The windows hold more samples than a call may read."""


class ChannelError(LazyNWBError, ValueError):
    """2-D data without a channel, or a channel the data do not have."""


class AlignedSeries:
    """Windows of one series (`windows(...)`), conversion and offset applied."""

    def __init__(self, catalog: Catalog, series_path: str):
        self.catalog = catalog
        self.path = normalize_path(series_path)
        self.series = TimeSeries(catalog.label, self.path, catalog)
        data = self.series.data
        if data.dtype.kind not in "iufb":
            raise LazyNWBError(f"cannot average data of type {data.dtype}",
                               source=catalog.label, path=self.path)
        self.shape = data.shape
        self.n = data.shape[0] if data.shape else 0
        self.row_bytes = data.dtype.itemsize * int(np.prod(data.shape[1:], dtype=np.int64))
        self.stamps = self.series.timestamps
        self.stored = isinstance(self.stamps, LazyDataset)
        self.conversion, self.offset = self.series.conversion, self.series.offset
        self.known = KnownTimes(0, self.n, regular_spread)
        self.rounds = 0
        if self.stored and self.n:
            self._first_read()

    def _first_read(self) -> None:
        """The coarse index (a few samples, timestamps and data), or the whole series when
        its points would lie closer than a coalesce gap: the transport would then read it
        all anyway, and keeping all of it finds every window with no second round."""
        stamp_bytes = self.stamps.dtype.itemsize
        if self.n * max(stamp_bytes, self.row_bytes) <= COARSE_POINTS * config.coalesce_gap \
                and self.n * (stamp_bytes + self.row_bytes) <= MAX_BYTES:
            times, raw = self.series.read_spans([(0, self.n)])
            self.rounds += 1
            self.known.learn(0, times, raw)
            return
        rows = np.unique(np.linspace(0, self.n - 1, min(self.n, COARSE_POINTS)).astype(np.int64))
        times, raw = self.series.read_spans([(r, r + 1) for r in rows.tolist()])
        self.rounds += 1
        for k, row in enumerate(rows.tolist()):
            self.known.learn(row, times[k : k + 1], raw[k : k + 1])

    def _check(self, channel: int | None) -> None:
        if len(self.shape) > 1 and channel is None:
            raise ChannelError(f"the data have shape {self.shape}: choose a channel",
                               source=self.catalog.label, path=self.path)
        if channel is not None and (len(self.shape) < 2 or not 0 <= channel < self.shape[1]):
            raise ChannelError(f"channel {channel} is not a column of data of shape "
                               f"{self.shape}", source=self.catalog.label, path=self.path)

    def windows(self, windows: np.ndarray, channel: int | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, values, offsets) of the samples in each window [start, stop) (sorted by
        start): window j's samples are [offsets[j]:offsets[j + 1]]."""
        self._check(channel)
        windows = np.asarray(windows, dtype=np.float64).reshape(-1, 2)
        if not self.stored:
            first = np.asarray(searchsorted(self.stamps, windows[:, 0].tolist(), "left"), np.int64)
            last = np.asarray(searchsorted(self.stamps, windows[:, 1].tolist(), "left"), np.int64)
            last = np.maximum(last, first)
            self._budget(int((last - first).sum()))
            spans = merge_spans(np.stack([first, last], 1), 1)
            times, raw = self.series.read_spans(spans) if spans else (np.zeros(0), None)
            self.rounds += bool(spans)
            at = 0
            for a, b in spans:
                self.known.learn(a, times[at : at + b - a], raw[at : at + b - a] if raw is not None else None)
                at += b - a
        else:
            self._search(windows)
            first = self.known.locate(windows[:, 0]).pos
            last = np.maximum(self.known.locate(windows[:, 1]).pos, first)
        times, values = self.known.gather(first, last, values=True)
        values = values.reshape(len(values), -1)
        values = values[:, channel if channel is not None else 0].astype(np.float64)
        offsets = np.concatenate([[0], np.cumsum(last - first)]).astype(np.int64)
        return times, values * self.conversion + self.offset, offsets

    def _budget(self, rows: int) -> None:
        if rows * self.row_bytes > MAX_BYTES:
            raise WindowTooLargeError(
                f"the windows hold {rows:,} samples ({rows * self.row_bytes / 1e6:,.0f} MB), "
                f"over the bound of {MAX_BYTES / 1e6:,.0f} MB: use fewer or shorter windows",
                source=self.catalog.label, path=self.path)

    def _search(self, windows: np.ndarray) -> None:
        """Read the windows' rows (timestamps and data together), predicting them from what is
        known, until every window's ends are found exactly."""
        for attempt in range(MAX_ROUNDS):
            first = self.known.locate(windows[:, 0], attempt)
            last = self.known.locate(windows[:, 1], attempt)
            lo = np.where(first.exact, first.pos, first.lo)
            hi = np.where(last.exact, last.pos, last.hi)
            spans = [np.stack([lo, hi], 1)]
            for ends in (first, last):
                spans.append(np.stack([ends.lo[~ends.exact], ends.hi[~ends.exact]], 1))
            wanted = [part for a, b in merge_spans(np.concatenate(spans), 1)
                      for part in self.known.missing(a, b)]
            if not wanted:
                return
            self._budget(sum(b - a for a, b in wanted))
            times, raw = self.series.read_spans(wanted)
            self.rounds += 1
            at = 0
            for a, b in wanted:
                self.known.learn(a, times[at : at + b - a], raw[at : at + b - a])
                at += b - a
            if self.known.unsorted:
                raise LazyNWBError("timestamps are not in time order: windows cannot be found "
                                   "by search (read the series with read_window)",
                                   source=self.catalog.label, path=self.path)
        raise LazyNWBError("windows not found", source=self.catalog.label, path=self.path)
