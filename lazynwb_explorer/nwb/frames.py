"""Movies: image series and other datasets whose first axis is time, read a frame at a time.

A movie is
  - a time series (nwb/kinds.is_series) whose `data` has 3 or 4 axes: ImageSeries,
    TwoPhotonSeries, OnePhotonSeries, ImageMaskSeries, or any series shaped so;
  - an ImageSeries whose frames are in external files (`external_file`, `starting_frame`):
    its frames are listed by file, never read (nothing outside the source is opened);
  - any other dataset with 3 or 4 axes that is neither a table column nor an image (its
    first axis is taken as time; without timestamps a frame's time is its index).
Axes: (frames, x, y) or (frames, x, y, z). The fourth axis is colour (RGB / RGBA) when it has
3 or 4 entries, the values are uint8 and the series is no TwoPhotonSeries / OnePhotonSeries
(a colour camera); otherwise it is the plane of a volume, chosen one at a time.

`read_frames(movie, start, stop, plane)` reads frames [start, stop) of one plane with one box
read (`LazyDataset`): only the chunks that hold them, in one round. Frame times come from the
series (computed for starting_time + rate; stored timestamps are read in blocks of
`TIME_BLOCK` around the frames asked for, kept per movie).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..catalog import Catalog, normalize_path
from ..errors import InternalPathError, MalformedFileError
from .images import is_image
from .kinds import is_series, is_table
from .lazy_array import LazyDataset, RateTimestamps
from .timeseries import TimeSeries

TIME_BLOCK = 65_536  # stored timestamps are read in blocks of this many frames
_PLANE_SERIES = {"TwoPhotonSeries", "OnePhotonSeries"}


@dataclasses.dataclass(frozen=True)
class ExternalFiles:
    """An ImageSeries' frames kept in other files: their names and first frames."""

    names: tuple[str, ...]
    starting_frames: tuple[int, ...]
    format: str

    def locate(self, frame: int) -> tuple[int, int]:
        """(file index, frame within that file) of a frame of the whole series."""
        starts = np.asarray(self.starting_frames, dtype=np.int64)
        if not len(starts):
            return 0, frame
        index = max(0, int(np.searchsorted(starts, frame, side="right")) - 1)
        return index, frame - int(starts[index])


