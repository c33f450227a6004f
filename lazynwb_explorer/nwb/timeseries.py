"""NWB TimeSeries: lazy data and timestamps, their attributes, and time windows.

A `TimeSeries` (what api/timeseries.py's `get_timeseries` returns) has lazynwb's names: data,
timestamps, rate, starting_time, unit, conversion, offset, resolution, description,
timestamps_unit, electrodes, and any other child dataset as an attribute). Nothing is read
until `data[...]` / `timestamps[...]` are indexed, and then only the selected part.

A series stored as starting_time + rate has computed timestamps (`RateTimestamps`).
`sample_range(t0, t1)` finds the samples in a time window by searching the timestamps
without reading them all; `read_window(t0, t1)` returns those samples (the plot widget's
primitive).

Fields absent from a file: `data` / `timestamps` / `electrodes` / `timestamps_unit` raise
`SeriesFieldError` (an AttributeError naming the file and path); conversion, offset and
resolution fall back to the NWB schema defaults (1.0, 0.0, -1.0), as pynwb does; `unit`,
`rate` and `description` are None.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backends.base import Node, one_value
from ..catalog import Catalog, normalize_path, open_catalog, widen_catalog
from ..errors import LazyNWBError, get_logger, redact
from ..sources import PathLike, to_source
from . import series_window
from .kinds import series_reads_link
from .lazy_array import LazyDataset, RateTimestamps

logger = get_logger(__name__)

# NWB schema defaults for attributes of TimeSeries/data (what pynwb reports when absent)
_DATA_ATTR_DEFAULTS = {"conversion": 1.0, "offset": 0.0, "resolution": -1.0}


class SeriesFieldError(LazyNWBError, AttributeError):
    """A field of a time series is not in the file (e.g. a series without data)."""


@dataclasses.dataclass
class TimeSeries:
    """A time series in an NWB file, read lazily.

    `_file_path` is the source as given and `_table_path` the series' group, as in lazynwb.
    """

    _file_path: PathLike
    _table_path: str
    _catalog: Catalog | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._table_path = normalize_path(self._table_path)

    # -- plumbing -------------------------------------------------------------------------

    @property
    def _cat(self) -> Catalog:
        if self._catalog is None:
            self._catalog = open_catalog(to_source(self._file_path))
        return self._catalog

    @property
    def _group_attrs(self) -> dict[str, Any]:
        node = self._cat.require(self._table_path)
        return {name: node.attr(name) for name in node.attrs}

    def _node(self, name: str) -> Node | None:
        """The series' child `name`, walked now if the catalog came from a narrow open
        that left it out (get_timeseries walks data and starting_time, not timestamps)."""
        path = f"{self._table_path}/{name}"
        catalog = self._cat
        if not catalog.covers(path):
            group = catalog.get(self._table_path)
            if group is not None and name in group.children:
                self._catalog = catalog = widen_catalog(catalog, [path], series_reads_link)
        return catalog.resolved(path)

    def _child(self, name: str) -> LazyDataset | None:
        node = self._node(name)
        if node is None or node.dataset is None:
            return None
        return LazyDataset(self._cat, node.path)

    def _missing(self, what: str) -> SeriesFieldError:
        return SeriesFieldError(what, source=self._cat.label, path=self._table_path)

    # -- lazynwb's attributes -------------------------------------------------------------

    @property
    def data(self) -> LazyDataset:
        """The samples (lazy; index it to read)."""
        data = self._child("data")
        if data is None:
            self._cat.require(self._table_path)
            raise self._missing("this series has no data (e.g. events with timestamps only)")
        return data

    @property
    def timestamps(self) -> LazyDataset | RateTimestamps:
        """Sample times in seconds: stored (lazy) or computed from starting_time + rate."""
        stored = self._child("timestamps")
        if stored is not None:
            return stored
        start = self._child("starting_time")
        rate = self.rate
        if start is None or rate is None:
            raise self._missing("no timestamps and no starting_time + rate: times unknown")
        data = self._child("data")
        n = data.shape[0] if data is not None and data.shape else 0
        return RateTimestamps(_scalar(start), float(rate), n, one_value(start.attrs.get("unit")))

    @property
    def rate(self) -> float | None:
        """Sampling rate (Hz) from starting_time's `rate` attribute, or None."""
        start = self._node("starting_time")
        value = start.attr("rate") if start is not None else None
        return float(value) if value is not None else None

    @property
    def starting_time(self) -> float:
        """The time of the first sample (the stored starting_time, else timestamps[0])."""
        start = self._child("starting_time")
        if start is not None:
            return _scalar(start)
        timestamps = self.timestamps
        if len(timestamps) == 0:
            raise self._missing("no samples and no starting_time: the start is unknown")
        return float(timestamps[0])

    @property
    def num_samples(self) -> int:
        """Number of samples (length of data, else of timestamps)."""
        data = self._child("data")
        if data is not None and data.shape:
            return data.shape[0]
        return len(self.timestamps)

    def _data_attr(self, name: str) -> Any:
        node = self._node("data")
        if node is not None and name in node.attrs:
            return node.attr(name)
        return None

    @property
    def unit(self) -> str | None:
        """The unit of data after conversion (None when the file does not say)."""
        value = self._data_attr("unit")
        return None if value is None else str(value)

    @property
    def conversion(self) -> float:
        value = self._data_attr("conversion")
        return _DATA_ATTR_DEFAULTS["conversion"] if value is None else float(value)

    @property
    def offset(self) -> float:
        value = self._data_attr("offset")
        return _DATA_ATTR_DEFAULTS["offset"] if value is None else float(value)

    @property
    def resolution(self) -> float:
        value = self._data_attr("resolution")
        return _DATA_ATTR_DEFAULTS["resolution"] if value is None else float(value)

    @property
    def description(self) -> str | None:
        value = self._group_attrs.get("description")
        return None if value is None else str(value)

    @property
    def timestamps_unit(self) -> str | None:
        attrs = self._group_attrs
        if "timestamps_unit" in attrs:
            return str(attrs["timestamps_unit"])
        for name in ("timestamps", "starting_time"):
            node = self._node(name)
            if node is not None and node.dataset is not None:
                unit = node.attr("unit")
                return None if unit is None else str(unit)
        raise self._missing("no timestamps or starting_time: no timestamps unit")

    @property
    def electrodes(self) -> LazyDataset:
        """Row indices into the electrodes table (lazy)."""
        electrodes = self._child("electrodes")
        if electrodes is None:
            self._cat.require(self._table_path)
            raise self._missing("this series has no electrodes")
        return electrodes

    def __getattr__(self, name: str) -> Any:
        """Any other child dataset (lazy), else an attribute of the series' group."""
        if name.startswith("_"):
            raise AttributeError(name)
        prop = getattr(type(self), name, None)
        if isinstance(prop, property):  # a property raised AttributeError: re-raise its error
            return prop.fget(self)  # type: ignore[misc]
        child = self._child(name)
        if child is not None:
            return child
        attrs = self._group_attrs
        if name in attrs:
            return attrs[name]
        raise SeriesFieldError(
            f"no child dataset or attribute {name!r}", source=self._cat.label, path=self._table_path
        )

    # -- time windows ---------------------------------------------------------------------

    def sample_range(self, t0: float | None = None, t1: float | None = None) -> tuple[int, int]:
        """(i0, i1): samples i0 <= i < i1 have t0 <= time <= t1 (None = unbounded).

        Found by searching the timestamps (interpolation guess, then probe rounds) or by
        arithmetic for regularly sampled series; never reads all timestamps. Assumes sorted
        timestamps, as NWB requires (read_window checks and copes when they are not)."""
        return series_window.search(self.timestamps, t0, t1)

    def read_window(
        self, t0: float | None = None, t1: float | None = None, *, channels: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(timestamps, data) of the samples between t0 and t1 (inclusive), reading only
        those samples (and, with `channels`, only those columns of 2-D data). Timestamps
        out of order (a broken file) are detected and the window is found by a full scan,
        with a warning (series_window)."""
        timestamps, data = self.timestamps, self.data  # first: they may widen the catalog
        return series_window.window(self._cat, self._table_path, timestamps, data, t0, t1, channels)

    def times_at(self, rows: np.ndarray) -> np.ndarray:
        """The times of the given sorted sample rows (one read of just those rows when
        stored; computed when sampled at a rate)."""
        rows = np.asarray(rows, dtype=np.int64)
        timestamps = self.timestamps
        if isinstance(timestamps, RateTimestamps):
            return timestamps.times(rows)
        return np.asarray(self._cat.backend.read(timestamps.name, rows), dtype=np.float64).reshape(-1)

    def read_spans(self, spans: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """(times, data rows) of the sample spans [a, b), concatenated, with data and stored
        timestamps fetched in one concurrent round."""
        data = self.data
        if not spans:
            return np.zeros(0), np.zeros((0, *data.shape[1:]), dtype=data.dtype)
        timestamps = self.timestamps
        stored = isinstance(timestamps, LazyDataset)
        backend = self._cat.backend
        requests = [(data.name, list(spans))] + ([(timestamps.name, list(spans))] if stored else [])
        with backend.prefetched(requests):
            values = np.asarray(backend.read_spans(data.name, spans))
            if isinstance(timestamps, LazyDataset):
                times = np.asarray(backend.read_spans(timestamps.name, spans), dtype=np.float64)
            else:
                times = timestamps.times(np.concatenate([np.arange(a, b) for a, b in spans]))
        return times.reshape(-1), values

    def __repr__(self) -> str:
        return f"TimeSeries(_file_path={redact(str(self._file_path))!r}, _table_path={self._table_path!r})"


def _scalar(ds: LazyDataset) -> float:
    """A scalar dataset's value (Zarr stores scalars as shape (1,))."""
    values = np.asarray(ds.read()).reshape(-1)
    if values.size != 1:
        raise LazyNWBError(f"expected one value, found shape {ds.shape}", source=ds.file, path=ds.name)
    return float(values[0])
