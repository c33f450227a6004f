"""Dataset-like views that read only what is indexed: `LazyDataset` and `RateTimestamps`.

`LazyDataset` looks like an h5py.Dataset / zarr.Array (shape, dtype, ndim, attrs, len,
indexing, np.asarray) but every `ds[...]` reads only the rows the first axis selects, and
for plain slices / integers on the other axes only the chunks the whole selection touches
(`Backend.read_box`). Nothing is read when the view is created.

`RateTimestamps` stands in for the timestamps of a series stored as starting_time + rate:
`ts[a:b]` computes those samples only, exactly as pynwb does (index / rate + start).

`searchsorted` finds where times fall in a sorted timestamps array without reading it all:
an interpolation guess, then rounds of probes, each round one concurrent read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from ..backends.base import DatasetMeta
from ..catalog import Catalog
from ..errors import redact

Side = Literal["left", "right"]  # as np.searchsorted
_STEP_READ_LIMIT = 8  # a stepped slice with step <= this reads its covering span
_PROBES = 32  # probes per search round
_BLOCK = 4096  # elements read around an interpolation guess / read whole when this small


# -- index normalisation --------------------------------------------------------------------


def normalize_index(key: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """Expand `key` to one selector per axis (Ellipsis expanded, missing axes = slice(None))."""
    selectors = key if isinstance(key, tuple) else (key,)
    if any(s is None for s in selectors):
        raise TypeError("new-axis (None) indexing is not supported by datasets")
    n_ellipsis = sum(s is Ellipsis for s in selectors)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_ellipsis:
        at = next(i for i, s in enumerate(selectors) if s is Ellipsis)
        fill = len(shape) - (len(selectors) - 1)
        if fill < 0:
            raise IndexError(f"too many indices: {len(selectors) - 1} for {len(shape)} dimensions")
        selectors = (*selectors[:at], *(slice(None),) * fill, *selectors[at + 1 :])
    if len(selectors) > len(shape):
        raise IndexError(f"too many indices: {len(selectors)} for {len(shape)} dimensions")
    return (*selectors, *(slice(None),) * (len(shape) - len(selectors)))


def _as_int(value: Any, n: int) -> int:
    i = int(value)
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError(f"index {int(value)} is out of bounds for axis with size {n}")
    return i


def _as_indices(selector: Any, n: int) -> np.ndarray:
    """An integer / boolean array selector -> int64 indices (negatives resolved, checked)."""
    arr = np.asarray(selector)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise IndexError(f"boolean index has shape {arr.shape}, expected ({n},)")
        return np.flatnonzero(arr)
    if arr.dtype.kind not in "iu":
        raise IndexError(f"indices must be integers, slices or booleans, not {arr.dtype}")
    if arr.ndim != 1:
        raise IndexError("only one-dimensional integer index arrays are supported")
    idx = arr.astype(np.int64)
    idx = np.where(idx < 0, idx + n, idx)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"index out of bounds for axis with size {n}")
    return idx


def _axis_plan(selector: Any, n: int) -> tuple[slice, Any]:
    """(covering slice to read, local selector into what was read) for one axis."""
    if isinstance(selector, int | np.integer):
        i = _as_int(selector, n)
        return slice(i, i + 1), 0
    if isinstance(selector, slice) and selector.step in (None, 1):
        start, stop, _ = selector.indices(n)
        return slice(start, max(start, stop)), slice(None)
    idx = _axis_rows(selector, n)
    if idx.size == 0:
        return slice(0, 0), idx
    lo, hi = int(idx.min()), int(idx.max()) + 1
    return slice(lo, hi), idx - lo


def apply_orthogonal(data: np.ndarray, local: Sequence[Any]) -> Any:
    """Index each axis independently (h5py / zarr semantics, not numpy's broadcasting)."""
    for axis in reversed(range(len(local))):  # last axis first: integer picks drop axes
        sel = local[axis]
        if isinstance(sel, slice) and sel == slice(None):
            continue
        data = data[(slice(None),) * axis + (sel,)]
    return data


# -- LazyDataset ----------------------------------------------------------------------------


class LazyDataset:
    """A dataset in an open file, read on indexing (only the selected part)."""

    def __init__(self, catalog: Catalog, path: str):
        node = catalog.require(path)
        if node.dataset is None:
            from ..errors import InternalPathError

            raise InternalPathError("not a dataset", source=catalog.label, path=node.path)
        self._catalog = catalog
        self._meta: DatasetMeta = node.dataset
        self.name: str = node.path
        self.attrs: dict[str, Any] = dict(node.attrs)

    # array-like metadata (no I/O)
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._meta.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._meta.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def chunks(self) -> tuple[int, ...] | None:
        return self._meta.chunks

    @property
    def file(self) -> str:
        return self._catalog.label

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar dataset")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"<LazyDataset {self.name!r} shape={self.shape} dtype={self.dtype} in {redact(str(self.file))!r}>"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        values = np.asarray(self[()] if not self.shape else self[:])
        return values.astype(dtype) if dtype is not None else values

    def read(self) -> np.ndarray:
        """The whole dataset (one read)."""
        return np.asarray(self[()] if not self.shape else self[:])

    def __getitem__(self, key: Any) -> Any:
        backend = self._catalog.backend
        if not self.shape:  # scalar dataset
            return backend.read(self.name)[key]
        selectors = normalize_index(key, self.shape)
        first = selectors[0]
        n = self.shape[0]
        simple_first = isinstance(first, int | np.integer) or (
            isinstance(first, slice) and (first.step in (None, 1) or _small_step(first, n))
        )
        if simple_first:
            plans = [_axis_plan(s, dim) for s, dim in zip(selectors, self.shape)]
            box = tuple(p[0] for p in plans)
            local = tuple(p[1] for p in plans)
            if any(b.stop <= b.start for b in box):
                empty = np.empty(tuple(b.stop - b.start for b in box), dtype=self.dtype)
                return apply_orthogonal(empty, local)
            return apply_orthogonal(backend.read_box(self.name, box), local)
        # stepped / fancy first axis: read the selected rows only (one round), then the rest
        rows = _axis_rows(first, n)
        rest = [_full_axis_selector(s, dim) for s, dim in zip(selectors[1:], self.shape[1:])]
        if rows.size == 0:
            return apply_orthogonal(np.empty((0, *self.shape[1:]), dtype=self.dtype), [slice(None), *rest])
        unique = np.unique(rows)
        values = backend.read(self.name, unique)
        return apply_orthogonal(values[np.searchsorted(unique, rows)], [slice(None), *rest])


def _small_step(selector: slice, n: int) -> bool:
    return abs(selector.step or 1) <= _STEP_READ_LIMIT


def _full_axis_selector(selector: Any, n: int) -> Any:
    """A selector applied to a whole axis that was read in full."""
    if isinstance(selector, int | np.integer):
        return _as_int(selector, n)
    return selector if isinstance(selector, slice) else _as_indices(selector, n)


def _axis_rows(selector: Any, n: int) -> np.ndarray:
    if isinstance(selector, slice):
        return np.arange(*selector.indices(n), dtype=np.int64)
    return _as_indices(selector, n)


# -- RateTimestamps -------------------------------------------------------------------------


class RateTimestamps:
    """Timestamps of a regularly sampled series, computed on indexing (no reads)."""

    def __init__(self, starting_time: float, rate: float, n_samples: int, unit: str | None = None):
        if not rate or not np.isfinite(rate):
            raise ValueError(f"a sampling rate must be finite and non-zero, got {rate!r}")
        self.starting_time = float(starting_time)
        self.rate = float(rate)
        self._n = int(n_samples)
        self.attrs: dict[str, Any] = {"rate": self.rate} | ({"unit": unit} if unit else {})
        self.name = "timestamps"

    shape = property(lambda self: (self._n,))
    dtype = property(lambda self: np.dtype(np.float64))
    ndim = property(lambda self: 1)
    size = property(lambda self: self._n)
    chunks = None

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"<RateTimestamps n={self._n} starting_time={self.starting_time} rate={self.rate}>"

    def times(self, indices: np.ndarray) -> np.ndarray:
        return np.asarray(indices, dtype=np.float64) / self.rate + self.starting_time

    def __getitem__(self, key: Any) -> Any:
        (selector,) = normalize_index(key, self.shape)
        if isinstance(selector, int | np.integer):
            return self.times(np.asarray([_as_int(selector, self._n)]))[0]
        return self.times(_axis_rows(selector, self._n))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        values = self.times(np.arange(self._n))
        return values.astype(dtype) if dtype is not None else values

    def read(self) -> np.ndarray:
        return self.times(np.arange(self._n))


# -- searching sorted timestamps ------------------------------------------------------------


def searchsorted(
    timestamps: LazyDataset | RateTimestamps | np.ndarray,
    values: Sequence[float],
    side: Side | Sequence[Side] = "left",
    seen: dict[int, float] | None = None,
) -> list[int]:
    """np.searchsorted over lazily read timestamps: only a few small reads, few rounds.

    Assumes the timestamps are sorted (NWB requires it); `side` per value or for all.
    `seen`, when given, collects every (row, time) the search read, so a caller can check
    those for order at no cost."""
    sides = [side] * len(values) if isinstance(side, str) else list(side)
    n = len(timestamps)
    if isinstance(timestamps, np.ndarray):
        return [int(np.searchsorted(timestamps, v, s)) for v, s in zip(values, sides)]
    if isinstance(timestamps, RateTimestamps):
        return [_rate_search(timestamps, float(v), s) for v, s in zip(values, sides)]
    if n == 0:
        return [0] * len(values)
    targets = [_Target(float(v), s, 0, n) for v, s in zip(values, sides)]
    ends = _read_points(timestamps, np.asarray(sorted({0, n - 1})))
    if seen is not None:
        seen.update(ends)
    first, last = ends[0], ends[n - 1]
    for t in targets:
        if not t.before(first):
            t.lo = t.hi = 0
        elif t.before(last):
            t.lo = t.hi = n
        else:
            t.lo, t.hi = 1, n - 1
            if last > first:  # interpolation guess, read a block around it
                g = int((t.value - first) / (last - first) * (n - 1))
                t.guess = min(max(g - _BLOCK // 2, t.lo), max(t.lo, t.hi - _BLOCK))
    while any(t.lo < t.hi for t in targets):
        wanted: set[int] = set()
        for t in (t for t in targets if t.lo < t.hi):
            wanted.update(t.probes())
        known = _read_points(timestamps, np.asarray(sorted(wanted), dtype=np.int64))
        if seen is not None:
            seen.update(known)
        for t in (t for t in targets if t.lo < t.hi):
            t.update(known)
    return [t.lo for t in targets]


class _Target:
    """One search: the answer is in [lo, hi]; rows < lo are 'before', rows >= hi are not."""

    def __init__(self, value: float, side: str, lo: int, hi: int):
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        self.value, self.side, self.lo, self.hi = value, side, lo, hi
        self.guess: int | None = None
        self._asked: list[int] = []

    def before(self, v: float) -> bool:
        return bool(v < self.value) if self.side == "left" else bool(v <= self.value)

    def probes(self) -> list[int]:
        if self.guess is not None:
            a = self.guess
            self.guess = None
            self._asked = list(range(a, min(a + _BLOCK, self.hi)))
        elif self.hi - self.lo <= _BLOCK:
            self._asked = list(range(self.lo, self.hi))
        else:
            step = (self.hi - self.lo) / (_PROBES + 1)
            self._asked = sorted({self.lo + int(step * (k + 1)) for k in range(_PROBES)})
        return self._asked

    def update(self, known: dict[int, float]) -> None:
        for i in self._asked:
            if self.before(known[i]):
                self.lo = max(self.lo, i + 1)
            else:
                self.hi = min(self.hi, i)
                break
        self.lo = min(self.lo, self.hi)


def _read_points(ds: LazyDataset, rows: np.ndarray) -> dict[int, float]:
    values = ds._catalog.backend.read(ds.name, rows)
    return dict(zip(rows.tolist(), np.asarray(values, dtype=np.float64).reshape(len(rows), -1)[:, 0]))


def _rate_search(ts: RateTimestamps, value: float, side: str) -> int:
    """The computed times are monotonic: start from the arithmetic guess, step to the edge."""
    n = len(ts)
    target = _Target(value, side, 0, n)
    i = int(np.clip(np.ceil((value - ts.starting_time) * ts.rate), 0, n))
    while i > 0 and not target.before(ts.times(np.asarray([i - 1]))[0]):
        i -= 1
    while i < n and target.before(ts.times(np.asarray([i]))[0]):
        i += 1
    return i
