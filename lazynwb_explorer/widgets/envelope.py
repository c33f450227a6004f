"""The envelope of a series on a screen: the min and max of every pixel column's samples.

Why an envelope and not a downsampled line: a line through a few chosen points hides what lies
between them (a spike between two kept points vanishes; spread-out blocks joined by straight
lines look like a sawtooth). The envelope of a pixel column is the range of every sample whose
time falls in it, so nothing in view can be missed - but only for columns whose samples were
all read. `Envelope` accumulates pieces of read samples; `covered_columns` says which columns a
read span fully contains; columns not covered (or holding no samples) are NaN and drawn as gaps.

Pixel columns split [t0, t1] into `width` equal parts: column j holds the samples with
edges[j] <= t < edges[j + 1], the last one also t == t1.
"""

from __future__ import annotations

import numpy as np


def column_edges(t0: float, t1: float, width: int) -> np.ndarray:
    """width + 1 edges splitting [t0, t1] into equal pixel columns."""
    return np.linspace(float(t0), float(t1), int(width) + 1)


def column_of(t: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The pixel column of each time (-1 before t0, width after t1)."""
    width = len(edges) - 1
    cols = np.searchsorted(edges, t, side="right") - 1
    cols[(t == edges[-1])] = width - 1  # t1 belongs to the last column
    cols[t > edges[-1]] = width
    return cols


class Envelope:
    """Min / max per pixel column and channel, accumulated over pieces of read samples (kept
    in the samples' own dtype until the end: an int16 recording is not copied as float64)."""

    def __init__(self, edges: np.ndarray, n_channels: int):
        self.edges = edges
        self.width = len(edges) - 1
        self.lo: np.ndarray | None = None
        self.hi: np.ndarray | None = None
        self.count = np.zeros(self.width, dtype=np.int64)
        self.n_channels = n_channels

    def add(self, t: np.ndarray, values: np.ndarray) -> None:
        """Fold in samples (values rows x channels; times in any order)."""
        cols = column_of(np.asarray(t, dtype=np.float64), self.edges)
        inside = (cols >= 0) & (cols < self.width)
        if not inside.any():
            return
        cols, values = cols[inside], values[inside]
        if values.dtype == np.bool_:
            values = values.view(np.uint8)
        if self.lo is None or self.hi is None:  # set together, on the first samples
            kind = values.dtype
            top, bottom = ((np.inf, -np.inf) if kind.kind == "f"
                           else (np.iinfo(kind).max, np.iinfo(kind).min))
            self.lo = np.full((self.width, self.n_channels), top, dtype=kind)
            self.hi = np.full((self.width, self.n_channels), bottom, dtype=kind)
        # runs of samples in one column (all of it when the times are sorted), then per column
        starts = np.concatenate([[0], np.flatnonzero(np.diff(cols)) + 1])
        present = cols[starts]
        np.minimum.at(self.lo, present, np.minimum.reduceat(values, starts, axis=0))
        np.maximum.at(self.hi, present, np.maximum.reduceat(values, starts, axis=0))
        np.add.at(self.count, present, np.diff(np.concatenate([starts, [len(cols)]])))

    def result(self, covered: np.ndarray, conversion: float = 1.0,
               offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) as float64 in physical units (columns x channels); NaN where a column is
        not covered or holds no sample."""
        shape = (self.width, self.n_channels)
        if self.lo is None or self.hi is None:
            return np.full(shape, np.nan), np.full(shape, np.nan)
        a = self.lo.astype(np.float64) * conversion + offset
        b = self.hi.astype(np.float64) * conversion + offset
        lo, hi = np.minimum(a, b), np.maximum(a, b)  # a negative conversion swaps them
        keep = (covered & (self.count > 0))[:, None]
        return np.where(keep, lo, np.nan), np.where(keep, hi, np.nan)


def covered_columns(edges: np.ndarray, before: float, after: float) -> tuple[int, int]:
    """Columns [j0, j1) whose samples all lie inside one read span, given `before` (every
    sample preceding the span is earlier than or at this time; -inf when none) and `after`
    (every sample following it is at or later than this time; +inf when none).

    Column j is covered when before < edges[j] and after >= edges[j + 1] (after > t1 for the
    last column, which also holds t1)."""
    width = len(edges) - 1
    j0 = int(np.searchsorted(edges[:-1], before, side="right"))  # first j with edges[j] > before
    # last j with edges[j + 1] <= after (for j < width - 1)
    j1 = int(np.searchsorted(edges[1:-1], after, side="right"))
    if after > edges[-1]:
        j1 = width
    return j0, max(j0, j1)


def drawing(edges: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The line that draws an envelope: two points per column at its centre (min then max,
    max then min on the next, so neighbours join at their extremes) and NaN where a column is
    empty, so the line breaks there. Returns x (2 * width) and y (2 * width x channels)."""
    centres = (edges[:-1] + edges[1:]) / 2
    x = np.repeat(centres, 2)
    flip = (np.arange(len(centres)) % 2 == 1)[:, None]
    first = np.where(flip, hi, lo)
    second = np.where(flip, lo, hi)
    y = np.stack([first, second], axis=1).reshape(2 * len(centres), -1)
    return x, y
