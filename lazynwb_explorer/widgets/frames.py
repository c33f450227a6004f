"""FrameViewer: image series one frame at a time, and images (alone or in an Images container).

Why: a two-photon movie is tens of GB; looking at it must cost one frame's chunks. The
browser asks for frame k (or, while playing, the next frames in batches: prefetch) and the
kernel reads only the chunks that hold them (nwb/frames.py: one box read, one round) and
sends them as uint8 / uint16 codes in binary buffers (frame_codec.py). The browser draws them
on a canvas through a colour map, with contrast limits from the frame's percentiles.

What it shows, by selection:
  - a movie (nwb/frames.is_movie): slider, keys, play at a chosen rate, a plane selector for
    volumes; colour frames (RGB / RGBA) as they are;
  - an ImageSeries whose frames are in external files: the files, their first frames and,
    for the frame chosen, which file holds it and its index there. Video is not decoded and
    the files are never opened (nothing outside the source is read);
  - an image (GrayscaleImage, RGBImage, RGBAImage) or an Images container (a chooser of its
    images: mean image, max projection, ...).
The frame's time is shared: `time` (the frame's time) and `x_range` (the Explorer's axis)
are linked by the Explorer; a frame outside the shared range moves the range, and a range
set elsewhere that leaves the frame outside it moves the frame (frames.js).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import traitlets

from ..catalog import Catalog, normalize_path, open_catalog
from ..errors import InternalPathError
from ..nwb.frames import Movie, describe_movie, frame_info, is_movie, read_frames
from ..nwb.images import (
    image_channels,
    images_in,
    is_image,
    is_image_set,
    preferred_image,
    read_image,
)
from . import frame_codec
from ._base import STATIC, FileView, Reply, clean_json

REPLY_BYTES = 8 * 1024 * 1024  # frames per batch: as many as fit (each reply well under 10 MB)
MAX_BATCH = 64
COLORMAPS = ("gray", "viridis", "magma", "inferno")


class FrameViewer(FileView):
    """Frames of a movie, or an image, of one file (the first source when given several).

    Traitlets: `path` (the series, dataset, image or Images container), `kind` (movie,
    external, image, images; read-only), `index` (the frame shown), `plane`, `image` (the image shown of an
    Images container), `colormap`, `low` / `high` (contrast percentiles), `fps` (play
    rate), `transpose`, `time` and `x_range` (shared with the Explorer), `snippet`.
    Requests: open -> what the selection is; frame {index, plane} -> one frame; frames
    {start, count, plane} -> consecutive frames (prefetch); seek {time} -> the frame at a
    time; image {path} -> an image. Replies carry codes as binary buffers (frame_codec).
    """

    _esm = STATIC / "frames.js"
    path = traitlets.Unicode("", help="the movie, image or Images container shown").tag(sync=True)
    kind = traitlets.Unicode("", help="movie | external | image | images | ''").tag(sync=True)
    index = traitlets.Int(0, help="the frame shown").tag(sync=True)
    plane = traitlets.Int(0, help="the plane shown of a volume").tag(sync=True)
    image = traitlets.Unicode("", help="the image shown of an Images container").tag(sync=True)
    colormap = traitlets.Enum(COLORMAPS, "gray", help="colour map of grey frames").tag(sync=True)
    low = traitlets.Float(0.5, help="lower contrast limit, a percentile of the frame").tag(sync=True)
    high = traitlets.Float(99.5, help="upper contrast limit, a percentile of the frame").tag(sync=True)
    fps = traitlets.Float(30.0, help="frames per second when playing").tag(sync=True)
    transpose = traitlets.Bool(False, help="draw x across and y down").tag(sync=True)
    time = traitlets.Float(None, allow_none=True, help="time of the frame shown (s)").tag(sync=True)
    x_range = traitlets.List(traitlets.Float(), help="the shared time axis [t0, t1]").tag(sync=True)
    snippet = traitlets.Unicode("", help="code that reads what is shown").tag(sync=True)

    def __init__(self, source: Any, path: str = "", **kwargs: Any) -> None:
        self._movie: Movie | None = None
        super().__init__(source, **kwargs)
        self.show(path)

    # -- the Explorer's panel protocol ----------------------------------------------------

    @staticmethod
    def shows(catalog: Catalog, path: str) -> bool:
        """A movie, an image or an Images container."""
        return bool(path) and (is_movie(catalog, path) or is_image(catalog, path)
                               or (is_image_set(catalog, path) and bool(images_in(catalog, path))))

    def show(self, path: str) -> None:
        path = normalize_path(path) if path else ""
        kind, image = self._kind(path)
        with self.hold_sync(), self.hold_trait_notifications():  # one update: path with its frame
            if path != self.path:
                self.index, self.plane = 0, 0
            self.kind, self.image, self.path = kind, image, path
        self._movie = None
        self._update_snippet()

    def _kind(self, path: str) -> tuple[str, str]:
        if not path:
            return "", ""
        catalog = self.catalog
        if is_image(catalog, path):
            return "image", path
        if is_image_set(catalog, path):
            found = images_in(catalog, path)
            return "images", (preferred_image(found) or "")
        if is_movie(catalog, path):
            return ("external" if describe_movie(catalog, path).data_path is None else "movie"), ""
        raise InternalPathError("not a movie, an image or an Images container",
                                source=catalog.label, path=path)

    @property
    def catalog(self) -> Catalog:
        return open_catalog(self._sources[0])

    @property
    def movie(self) -> Movie:
        if self.kind not in ("movie", "external"):
            raise ValueError("no movie selected")
        if self._movie is None or self._movie.path != self.path:
            self._movie = describe_movie(self.catalog, self.path)
        return self._movie

    @traitlets.observe("index", "plane", "image")
    def _changed(self, _change: dict[str, Any]) -> None:
        self._update_snippet()

    # -- requests -------------------------------------------------------------------------

    def _req_open(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        path = content.get("path", self.path)
        if path != self.path:
            return {"path": path, "stale": True}, []
        base = {"path": self.path, "kind": self.kind}
        if self.kind in ("image", "images"):
            catalog = self.catalog
            listed = images_in(catalog, self.path) if self.kind == "images" else [self.path]
            return {**base, "images": [_image_entry(catalog, p) for p in listed], "image": self.image}, []
        if not self.kind:
            return base, []
        movie = self.movie
        times = movie.times(0, 1), movie.times(movie.n_frames - 1, movie.n_frames) if movie.n_frames else None
        extent = [float(times[0][0]), float(times[1][0])] if movie.n_frames and times[0] is not None \
            and len(times[0]) and times[1] is not None and len(times[1]) else None
        series = movie.series
        meta = {
            "n_frames": movie.n_frames, "shape": list(movie.frame_shape), "planes": movie.planes,
            "channels": movie.channels, "dtype": str(movie.dtype), "neurodata_type": movie.neurodata_type,
            "chunks": list(movie.chunks) if movie.chunks else None, "frame_bytes": movie.frame_bytes(),
            "batch": _batch(movie), "extent": extent,
            "rate": series.rate if series is not None else None,
            "unit": series.unit if series is not None else None,
            "description": series.description if series is not None else None,
        }
        if movie.external is not None:
            ext = movie.external
            meta["external"] = {"files": list(ext.names), "starting_frames": list(ext.starting_frames),
                                "format": ext.format}
        return {**base, **clean_json(meta)}, []

    def _req_frame(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        return self._frames(content, int(content.get("index", 0)), 1)

    def _req_frames(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        count = max(1, min(int(content.get("count", 1)), _batch(self.movie)))
        return self._frames(content, int(content.get("start", 0)), count)

    def _frames(self, content: dict[str, Any], start: int, count: int) -> Reply:
        path = content.get("path", self.path)
        if path != self.path:
            return {"path": path, "stale": True}, []
        movie = self.movie
        start = min(max(start, 0), max(movie.n_frames - 1, 0))
        stop = min(start + count, movie.n_frames)
        plane = min(max(int(content.get("plane", self.plane)), 0), movie.planes - 1)
        info = [frame_info(movie, k) for k in range(start, stop)]
        if movie.data_path is None:
            return {"path": self.path, "start": start, "count": stop - start, "plane": plane,
                    "frames": info, "encodings": []}, []
        values = read_frames(movie, start, stop, plane)
        encodings, buffers = [], []
        for k in range(stop - start):
            encoding, data = frame_codec.encode(values[k], movie.channels)
            encodings.append(encoding)
            buffers.append(data)
        return {"path": self.path, "start": start, "count": stop - start, "plane": plane,
                "frames": clean_json(info), "encodings": encodings}, buffers

    def _req_seek(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        time = content.get("time")
        index = self.movie.frame_at(float(time)) if isinstance(time, int | float) and math.isfinite(time) else 0
        return {"path": self.path, "index": index, "time": time}, []

    def _req_image(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        path = normalize_path(str(content.get("image") or self.image))
        catalog = self.catalog
        allowed = images_in(catalog, self.path) if self.kind == "images" else [self.path]
        if path not in allowed:
            raise InternalPathError("not an image of the selection", source=catalog.label, path=path)
        values = read_image(catalog, path)
        encoding, data = frame_codec.encode(values, image_channels(values.shape))
        return {"path": self.path, "image": path, "encoding": encoding}, [data]

    # -- Python side ----------------------------------------------------------------------

    def frame(self) -> np.ndarray:
        """What is shown, as stored: the frame (x, y) or (x, y, channels) of the plane shown,
        or the image."""
        if self.kind in ("image", "images"):
            return read_image(self.catalog, self.image)
        movie = self.movie
        if movie.data_path is None:
            raise InternalPathError("the frames are in external files, which are never read",
                                    source=self.catalog.label, path=self.path)
        return read_frames(movie, self.index, self.index + 1, self.plane)[0]

    def lazyframe(self) -> pl.LazyFrame:
        """What is shown, as a table: a pixel per row (x, y, [channel], value) of the frame or
        image; for frames in external files, the files and the frame each starts at."""
        if self.kind == "external":
            ext = self.movie.external
            assert ext is not None
            return pl.DataFrame({"file": list(ext.names), "starting_frame": list(ext.starting_frames)}).lazy()
        values = self.frame()
        x, y = np.meshgrid(np.arange(values.shape[0]), np.arange(values.shape[1]), indexing="ij")
        if values.ndim == 2:
            return pl.DataFrame({"x": x.ravel(), "y": y.ravel(), "value": values.ravel()}).lazy()
        n = values.shape[2]
        return pl.DataFrame({"x": np.repeat(x.ravel(), n), "y": np.repeat(y.ravel(), n),
                             "channel": np.tile(np.arange(n), x.size), "value": values.reshape(-1)}).lazy()

    def _update_snippet(self) -> None:
        self.snippet = snippet(self.source, self.kind, self.path, self.image, self.index, self.plane)


def snippet(source: str, kind: str, path: str, image: str, frame: int, plane: int) -> str:
    """Python that reads what the viewer shows with the public API."""
    head = "import lazynwb_explorer as lazynwb\n\n"
    src = repr(source)
    if kind in ("image", "images"):
        return head + f"image = lazynwb.get_image({src}, {image!r})  # numpy, as stored"
    if kind == "external":
        return head + (f"ts = lazynwb.get_timeseries({src}, {path!r}, exact_path=True)\n"
                       f"ts.external_file[:], ts.external_file.attrs['starting_frame']  # never opened here")
    if kind == "movie":
        extra = f", plane={plane}" if plane else ""
        return head + f"frame = lazynwb.get_frame({src}, {path!r}, {frame}{extra})  # numpy (x, y), as stored"
    return ""


def _batch(movie: Movie) -> int:
    return max(1, min(MAX_BATCH, REPLY_BYTES // max(movie.frame_bytes(), 1)))


def _image_entry(catalog: Catalog, path: str) -> dict[str, Any]:
    node = catalog.require(path)
    meta = node.dataset
    return clean_json({"path": path, "name": path.rsplit("/", 1)[-1], "neurodata_type": node.neurodata_type,
                       "shape": list(meta.shape) if meta else [], "dtype": str(meta.dtype) if meta else "",
                       "description": node.attr("description")})
