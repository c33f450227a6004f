"""Bounded time-window reads of a series, reduced to what a screen can show honestly.

Why: a raw ephys series holds billions of samples, and a picture of it must neither read them
all nor lie about them. For a window [t0, t1] drawn `width` pixels wide:
  - "samples": few enough samples to draw each one (at most SAMPLES_PER_PIXEL per pixel);
  - "envelope": every sample of the window is read (in pieces of at most PIECE_BYTES, so
    memory stays bounded) and reduced to the min and max of each pixel column (envelope.py);
    nothing in view can be missed;
  - "sampled": the window's bytes exceed the budget, so blocks of whole pixel columns spread
    over the window are read (chunk-aligned when the data are chunked); only the columns a
    block fully covers are drawn, the rest are gaps: never a line across unread samples.
The budget is the raw bytes of the window's rows (samples and stored timestamps): ENVELOPE_BYTES_LOCAL for a local file,
ENVELOPE_BYTES_REMOTE (one round of range requests) for a remote one. Every view says what it
read (`rows_read` of `rows`).

Stored timestamps out of order (NWB forbids it; some files do it) defeat any search: such a
series is read whole when it fits the budget (its envelope does not depend on order), and
otherwise nothing is claimed.

Rounds: the data rows and, for stored timestamps, the same timestamp rows are fetched together
(TimeSeries.read_spans). Stored timestamps are located through a coarse index (COARSE_POINTS
timestamps read once when the series opens), so a zoom costs one round on a remote file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..catalog import open_catalog
from ..errors import LazyNWBError
from ..nwb.lazy_array import LazyDataset, RateTimestamps
from ..nwb.timeseries import TimeSeries
from ..sources import Source
from .envelope import Envelope, column_edges, covered_columns, drawing

COARSE_POINTS = 256
SAMPLES_PER_PIXEL = 2
ENVELOPE_BYTES_LOCAL = 512 * 1024 * 1024
ENVELOPE_BYTES_REMOTE = 32 * 1024 * 1024
PIECE_BYTES = 32 * 1024 * 1024
SMALL_READ_ROWS = 1 << 16  # a bracket this small is read at once
BLOCK_COLUMNS = 8  # a sampled block spans at least this many pixel columns
MAX_WIDTH = 4000
LAZYFRAME_BYTES = 256 * 1024 * 1024  # lazyframe() of a window: at most this much float64


class WindowTooLargeError(LazyNWBError, ValueError):
    """A window holds more samples than a full-resolution read may return."""


@dataclasses.dataclass
class View:
    """What a window looks like: x (shared) and y per channel, and what was read for it."""

    mode: str  # "samples" | "envelope" | "sampled" | "empty"
    x: np.ndarray  # times (samples) or column centres, twice each (envelopes)
    y: np.ndarray  # len(x) x channels, NaN = gap
    t0: float
    t1: float
    width: int
    rows: int  # samples in the window (stored timestamps: a bracket a little wider)
    rows_read: int  # of which read
    covered: int  # pixel columns drawn from every one of their samples (envelopes)
    budget: int  # bytes a window read may take


class SeriesWindows:
    """Reads windows of one series: `view(t0, t1, width, channels)`, `samples(t0, t1, ...)`."""

    def __init__(self, source: Source, path: str, budget: int | None = None):
        self.source = source
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
        # what a row costs to read: its samples and, when stored, its timestamp
        self.row_cost = self.row_bytes + (8 if self.stored else 0)
        self.conversion = self.series.conversion
        self.offset = self.series.offset
        self.budget = int(budget) if budget else (
            ENVELOPE_BYTES_REMOTE if source.is_remote else ENVELOPE_BYTES_LOCAL)
        self._coarse: tuple[np.ndarray, np.ndarray] | None = None
        self._last: tuple[tuple, View] | None = None
        self.unsorted = False  # stored timestamps seen out of order (NWB forbids it; files do it)

    # -- locating samples -----------------------------------------------------------------

    def coarse(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, times) of COARSE_POINTS evenly spread samples (one read, kept)."""
        if self._coarse is None:
            rows = np.unique(np.linspace(0, max(self.n - 1, 0), min(self.n, COARSE_POINTS))
                             .astype(np.int64))
            self._coarse = (rows, self.series.times_at(rows))
            self.unsorted = bool(np.any(np.diff(self._coarse[1]) < 0))
        return self._coarse

    def extent(self) -> tuple[float, float]:
        """Times of the first and last samples."""
        if self.n == 0:
            return (0.0, 0.0)
        _rows, times = self.coarse()
        return float(times[0]), float(times[-1])

    def rows_for(self, t0: float, t1: float) -> tuple[int, int]:
        """Rows [lo, hi) holding every sample with t0 <= t <= t1: exact at a rate; with stored
        timestamps a bracket from the coarse index whose first row is before t0 (or row 0)
        and whose last is after t1 (or the last row)."""
        if not self.stored:
            return self.series.sample_range(t0, t1)
        rows, times = self.coarse()
        if self.unsorted:  # no search finds a window in times out of order: all of them
            return 0, self.n
        a = int(np.searchsorted(times, t0, side="left")) - 1
        b = int(np.searchsorted(times, t1, side="right"))
        lo = int(rows[a]) if a >= 0 else 0
        hi = int(rows[b]) + 1 if b < len(rows) else self.n
        return lo, max(lo, hi)

    def _bounds(self, t0: float | None, t1: float | None) -> tuple[float, float]:
        first, last = self.extent()
        t0 = first if t0 is None else float(t0)
        t1 = last if t1 is None else float(t1)
        return (t1, t0) if t1 < t0 else (t0, t1)

    def _channels(self, channels: Sequence[int]) -> list[int]:
        return [c for c in channels if 0 <= c < self.n_channels] or [0]

    # -- reading --------------------------------------------------------------------------

    def read(self, spans: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """(times, raw rows x channels) of the spans, fetched in one round."""
        if not spans:
            return np.zeros(0), np.zeros((0, self.n_channels))
        t, data = self.series.read_spans(spans)
        return t, data.reshape(len(data), -1)

    def _physical(self, raw: np.ndarray) -> np.ndarray:
        return raw.astype(np.float64) * self.conversion + self.offset

    def _pieces(self, lo: int, hi: int) -> list[tuple[int, int]]:
        step = max(1, PIECE_BYTES // max(self.row_cost, 1))
        if self.chunk_rows:
            step = max(self.chunk_rows, step // self.chunk_rows * self.chunk_rows)
        return [(a, min(a + step, hi)) for a in range(lo, hi, step)]

    def _neighbours(self, a: int, b: int, t: np.ndarray) -> tuple[float, float]:
        """(before, after) of a read span [a, b) with times t: every sample before it is at or
        earlier than `before`, every sample after it at or later than `after`."""
        if isinstance(self.times, RateTimestamps):
            before = float(self.times.times(np.array([a - 1]))[0]) if a > 0 else -np.inf
            after = float(self.times.times(np.array([b]))[0]) if b < self.n else np.inf
            return before, after
        before = float(t[0]) if a > 0 else -np.inf  # sorted: earlier rows are <= t[a]
        after = float(t[-1]) if b < self.n else np.inf
        return before, after

    def plan_blocks(self, lo: int, hi: int, width: int) -> list[tuple[int, int]]:
        """Spans of whole pixel columns spread over [lo, hi), within the budget."""
        per_column = (hi - lo) / width
        length = max(int(np.ceil(per_column * BLOCK_COLUMNS)), 1)
        if self.chunk_rows:
            length = int(np.ceil(length / self.chunk_rows)) * self.chunk_rows
        count = max(1, min(width // BLOCK_COLUMNS, self.budget // max(length * self.row_cost, 1)))
        starts = np.linspace(lo, max(lo, hi - length), count).astype(np.int64)
        if self.chunk_rows:
            starts = (starts // self.chunk_rows) * self.chunk_rows
        spans: list[tuple[int, int]] = []
        for s in sorted(set(starts.tolist())):
            a, b = max(int(s), lo), min(int(s) + length, hi)
            if spans and a <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], b))
            elif b > a:
                spans.append((a, b))
        return spans

    def view(self, t0: float | None, t1: float | None, width: int,
             channels: Sequence[int]) -> View:
        """The window [t0, t1] (None = the series' start / end) for `width` pixels."""
        t0, t1 = self._bounds(t0, t1)
        width = int(min(max(int(width or 800), 10), MAX_WIDTH))
        chosen = self._channels(channels)
        key = (t0, t1, width, tuple(chosen))
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        lo, hi = self.rows_for(t0, t1)
        if hi - lo <= max(SAMPLES_PER_PIXEL * width, SMALL_READ_ROWS) or t1 <= t0:
            # small: read at once, then draw the samples or their envelope
            t, raw = self.read([(lo, hi)] if hi > lo else [])
            mask = (t >= t0) & (t <= t1)
            if mask.sum() <= SAMPLES_PER_PIXEL * width or t1 <= t0:
                order = np.argsort(t[mask], kind="stable")  # a line in time order
                y = self._physical(raw[mask][order][:, chosen])
                result = View("samples" if len(y) else "empty", t[mask][order], y, t0, t1,
                              width, len(y), len(y), 0, self.budget)
            else:
                result = self._envelope_view(t0, t1, lo, hi, width, chosen, [[(lo, hi)]],
                                             "envelope", {0: (t, raw)})
        elif (hi - lo) * self.row_cost <= self.budget:
            pieces = [[piece] for piece in self._pieces(lo, hi)]  # one at a time: bounded memory
            result = self._envelope_view(t0, t1, lo, hi, width, chosen, pieces, "envelope")
        else:
            blocks = [self.plan_blocks(lo, hi, width)]  # within the budget: one round
            result = self._envelope_view(t0, t1, lo, hi, width, chosen, blocks, "sampled")
        self._last = (key, result)
        return result

    def _envelope_view(self, t0: float, t1: float, lo: int, hi: int, width: int,
                       channels: list[int], groups: list[list[tuple[int, int]]], mode: str,
                       read: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> View:
        """The envelope of the samples read in `groups` of spans (one read each); columns
        drawn only where a span covers them whole."""
        edges = column_edges(t0, t1, width)
        envelope = Envelope(edges, len(channels))
        covered = np.zeros(width, dtype=bool)
        for g, group in enumerate(groups):
            t, raw = (read or {}).get(g) or self.read(group)
            envelope.add(t, raw[:, channels])
            at = 0
            for a, b in group:
                part = t[at : at + (b - a)]
                at += b - a
                self.unsorted |= bool(np.any(np.diff(part) < 0))
                if len(part):
                    j0, j1 = covered_columns(edges, *self._neighbours(a, b, part))
                    covered[j0:j1] = True
        if self.unsorted:  # spans say nothing of where unread samples lie: all or nothing
            covered[:] = lo == 0 and hi == self.n and mode == "envelope"
        lo_values, hi_values = envelope.result(covered, self.conversion, self.offset)
        x, y = drawing(edges, lo_values, hi_values)
        rows_read = sum(b - a for group in groups for a, b in group)
        return View(mode, x, y, t0, t1, width, hi - lo, rows_read, int(covered.sum()),
                    self.budget)

    def samples(self, t0: float | None, t1: float | None,
                channels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of every sample in [t0, t1], at full resolution, conversion and
        offset applied; WindowTooLargeError past LAZYFRAME_BYTES."""
        t0, t1 = self._bounds(t0, t1)
        chosen = self._channels(channels)
        lo, hi = self.rows_for(t0, t1)
        size = (hi - lo) * 8 * (1 + len(chosen))
        if size > LAZYFRAME_BYTES:
            raise WindowTooLargeError(
                f"the window [{t0:g}, {t1:g}] s holds {hi - lo:,} samples x {len(chosen)} "
                f"channel(s) ({size / 1e6:,.0f} MB as float64), over the bound of "
                f"{LAZYFRAME_BYTES / 1e6:,.0f} MB for a full-resolution frame: zoom in, plot "
                f"fewer channels, or read it in parts with get_timeseries(...).read_window(t0, t1)",
                source=self.source.label, path=self.series._table_path)
        t, raw = self.read([(lo, hi)] if hi > lo else [])
        mask = (t >= t0) & (t <= t1)
        return t[mask], self._physical(raw[mask][:, chosen])
