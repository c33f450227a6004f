"""What is known of a sorted run of times stored at positions [start, stop) of a dataset - a
unit's spike train, a series' timestamps - and where a time falls in it.

Why: finding the spikes of a unit inside a time window needs the positions where the window
starts and ends, and searching for them read by read costs one round trip per probe. Instead
every value ever read is kept here as runs of consecutive positions, and a search uses them:
when the answer lies between two known neighbours it is exact; otherwise it is predicted by
interpolating between the nearest known points on either side, with a margin sized by how far
the answer can stray (spike_spread for spikes, regular_spread for sampled timestamps), so
one read of [prediction - margin, prediction + margin] almost always contains it. The caller
reads what `locate` asks for, `learn`s it, and asks again: a miss only costs another round
with a wider margin, never a wrong answer.

Positions are absolute (the dataset's), so runs read for several units in one request can be
handed to each unit. Values out of order (NWB requires spike times and timestamps sorted;
some files break the rule) set `unsorted`: the caller then reads the whole run and sorts it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

Z = 3.0  # margins span Z standard deviations of where the answer may be
GROWTH = 4.0  # each miss widens the margin this much
SLACK = 2  # positions added to every margin
RATE_DRIFT = 0.2  # spike_spread: how much a rate may drift between two known points
WHOLE_GAP = 64  # unknown values between two known points read whole, not predicted


def spike_spread(m: np.ndarray, f: np.ndarray) -> np.ndarray:
    """How far the position of a time may stray from the linear guess a fraction f of the way
    between two known points with m unknown values between them, for spike trains: the
    binomial spread of a Poisson process (sqrt(m f (1 - f))) plus a rate that drifts by up
    to RATE_DRIFT between the points (stimulus responses, states, the unit's presence),
    which grows with m itself. Measured on the demo's stimulus-driven units: one round for
    most windows, ~2-3x the spikes needed read (a miss costs a round trip, more than the
    extra bytes)."""
    share = m * f * (1.0 - f)
    return np.sqrt(share) + RATE_DRIFT * share


def regular_spread(m: np.ndarray, f: np.ndarray) -> np.ndarray:
    """For nearly regular samples (timestamps of a sampled series): 2% of the gap."""
    return 0.02 * m * np.ones_like(f)


@dataclasses.dataclass
class _Run:
    """Known times (and optionally values) at positions [start, start + len(times))."""

    start: int
    times: np.ndarray
    values: np.ndarray | None

    @property
    def stop(self) -> int:
        return self.start + len(self.times)

    def joined_all(self, others: list[_Run]) -> _Run:
        """This run and the overlapping or touching runs `others` (sorted, apart from one
        another) as one, this one's values winning; one copy of each, however many."""
        runs = [*others, self]
        lo = min(self.start, others[0].start)
        hi = max(self.stop, others[-1].stop)
        times = np.empty(hi - lo, dtype=np.float64)
        keep_values = all(r.values is not None for r in runs)
        values = (np.empty((hi - lo, *self.values.shape[1:]), dtype=self.values.dtype)
                  if keep_values and self.values is not None else None)
        for run in runs:  # self last: its values win
            times[run.start - lo : run.stop - lo] = run.times
            if values is not None:
                values[run.start - lo : run.stop - lo] = run.values
        return _Run(lo, times, values)


@dataclasses.dataclass
class Located:
    """Where values fall: `pos` is exact where `exact`, else [lo, hi) is what to read."""

    exact: np.ndarray
    pos: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


class KnownTimes:
    """Known values of one sorted run at positions [start, stop), kept as runs."""

    def __init__(self, start: int, stop: int, spread: Callable = spike_spread):
        self.start, self.stop = int(start), int(stop)
        self.spread = spread
        self.run_starts: list[int] = []
        self.run_times: list[np.ndarray] = []
        self.run_values: list[np.ndarray | None] = []
        self.unsorted = False
        self._flat_cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # -- what is known ----------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def elements(self) -> int:
        return sum(len(t) for t in self.run_times)

    @property
    def complete(self) -> bool:
        return self.elements == self.size

    @property
    def empty(self) -> bool:
        return not self.run_starts

    def learn(self, lo: int, times: np.ndarray, values: np.ndarray | None = None) -> None:
        """Times read at positions [lo, lo + len(times)) (clipped to this run), and the
        values stored at those positions when the caller keeps them (a series' samples)."""
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        a, b = max(int(lo), self.start), min(int(lo) + len(times), self.stop)
        if b <= a:
            return
        cut = slice(a - int(lo), b - int(lo))
        new = _Run(a, times[cut], None if values is None else np.asarray(values)[cut])
        # the runs it overlaps or touches are one slice of the sorted runs: joined at once
        stops = [s + len(t) for s, t in zip(self.run_starts, self.run_times)]
        first = int(np.searchsorted(stops, new.start, side="left"))
        last = int(np.searchsorted(self.run_starts, new.stop, side="right"))
        touched = self._runs()[first:last]
        if touched:
            new = new.joined_all(touched)
        self.run_starts[first:last] = [new.start]
        self.run_times[first:last] = [new.times]
        self.run_values[first:last] = [new.values]
        self._flat_cache = None
        self._check_order(first)

    def learn_points(self, positions: np.ndarray, times: np.ndarray) -> None:
        """Known (position, time) pairs, sorted by position (points stored by an earlier
        session), into a run nothing is known of yet: consecutive positions form a run."""
        if not self.empty:
            raise ValueError("points are learned into an empty run only")
        positions = np.asarray(positions, dtype=np.int64)
        times = np.asarray(times, dtype=np.float64)
        keep = (positions >= self.start) & (positions < self.stop)
        positions, times = positions[keep], times[keep]
        if not len(positions):
            return
        breaks = np.flatnonzero(np.diff(positions) != 1) + 1
        self.run_starts = [int(p) for p in positions[np.concatenate([[0], breaks])]]
        self.run_times = np.split(times, breaks)
        self._flat_cache = None
        self.run_values = [None] * len(self.run_starts)
        self.unsorted = bool(np.any(np.diff(positions) <= 0) or np.any(np.diff(times) < 0))

    def sampled(self, stride: int) -> tuple[np.ndarray, np.ndarray]:
        """Known (position, time) pairs worth keeping for later: every `stride`-th known
        value of each run and the run's ends (a later search between two of them reads at
        most `stride` values)."""
        positions, times = [], []
        for s, t in zip(self.run_starts, self.run_times):
            pick = np.unique(np.concatenate([np.arange(0, len(t), stride), [len(t) - 1]]))
            positions.append(s + pick)
            times.append(t[pick])
        if not positions:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(positions), np.concatenate(times)

    def _flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every known time in position order, where each run begins in it, and each run's
        start position (kept until the next learn): one search over all runs at once,
        however many there are."""
        if self._flat_cache is None:
            lengths = np.array([len(t) for t in self.run_times], dtype=np.int64)
            flat = self.run_times[0] if len(self.run_times) == 1 else np.concatenate(self.run_times)
            self._flat_cache = (flat, np.concatenate([[0], np.cumsum(lengths)[:-1]]),
                                np.asarray(self.run_starts, dtype=np.int64))
        return self._flat_cache

    @staticmethod
    def _position(at: np.ndarray, offsets: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Positions of the flat known times at indexes `at`."""
        run = np.searchsorted(offsets, at, side="right") - 1
        return starts[run] + (at - offsets[run])

    def _runs(self) -> list[_Run]:
        return [_Run(s, t, v) for s, t, v in zip(self.run_starts, self.run_times, self.run_values)]

    def _check_order(self, at: int) -> None:
        """Is the run at `at` in order, and in order with its neighbours?"""
        if self.unsorted:
            return
        t = self.run_times[at]
        before = self.run_times[at - 1] if at > 0 else None
        after = self.run_times[at + 1] if at + 1 < len(self.run_times) else None
        self.unsorted = bool(
            (len(t) > 1 and np.any(np.diff(t) < 0))
            or (before is not None and len(before) and len(t) and t[0] < before[-1])
            or (after is not None and len(after) and len(t) and after[0] < t[-1]))

    def sort_whole(self) -> None:
        """A complete run out of order, sorted: positions lose their meaning, times are
        what a search needs (the unit's spikes in time order)."""
        if self.complete and self.unsorted and len(self.run_times) == 1:
            order = np.argsort(self.run_times[0], kind="stable")
            self.run_times = [self.run_times[0][order]]
            self._flat_cache = None
            if self.run_values and self.run_values[0] is not None:
                self.run_values = [self.run_values[0][order]]
            self.unsorted = False

    # -- searching --------------------------------------------------------------------------

    def locate(self, values: np.ndarray, attempt: int = 0) -> Located:
        """For each value, the first position whose time is >= value (self.stop when none):
        exact when both neighbours are known, else the positions to read to find it."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        n = len(values)
        pos = np.zeros(n, dtype=np.int64)
        # p: last known position with time < value (start - 1 when none), q: first known
        # position with time >= value (stop when none); the answer is in (p, q]
        p = np.full(n, self.start - 1, dtype=np.int64)
        q = np.full(n, self.stop, dtype=np.int64)
        tp = np.full(n, np.nan)
        tq = np.full(n, np.nan)
        if self.run_starts:
            flat, offsets, starts = self._flat()
            j = np.searchsorted(flat, values, side="left")  # flat[j - 1] < value <= flat[j]
            below, above = j > 0, j < len(flat)
            p[below] = self._position(j[below] - 1, offsets, starts)
            tp[below] = flat[j[below] - 1]
            q[above] = self._position(j[above], offsets, starts)
            tq[above] = flat[j[above]]
        # neighbours adjacent (inside a run, or two runs touching): exact without a read
        exact = q == p + 1
        pos[exact] = q[exact]
        lo, hi = p + 1, q  # by default the whole gap (p, q]: read [p + 1, q)
        # a prediction inside a short gap saves a few bytes and risks a round: read it whole
        both = ~exact & np.isfinite(tp) & np.isfinite(tq) & (tq > tp) & (q - p - 1 > WHOLE_GAP)
        if both.any():
            m = (q[both] - p[both] - 1).astype(np.float64)
            f = np.clip((values[both] - tp[both]) / (tq[both] - tp[both]), 0.0, 1.0)
            guess = p[both] + 1 + f * m
            margin = Z * self.spread(m, f) * GROWTH**attempt + SLACK
            lo[both] = np.maximum(p[both] + 1, np.floor(guess - margin).astype(np.int64))
            hi[both] = np.minimum(q[both], np.ceil(guess + margin).astype(np.int64))
        pos[~exact] = -1
        return Located(exact, pos, np.minimum(lo, self.stop), np.maximum(np.minimum(hi, self.stop), lo))

    def missing(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """The unknown parts of positions [lo, hi)."""
        lo, hi = max(int(lo), self.start), min(int(hi), self.stop)
        out: list[tuple[int, int]] = []
        at = lo
        for s, t in zip(self.run_starts, self.run_times):
            e = s + len(t)
            if e <= at:
                continue
            if s >= hi:
                break
            if s > at:
                out.append((at, s))
            at = max(at, e)
        if at < hi:
            out.append((at, hi))
        return out

    def gather(self, firsts: np.ndarray, lasts: np.ndarray, values: bool = False
               ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """The known times of every range [firsts[i], lasts[i]), concatenated in order (each
        range must lie inside one known run); with `values`, (times, values)."""
        firsts = np.asarray(firsts, dtype=np.int64)
        counts = np.maximum(np.asarray(lasts, dtype=np.int64) - firsts, 0)
        total = int(counts.sum())
        out = np.empty(total, dtype=np.float64)
        kept = next((v for v in self.run_values if v is not None), None) if values else None
        picked = (np.empty((total, *kept.shape[1:]), dtype=kept.dtype)
                  if kept is not None else np.empty((total,)))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        starts = np.array(self.run_starts, dtype=np.int64)
        run = np.searchsorted(starts, firsts, side="right") - 1
        for r in np.unique(run[counts > 0]):
            t = self.run_times[int(r)]
            pick = np.flatnonzero((run == r) & (counts > 0))
            local = firsts[pick] - starts[r]
            n = counts[pick]
            if np.any(local < 0) or np.any(local + n > len(t)):
                raise ValueError("ranges are not all known")
            within = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
            source = np.repeat(local, n) + within
            at = np.repeat(offsets[pick], n) + within
            out[at] = t[source]
            run_values = self.run_values[int(r)]
            if kept is not None and run_values is not None:
                picked[at] = run_values[source]
        return (out, picked) if values else out

    def gather_times(self, firsts: np.ndarray, lasts: np.ndarray) -> np.ndarray:
        """The known times of every range [firsts[i], lasts[i]) (gather without values)."""
        out = self.gather(firsts, lasts)
        assert isinstance(out, np.ndarray)
        return out

    def points(self, per_run: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Known (position, time) pairs: every known value of a short run, `per_run` spread
        over a long one (its ends included) - the cumulative count at those times."""
        positions, times = [], []
        for s, t in zip(self.run_starts, self.run_times):
            pick = (np.arange(len(t)) if len(t) <= per_run
                    else np.unique(np.linspace(0, len(t) - 1, per_run).astype(np.int64)))
            positions.append(s + pick)
            times.append(t[pick])
        if not positions:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(positions), np.concatenate(times)


def merge_spans(spans: list[tuple[int, int]] | np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Spans sorted and joined when closer than `gap` positions (what one request reads)."""
    arr = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    arr = arr[arr[:, 1] > arr[:, 0]]
    if not len(arr):
        return []
    arr = arr[np.argsort(arr[:, 0], kind="stable")]
    ends = np.maximum.accumulate(arr[:, 1])
    breaks = np.flatnonzero(arr[1:, 0] - ends[:-1] >= gap) + 1
    first = np.concatenate([[0], breaks])
    last = np.concatenate([breaks - 1, [len(arr) - 1]])
    return list(zip(arr[first, 0].tolist(), ends[last].tolist()))


def joined_within(spans: list[tuple[int, int]] | np.ndarray, budget: float, gap: int
                  ) -> list[tuple[int, int]]:
    """Spans (sorted, overlapping and touching ones joined) with the gaps between them
    joined nearest first while the positions covered stay within `budget` times the spans'
    own, and no gap of `gap` positions or more joined: the fewest requests for bytes close
    to what is needed."""
    merged = np.asarray(merge_spans(spans, 1), dtype=np.int64).reshape(-1, 2)
    if len(merged) < 2:
        return [(int(a), int(b)) for a, b in merged]
    gaps = merged[1:, 0] - merged[:-1, 1]
    allowance = (budget - 1.0) * float((merged[:, 1] - merged[:, 0]).sum())
    order = np.argsort(gaps, kind="stable")
    spent = np.cumsum(gaps[order])
    joined = np.zeros(len(gaps), dtype=bool)
    joined[order[(spent <= allowance) & (gaps[order] < gap)]] = True
    breaks = np.flatnonzero(~joined) + 1
    first = np.concatenate([[0], breaks])
    last = np.concatenate([breaks - 1, [len(merged) - 1]])
    return list(zip(merged[first, 0].tolist(), merged[last, 1].tolist()))


def index_positions(start: int, stop: int, stride: int) -> list[int]:
    """Positions of an index of a run: its ends and points between them spread evenly, at
    least `stride` apart (so none is closer to the next than `stride`, the last one to the
    run's end included: each is its own small read)."""
    if stop <= start:
        return []
    last = stop - 1
    intervals = (last - start) // max(1, int(stride))
    if intervals <= 1:
        return sorted({start, last})
    return (start + np.arange(intervals + 1, dtype=np.int64) * (last - start) // intervals).tolist()