@dataclasses.dataclass
class Movie:
    """What a movie is, from metadata alone (no data read)."""

    catalog: Catalog
    path: str  # the series group, or the dataset
    data_path: str | None  # None: frames are in external files
    n_frames: int
    frame_shape: tuple[int, int]  # (x, y)
    planes: int  # 1 for (frames, x, y)
    channels: int  # 0 grey, 3 RGB, 4 RGBA
    dtype: np.dtype
    neurodata_type: str | None
    series: TimeSeries | None
    external: ExternalFiles | None = None
    _times: dict[int, np.ndarray] = dataclasses.field(default_factory=dict, repr=False)

    @property
    def data(self) -> LazyDataset:
        if self.data_path is None:
            raise InternalPathError("the frames are in external files", source=self.catalog.label,
                                    path=self.path)
        return LazyDataset(self.catalog, self.data_path)

    @property
    def chunks(self) -> tuple[int, ...] | None:
        return self.data.chunks if self.data_path else None

    def frame_bytes(self) -> int:
        """Bytes of one frame of one plane as stored."""
        x, y = self.frame_shape
        return int(x * y * max(1, self.channels) * self.dtype.itemsize)

    def times(self, start: int, stop: int) -> np.ndarray | None:
        """Times (s) of frames [start, stop), or None when the movie has none."""
        if self.series is None:
            return None
        try:
            timestamps = self.series.timestamps
        except AttributeError:  # no timestamps and no starting_time + rate
            return None
        if isinstance(timestamps, RateTimestamps):
            return timestamps.times(np.arange(start, stop))
        out = []
        for block in range(start // TIME_BLOCK, (max(stop, start + 1) - 1) // TIME_BLOCK + 1):
            if block not in self._times:
                a = block * TIME_BLOCK
                self._times[block] = np.asarray(timestamps[a : min(a + TIME_BLOCK, len(timestamps))],
                                                dtype=np.float64).reshape(-1)
            values = self._times[block]
            lo = max(start - block * TIME_BLOCK, 0)
            hi = min(stop - block * TIME_BLOCK, len(values))
            out.append(values[lo:hi])
        return np.concatenate(out) if out else np.zeros(0)

    def frame_at(self, time: float) -> int:
        """The last frame that starts at or before `time` (the first frame before the start)."""
        if self.series is None or self.n_frames == 0:
            return 0
        try:
            i0, _ = self.series.sample_range(float(time), None)
        except AttributeError:
            return 0
        times = self.times(i0, min(i0 + 1, self.n_frames))
        exact = times is not None and len(times) and times[0] == time
        return int(min(max(i0 if exact else i0 - 1, 0), self.n_frames - 1))


def is_movie(catalog: Catalog, path: str) -> bool:
    """A series with 3-D / 4-D data or external frames, or a 3-D / 4-D dataset that is no
    table column and no image (see the module docstring)."""
    node = catalog.get(path) if path else None
    if node is None:
        return False
    if node.is_group:
        if not is_series(catalog, path):
            return False
        data = catalog.resolved(f"{node.path}/data")
        if data is not None and data.dataset is not None and len(data.dataset.shape) in (3, 4) \
                and all(data.dataset.shape):
            return True
        return catalog.get(f"{node.path}/external_file") is not None
    if node.dataset is None or len(node.dataset.shape) not in (3, 4) or not all(node.dataset.shape):
        return False
    if node.dataset.is_string or node.dataset.is_reference or node.dataset.dtype.names:
        return False
    parent = node.path.rsplit("/", 1)[0] or "/"
    if is_table(catalog, parent):
        return False
    if node.path.rsplit("/", 1)[-1] == "data" and is_series(catalog, parent):
        return True  # the series' data: shown as the series
    return not is_image(catalog, node.path)  # an RGB image is 3-D too


def describe_movie(catalog: Catalog, path: str) -> Movie:
    """The movie at `path` (a series group or a dataset), from metadata; InternalPathError
    when it is none."""
    path = normalize_path(path)
    if not is_movie(catalog, path):
        raise InternalPathError("not a movie (a series or dataset with frames)",
                                source=catalog.label, path=path)
    node = catalog.require(path)
    series_path = path if node.is_group else None
    if node.is_dataset:
        parent = path.rsplit("/", 1)[0] or "/"
        if path.endswith("/data") and is_series(catalog, parent):
            series_path = parent
    series = TimeSeries(catalog.label, series_path, catalog) if series_path else None
    group = catalog.require(series_path) if series_path else None
    kind = group.neurodata_type if group is not None else node.neurodata_type
    data = catalog.resolved(f"{series_path}/data") if series_path else node
    has_frames = data is not None and data.dataset is not None and len(data.dataset.shape) in (3, 4) \
        and all(data.dataset.shape)
    external = _external(catalog, series_path) if series_path else None
    if not has_frames:
        if external is None:
            raise InternalPathError("no frames", source=catalog.label, path=path)
        return Movie(catalog, path, None, _external_count(catalog, series, external), (0, 0), 1, 0,
                     np.dtype("uint8"), kind, series, external)
    assert data is not None and data.dataset is not None
    shape = data.dataset.shape
    channels = planes = 0
    if len(shape) == 4:
        colour = shape[3] in (3, 4) and data.dataset.dtype == np.uint8 and kind not in _PLANE_SERIES
        channels, planes = (shape[3], 1) if colour else (0, shape[3])
    if data.dataset.dtype.kind not in "biuf":
        raise MalformedFileError(f"frames of type {data.dataset.dtype} cannot be shown",
                                 source=catalog.label, path=data.path)
    return Movie(catalog, path, data.path, int(shape[0]), (int(shape[1]), int(shape[2])),
                 max(planes, 1), channels, data.dataset.dtype, kind, series, external)


def read_frames(movie: Movie, start: int, stop: int, plane: int = 0) -> np.ndarray:
    """Frames [start, stop) of one plane: (n, x, y), or (n, x, y, channels) for colour; only
    the chunks holding them are read, in one round."""
    start, stop = max(0, int(start)), min(int(stop), movie.n_frames)
    if not 0 <= plane < movie.planes:
        raise IndexError(f"plane {plane} of {movie.planes}")
    data = movie.data
    if data.ndim == 4 and movie.channels == 0:
        return np.asarray(data[start:stop, :, :, plane])
    return np.asarray(data[start:stop])


def _external(catalog: Catalog, series_path: str) -> ExternalFiles | None:
    node = catalog.get(f"{series_path}/external_file")
    if node is None or node.dataset is None:
        return None
    names = [str(v) for v in np.asarray(catalog.backend.read(node.path)).reshape(-1).tolist()]
    starts = node.attrs.get("starting_frame")
    starts = [int(v) for v in np.asarray(starts if starts is not None else [0] * len(names)).reshape(-1)]
    fmt = catalog.get(f"{series_path}/format")
    text: list[Any] = np.asarray(catalog.backend.read(fmt.path)).reshape(-1).tolist() if fmt and fmt.dataset else []
    return ExternalFiles(tuple(names), tuple(starts), str(text[0]) if text else "external")


def _external_count(catalog: Catalog, series: TimeSeries | None, external: ExternalFiles) -> int:
    """Frames of an externally stored series: its timestamps, else `num_samples`."""
    if series is not None:
        stored = catalog.get(f"{series._table_path}/timestamps")
        if stored is not None and stored.dataset is not None and stored.dataset.shape:
            return int(stored.dataset.shape[0])
        count = catalog.get(f"{series._table_path}/num_samples")
        if count is not None and count.dataset is not None:
            return int(np.asarray(catalog.backend.read(count.path)).reshape(-1)[0])
    return 0


def frame_info(movie: Movie, frame: int) -> dict[str, Any]:
    """What the view says of a frame beside its pixels: its time, and for external frames
    the file that holds it and the frame's index there."""
    times = movie.times(frame, frame + 1)
    info: dict[str, Any] = {"frame": frame, "time": float(times[0]) if times is not None and len(times) else None}
    if movie.external is not None:
        index, local = movie.external.locate(frame)
        names = movie.external.names
        info |= {"file_index": index, "file": names[index] if index < len(names) else "",
                 "file_frame": local}
    return info
