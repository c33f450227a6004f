"""Spike times of a units table, read by time window: for the units asked for, only the spikes
inside the windows asked for.

Why: a raster zoomed to a minute of an hour-long session, or a PSTH of 1.5 s around each trial,
needs a small part of each unit's spike train, and a remote read costs a round trip per
dependent step. Each unit's train is a sorted run of the ragged `spike_times` data at the
positions its `spike_times_index` row gives (known from the catalog). What has been read of
it is kept (known_times.KnownTimes): a window's ends are found exactly where known values
bracket them, else predicted between known points with a margin, and every unit's spans are
read together - one concurrent round, coalesced like any ragged read - then checked: a
prediction that missed is read again wider in the next round (rare), so answers are always
exact.

Which spans are read:
- a unit nothing is known of is read whole (a PSTH over trials spread across the session
  needs most of it anyway, and the transport would coalesce the gaps between its windows);
- `index(rows)` first reads a few points of each unit (its ends and one point every
  `stride` values, the points a coalesce gap apart so each is its own small request), after
  which windows are read as predicted spans (the raster, zoomed in);
- spans are joined nearest first while the bytes read stay within SPAN_BUDGET times the
  spans' own (`joined_within`), and never across more than `config.coalesce_gap` (everything
  read is kept): a unit's window is a few KB, and joining at the coalesce gap alone would
  also fetch the units between two units' windows (5x the bytes a raster of 100 units
  needs), while joining nothing costs a request per span.
Memory: at most MAX_KEPT values are kept per reader; the least recently used units are
forgotten first.

What is learned outlives the reader: a sample of the known values (every POINT_STRIDE-th of
each known run, and its ends) is kept in the catalog's small arrays, which are stored with
the catalog. A later reader's `index` (the next call, or a new session) starts from those
points, so the raster it draws needs no index round: its windows are found between known
points, one round, reading at most POINT_STRIDE values past each end.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from ..backends.base import narrower_gap
from ..catalog import Catalog, normalize_path
from ..config import config
from ..errors import ColumnError, LazyNWBError, redact
from .known_times import KnownTimes, index_positions, joined_within, merge_spans
from .ragged import read_index, row_spans
from .tables import describe_table

MAX_ROUNDS = 8  # a miss widens its margin 4x a round: the whole gap is read by round 4
MAX_KEPT = 32_000_000  # values kept per reader (256 MB of float64)
INDEX_POINTS_PER_UNIT = 64
SPAN_BUDGET = 1.25  # spans are joined while the bytes read stay within this x their own
POINT_STRIDE = 32  # a known value kept for later readers every this many
POINTS_PER_UNIT = 256  # beyond this many, a unit's kept points are spread further apart
MAX_POINTS = 65_536  # points kept per column (thinned evenly beyond)
_POSITIONS, _TIMES = "#point_positions", "#point_times"  # catalog.small_arrays key suffixes


class SpikeTrains:
    """The spike trains of one file's units table (`column`, ragged, usually spike_times)."""

    def __init__(self, catalog: Catalog, table_path: str = "/units", column: str = "spike_times"):
        self.catalog = catalog
        self.table_path = normalize_path(table_path)
        table = describe_table(catalog, self.table_path)
        found = table.columns.get(column)
        if found is None or len(found.index_paths) != 1:
            raise ColumnError(f"no ragged column {column!r} of spike times in this table",
                              source=catalog.label, path=self.table_path)
        self.column = found
        self.n_units = table.length
        index_path = found.index_paths[0]
        read_index(catalog, index_path)
        rows = np.arange(self.n_units, dtype=np.int64)
        self.starts, self.stops = row_spans(catalog, index_path, rows)
        total = int(found.meta.shape[0]) if found.meta.shape else 0
        self.starts, self.stops = np.minimum(self.starts, total), np.minimum(self.stops, total)
        self.item = max(1, found.meta.dtype.itemsize)
        self._known: OrderedDict[int, KnownTimes] = OrderedDict()
        self._lock = threading.RLock()
        self.rounds = 0  # data rounds this reader has made (tests and benchmarks look)

    # -- bookkeeping ------------------------------------------------------------------------

    def count(self, row: int) -> int:
        """Spikes of a unit (from the index: no read)."""
        row = self._in_table(row)
        return int(self.stops[row] - self.starts[row])

    def _in_table(self, row: int) -> int:
        """A unit's row, checked: a row past the table is the caller's error, named."""
        row = int(row)
        if not 0 <= row < self.n_units:
            raise LazyNWBError(f"unit row {row} is not in the table (rows 0 to {self.n_units - 1})",
                               source=self.catalog.label, path=self.table_path)
        return row

    def _unit(self, row: int) -> KnownTimes:
        row = self._in_table(row)
        known = self._known.get(row)
        if known is None:
            known = self._known[row] = KnownTimes(int(self.starts[row]), int(self.stops[row]))
        self._known.move_to_end(row)
        return known

    def _stored_points(self) -> tuple[np.ndarray, np.ndarray]:
        arrays = self.catalog.small_arrays
        positions = arrays.get(self.column.data_path + _POSITIONS)
        times = arrays.get(self.column.data_path + _TIMES)
        if positions is None or times is None or len(positions) != len(times):
            return np.zeros(0, np.int64), np.zeros(0)
        return np.asarray(positions, dtype=np.int64), np.asarray(times, dtype=np.float64)

    def _seed(self, unit: KnownTimes) -> bool:
        """Start a unit from the points earlier readers kept; whether there were any."""
        positions, times = self._stored_points()
        a, b = np.searchsorted(positions, [unit.start, unit.stop])
        if b > a:
            unit.learn_points(positions[a:b], times[a:b])
        return bool(b > a)

    def _keep_points(self, rows: Sequence[int]) -> None:
        """Add a sample of what is known of these units to the points kept in the catalog:
        at most ~POINTS_PER_UNIT each. Units out of order are left out: they are read whole
        anyway."""
        units = [self._known[r] for r in dict.fromkeys(rows) if r in self._known]
        new = [u.sampled(max(POINT_STRIDE, u.elements // POINTS_PER_UNIT)) for u in units
               if not u.unsorted]
        if not new:
            return
        old_positions, old_times = self._stored_points()
        positions = np.concatenate([old_positions, *(p for p, _ in new)])
        times = np.concatenate([old_times, *(t for _, t in new)])
        positions, first = np.unique(positions, return_index=True)
        if len(positions) == len(old_positions):
            return  # nothing new
        times = times[first]
        finite = np.isfinite(times)
        positions, times = positions[finite], times[finite]
        if len(positions) > MAX_POINTS:
            step = -(-len(positions) // MAX_POINTS)
            positions, times = positions[::step], times[::step]
        self.catalog.small_arrays[self.column.data_path + _POSITIONS] = positions
        self.catalog.small_arrays[self.column.data_path + _TIMES] = times

    def _forget(self, keep: set[int]) -> None:
        kept = sum(k.elements for k in self._known.values())
        for row in list(self._known):
            if kept <= MAX_KEPT:
                break
            if row not in keep:
                kept -= self._known.pop(row).elements

    def _gap(self) -> int:
        return max(1, int(config.coalesce_gap) // self.item)

    def _read(self, wanted: dict[int, list[tuple[int, int]]]) -> None:
        """Read every unit's spans in one round (coalesced) and learn them."""
        spans = joined_within([s for parts in wanted.values() for s in parts], SPAN_BUDGET,
                              self._gap())
        if not spans:
            return
        with narrower_gap(1):  # the transport keeps the spans as joined here
            values = np.asarray(self.catalog.backend.read_spans(self.column.data_path, spans),
                                dtype=np.float64).reshape(-1)
        self.rounds += 1
        at = 0
        bounds = []
        for a, b in spans:
            bounds.append((a, b, at))
            at += b - a
        for row in wanted:
            unit = self._unit(row)
            for a, b, offset in bounds:
                if b > unit.start and a < unit.stop:
                    unit.learn(a, values[offset : offset + (b - a)])
        self._forget(set(wanted))

    # -- reading ----------------------------------------------------------------------------

    def index(self, rows: Sequence[int], stride: int | None = None) -> None:
        """Read a few points of every listed unit nothing is known of yet (one round): its
        first and last spike and one every `stride` (default: a coalesce gap of values,
        at most INDEX_POINTS_PER_UNIT points). A unit smaller than a coalesce gap is read
        whole (the request would fetch it anyway). A unit with points kept by an earlier
        reader starts from those instead, with no read."""
        with self._lock:
            gap = self._gap()
            wanted: dict[int, list[tuple[int, int]]] = {}
            for row in dict.fromkeys(int(r) for r in rows):
                unit = self._unit(row)
                if not unit.empty or unit.size == 0 or self._seed(unit):
                    continue
                # points more than a coalesce gap of bytes apart (gap + 1 values between
                # them), else the transport joins them into one read of the whole train
                step = stride or max(gap + 2, -(-unit.size // INDEX_POINTS_PER_UNIT))
                wanted[row] = [(p, p + 1) for p in index_positions(unit.start, unit.stop, step)]
            self._read(wanted)
            self._keep_points(list(wanted))

    def spikes(self, rows: Sequence[int], windows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each unit's spikes inside the windows, one (times, offsets) per row: the spikes of
        window j are times[offsets[j]:offsets[j + 1]]. Windows are [start, stop) in seconds,
        sorted by start; a spike at a window's stop is not in it (as get_spike_times_in_
        intervals). Reads only the spans needed, in as few rounds as the predictions allow."""
        windows = np.asarray(windows, dtype=np.float64).reshape(-1, 2)
        if len(windows) > 1 and np.any(np.diff(windows[:, 0]) < 0):
            raise ValueError("windows must be sorted by their start")
        rows = [int(r) for r in rows]
        with self._lock:
            attempt = {row: 0 for row in rows}
            for _ in range(MAX_ROUNDS):
                wanted = {}
                for row in dict.fromkeys(rows):
                    parts = self._wanted(row, windows, attempt[row])
                    if parts:
                        wanted[row] = parts
                        attempt[row] += 1
                if not wanted:
                    break
                self._read(wanted)
            else:  # pragma: no cover - each round widens every miss 4x; never reached
                raise LazyNWBError("spike windows not found", source=self.catalog.label,
                                   path=self.column.data_path)
            self._keep_points(rows)
            return [self._collect(row, windows) for row in rows]

    def _wanted(self, row: int, windows: np.ndarray, attempt: int) -> list[tuple[int, int]]:
        """The unknown spans of a unit still needed for the windows (empty: all found)."""
        unit = self._unit(row)
        if unit.size == 0 or len(windows) == 0 or (unit.complete and not unit.unsorted):
            return []
        if unit.empty:  # nothing known: the whole train
            return [(unit.start, unit.stop)]
        if unit.unsorted:
            if unit.complete:
                self._warn_unsorted(row)
                unit.sort_whole()
                return []
            return unit.missing(unit.start, unit.stop)
        first = unit.locate(windows[:, 0], attempt)
        last = unit.locate(windows[:, 1], attempt)
        # each window's spikes, from its first end to its last (predicted where not exact),
        # and the read range of each end still predicted
        lo = np.where(first.exact, first.pos, first.lo)
        hi = np.where(last.exact, last.pos, last.hi)
        spans = [np.stack([lo, hi], axis=1)]
        for ends in (first, last):
            spans.append(np.stack([ends.lo[~ends.exact], ends.hi[~ends.exact]], axis=1))
        return [part for a, b in merge_spans(np.concatenate(spans), 1) for part in unit.missing(a, b)]

    def _collect(self, row: int, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        unit = self._unit(row)
        if unit.size == 0 or len(windows) == 0:
            return np.zeros(0), np.zeros(len(windows) + 1, dtype=np.int64)
        if unit.complete and len(unit.run_times) == 1 and not unit.unsorted:
            # a train read whole (a PSTH's): one search of it, not locate's over known runs
            times = unit.run_times[0]
            first = unit.start + np.searchsorted(times, windows[:, 0], side="left")
            last = unit.start + np.searchsorted(times, windows[:, 1], side="left")
        else:
            first, last = unit.locate(windows[:, 0]).pos, unit.locate(windows[:, 1]).pos
        last = np.maximum(last, first)
        counts = last - first
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return unit.gather_times(first, last), offsets

    def _warn_unsorted(self, row: int) -> None:
        warnings.warn(
            f"spike times of unit row {row} of {self.table_path} in {redact(self.catalog.label)} "
            "are not in time order (NWB requires it): that unit is read whole and sorted",
            stacklevel=4,
        )

    def extent(self, rows: Sequence[int]) -> tuple[float, float] | None:
        """(first, last) spike of the listed units, from what is known of their ends (index
        them first); None when no end is known."""
        firsts, lasts = [], []
        for row in rows:
            unit = self._known.get(int(row))
            if unit is None or unit.empty or unit.unsorted:
                continue
            if unit.run_starts[0] == unit.start:
                firsts.append(float(unit.run_times[0][0]))
            if unit.run_starts[-1] + len(unit.run_times[-1]) == unit.stop:
                lasts.append(float(unit.run_times[-1][-1]))
        if not firsts or not lasts:
            return None
        return min(firsts), max(lasts)

    def estimated_counts(self, row: int, edges: np.ndarray) -> np.ndarray:
        """Spikes per bin of `edges` estimated from what is known of a unit: its cumulative
        count is exact at every known spike and interpolated linearly between them."""
        unit = self._unit(row)
        positions, times = unit.points()
        if unit.size == 0 or len(times) < 2:
            return np.zeros(len(edges) - 1)
        cumulative = np.interp(edges, times, positions - unit.start, left=0.0,
                               right=float(unit.size))
        return np.diff(cumulative)

    def planned_bytes(self, rows: Sequence[int], windows: np.ndarray) -> int:
        """Bytes the next round of `spikes(rows, windows)` would read (its predictions)."""
        windows = np.asarray(windows, dtype=np.float64).reshape(-1, 2)
        with self._lock:
            return sum(b - a for row in dict.fromkeys(int(r) for r in rows)
                       for a, b in self._wanted(row, windows, 0)) * self.item
