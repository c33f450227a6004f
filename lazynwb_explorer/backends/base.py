"""The small interface both storage backends (HDF5, Zarr) answer, and shared decoding.

Everything above this layer sees plain data: attribute values as Python scalars, str, or
lists; string datasets as numpy object arrays of str; object references as the referenced
object's absolute path (str); compound rows as numpy structured arrays with references
already turned into paths.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..config import config
from ..errors import OutsideSourceError, ReadTooLargeError

Selection = slice | np.ndarray | None  # rows along axis 0: all, a slice, or sorted unique ids
# A dataset declaring more than this with no data stored is hostile, not a placeholder: its
# values would be fill, allocated in full (3x10^8 declared rows in a 390 KB file took 15 GB).
# A read that is almost all fill (more than 4x this missing, under 1% present) is refused too.
UNBACKED_LIMIT = 16 << 20
MAX_DEPTH = 256  # groups nested deeper than this are hostile (NWB files nest about 6 deep)


@dataclasses.dataclass(frozen=True)
class DatasetMeta:
    shape: tuple[int, ...]
    dtype: np.dtype  # after decoding: object for strings and references
    chunks: tuple[int, ...] | None = None
    compression: str | None = None
    filters: tuple[str, ...] = ()
    is_string: bool = False
    is_reference: bool = False
    storage_dtype: str = ""  # how it is stored, for display (e.g. 'vlen str', '|S10', '<f8')


@dataclasses.dataclass(frozen=True)
class Node:
    path: str
    is_group: bool
    attrs: dict[str, Any]
    dataset: DatasetMeta | None = None  # for datasets
    children: tuple[str, ...] = ()  # names, for groups; links resolved
    is_link: bool = False  # a soft link to another object
    outside: str | None = None  # why reading it would leave the file (never done unless allowed)

    @property
    def is_dataset(self) -> bool:
        return not self.is_group

    @property
    def neurodata_type(self) -> str | None:
        value = self.attr("neurodata_type")
        return value if isinstance(value, str) else None

    def attr(self, name: str, default: Any = None) -> Any:
        """An attribute that NWB defines as one value (neurodata_type, unit, rate, ...).
        MatNWB 2.0b writes every attribute as a one-element array: its one element."""
        return one_value(self.attrs.get(name, default))


def one_value(value: Any) -> Any:
    """A one-element list (MatNWB's attributes) -> its element; anything else unchanged."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


class Backend(abc.ABC):
    """An open NWB file (HDF5 or Zarr): metadata walks and row-selective reads."""

    label: str
    kind: str  # who reads the data: "engine" (our HDF5 engine), "h5py" or "zarr"

    @abc.abstractmethod
    def walk(self) -> dict[str, Node]:
        """Every group and dataset below the root, keyed by absolute path ('/' included)."""

    @abc.abstractmethod
    def read(self, path: str, rows: Selection = None) -> np.ndarray:
        """The dataset's values for the selected rows (axis 0), decoded."""

    @abc.abstractmethod
    def read_spans(self, path: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """Rows [a, b) for each span, concatenated along axis 0, fetched in one round."""

    def read_box(self, path: str, box: tuple[slice, ...]) -> np.ndarray:
        """The values in a box (one step-1 slice per axis), decoded. Backends override this to
        fetch only the chunks the box touches on every axis; this default reads the rows of
        the first axis and slices the others in memory."""
        rows = self.read_spans(path, [(box[0].start, box[0].stop)])
        index = (slice(None), *box[1:])  # named: mypy reads `rows[(a, *b)]` as 3.11-only syntax
        return rows[index]

    def read_region_spans(self, path: str) -> np.ndarray:
        """For a dataset of HDF5 region references (MatNWB 2.0b's VectorIndex): each
        element's selection as a [start, stop) row span of the referenced dataset, shape
        (n, 2). Only HDF5 has region references."""
        raise NotImplementedError(f"{type(self).__name__} has no region references")

    @contextlib.contextmanager
    def prefetched(self, requests: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> Iterator[None]:
        """Fetch the bytes of several (dataset, row spans) reads in one concurrent round;
        reads of those rows inside the block are answered from memory. Default: no-op
        (local files need no prefetch)."""
        yield

    @contextlib.contextmanager
    def deferred_check(self) -> Iterator[None]:
        """Inside the block, values kept from a remote file are used without a request of
        their own; the block's later fetches (or one check at its end) confirm the file.
        Default: no-op (nothing kept needs a check)."""
        yield

    def export_state(self) -> dict[str, Any] | None:
        """What the backend learned that a stored catalog should keep, as JSON-able data
        (given back as `state` when the file is reopened from the stored catalog), or None
        when it keeps nothing beyond the tree."""
        return None

    def learned(self) -> int:
        """A count that grows when the backend learns something worth storing (chunk
        indexes, small arrays read inline); the catalog stores itself again when it grew."""
        return 0

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the file (optional)."""


_NARROWER_GAP: contextvars.ContextVar[int | None] = contextvars.ContextVar("gap", default=None)


def coalesce_gap() -> int:
    """The byte gap below which data ranges share one request: `config.coalesce_gap`, or
    a narrower one in force in this thread (`narrower_gap`)."""
    narrower = _NARROWER_GAP.get()
    gap = int(config.coalesce_gap)
    return gap if narrower is None else min(gap, narrower)


@contextlib.contextmanager
def narrower_gap(gap: int) -> Iterator[None]:
    """Reads inside the block join ranges only when closer than `gap` bytes: for many
    small spans far apart (each unit's spikes in a window), where the default gap would
    fetch the other units' spikes between them."""
    token = _NARROWER_GAP.set(int(gap))
    try:
        yield
    finally:
        _NARROWER_GAP.reset(token)


def refuse_outside(label: str, path: str, reason: str, remote: bool) -> OutsideSourceError:
    """The error for reading an object whose values lie outside the file."""
    hint = ("never followed for a remote file" if remote else
            "config.follow_external_paths = True follows paths written in a local file")
    return OutsideSourceError(
        f"refused: reading it would read outside the file: {reason} ({hint})", source=label, path=path
    )


def check_read_size(label: str, path: str, shape: tuple[int, ...], itemsize: int) -> None:
    """ReadTooLargeError when a read of `shape` would hold more than config.max_read_bytes."""
    nbytes = math.prod(int(n) for n in shape) * max(1, itemsize)  # Python ints: no overflow
    if nbytes > config.max_read_bytes:
        raise ReadTooLargeError(
            f"reading {shape} elements ({nbytes} bytes) would hold more than config.max_read_bytes "
            f"({config.max_read_bytes}); read it in parts", source=label, path=path,
        )


def decode_scalar(value: Any) -> Any:
    """An attribute value as plain Python data (str, int, float, bool, list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO" or value.dtype.kind == "U":
            return [decode_scalar(v) for v in value.tolist()]
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [decode_scalar(v) for v in value]
    return value


def as_str_array(values: np.ndarray) -> np.ndarray:
    """bytes / str / object values -> object array of str (None stays None)."""
    out = np.empty(values.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(values.reshape(-1).tolist()):
        flat[i] = v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v
    return out


def rows_to_spans(rows: np.ndarray) -> list[tuple[int, int]]:
    """Sorted unique row ids -> [(start, stop)) runs of consecutive rows."""
    if len(rows) == 0:
        return []
    rows = np.asarray(rows, dtype=np.int64)
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [len(rows)]])
    return [(int(rows[a]), int(rows[b - 1]) + 1) for a, b in zip(starts, stops)]


def selection_to_spans(rows: Selection, n: int) -> list[tuple[int, int]]:
    if rows is None:
        return [(0, n)] if n else []
    if isinstance(rows, slice):
        start, stop, step = rows.indices(n)
        if step != 1:
            return rows_to_spans(np.arange(start, stop, step))
        return [(start, stop)] if stop > start else []
    return rows_to_spans(np.asarray(rows))
