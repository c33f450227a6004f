"""PositionView: a SpatialSeries (position, gaze, head direction...) as an XY trajectory
coloured by time, over the Explorer's time window.

Why: a position is read as a path, not as two lines against time. The view draws the samples
of its time window (`x_range`, the Explorer's shared time axis: zooming the raster or a plot
moves the trajectory with it) as a path coloured from the window's start to its end, within
the whole trajectory's bounds so the picture does not jump as the window moves. In the
Explorer the time cursor of the other views is a marker on the path.

Samples are read for the window only (plot_data.SeriesWindows: one round once open). More
than MAX_POINTS samples are drawn as every k-th sample, and the status says so.

Requests:
    open {}     -> {series_path, columns: [x, y], n_columns, unit, reference_frame, extent,
                    bounds: [x0, x1, y0, y1]} + the window (below)
    window {t0, t1} -> {series_path, n, total, step, t0, t1} + float64 t, x, y
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import traitlets

from ..catalog import Catalog, normalize_path
from ..errors import redact
from ..nwb.kinds import series_data
from ._base import STATIC, FileView, Reply, clean_json
from .plot_data import SeriesWindows

MAX_POINTS = 20_000
BOUNDS_POINTS = 4096  # samples spread over the series that set the drawing's bounds


class PositionView(FileView):
    """An XY trajectory of one file's SpatialSeries (the first source when given several).

    Traitlets: `series_path`, `x_range` (the time window [t0, t1]; empty = all), `columns`
    ([x, y] columns of the data), `source`, `height`.
    """

    _esm = STATIC / "position.js"
    series_path = traitlets.Unicode("", help="the series").tag(sync=True)
    x_range = traitlets.List(traitlets.Float(), help="the time window [t0, t1]").tag(sync=True)
    columns = traitlets.List(traitlets.Int(), [0, 1], help="data columns drawn as x, y").tag(sync=True)

    def __init__(self, source: Any, series_path: str = "", **kwargs: Any) -> None:
        self._windows: SeriesWindows | None = None
        super().__init__(source, series_path=series_path, **kwargs)

    @staticmethod
    def shows(catalog: Catalog, path: str) -> bool:
        """A SpatialSeries with at least two columns of numbers."""
        meta = series_data(catalog, path)
        return (meta is not None and catalog.require(path).neurodata_type == "SpatialSeries"
                and len(meta.shape) == 2 and meta.shape[1] >= 2 and meta.dtype.kind in "iuf")

    def show(self, path: str) -> None:
        self.series_path = path

    @traitlets.observe("series_path")
    def _series_changed(self, change: dict[str, Any]) -> None:
        self._windows = None
        if change["old"] and change["new"] != change["old"]:
            self.columns = [0, 1]

    @property
    def windows(self) -> SeriesWindows:
        if not self.series_path:
            raise ValueError("no series selected")
        path = normalize_path(self.series_path)
        if self._windows is None or self._windows.series._table_path != path:
            self._windows = SeriesWindows(self._sources[0], path)
        return self._windows

    def _columns(self) -> list[int]:
        n = self.windows.n_channels
        chosen = [c for c in self.columns if 0 <= c < n][:2]
        return chosen if len(chosen) == 2 else [0, min(1, n - 1)]

    def samples(self, t0: float | None, t1: float | None) -> tuple[np.ndarray, np.ndarray]:
        """(times, values n x 2) of the window at full resolution."""
        return self.windows.samples(t0, t1, self._columns())

    def _window_reply(self, t0: float | None, t1: float | None) -> Reply:
        t, values = self.samples(t0, t1)
        step = max(1, int(np.ceil(len(t) / MAX_POINTS)))
        t, values = t[::step], values[::step]
        f64 = lambda a: np.ascontiguousarray(a, "<f8").tobytes()  # noqa: E731
        first, last = self.windows.extent()
        return ({"series_path": self.series_path, "n": int(len(t)), "step": step,
                 "total": int(len(t) * step), "t0": first if t0 is None else float(t0),
                 "t1": last if t1 is None else float(t1)},
                [f64(t), f64(values[:, 0]), f64(values[:, 1])])

    def _req_open(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        if not self.series_path:
            return {"series_path": "", "n": 0}, []
        windows = self.windows
        rows = np.unique(np.linspace(0, max(windows.n - 1, 0), min(windows.n, BOUNDS_POINTS))
                         .astype(np.int64))
        _t, sample = windows.read([(int(r), int(r) + 1) for r in rows]) if len(rows) else (None, None)
        columns = self._columns()
        spread = (sample[:, columns].astype(np.float64) * windows.conversion + windows.offset
                  if sample is not None else np.zeros((0, 2)))
        bounds = ([float(np.nanmin(spread[:, 0])), float(np.nanmax(spread[:, 0])),
                   float(np.nanmin(spread[:, 1])), float(np.nanmax(spread[:, 1]))]
                  if len(spread) else [0.0, 1.0, 0.0, 1.0])
        series = windows.series
        x0, x1 = content.get("t0"), content.get("t1")
        reply, buffers = self._window_reply(x0, x1)
        frame = getattr(series, "reference_frame", None)  # a dataset of SpatialSeries
        return {**reply, **clean_json({
            "columns": columns, "n_columns": windows.n_channels, "unit": series.unit,
            "reference_frame": _scalar_text(frame), "extent": list(windows.extent()),
            "bounds": bounds})}, buffers

    def _req_window(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        asked = content.get("series_path")
        if asked is not None and asked != self.series_path:
            return {"series_path": asked, "stale": True, "n": 0}, []
        return self._window_reply(content.get("t0"), content.get("t1"))

    # -- Python side ----------------------------------------------------------------------

    def frame(self) -> pl.DataFrame:
        """Every sample of the window: time, x, y (conversion and offset applied)."""
        t0, t1 = (self.x_range + [None, None])[:2] if len(self.x_range) == 2 else (None, None)
        t, values = self.samples(t0, t1)
        return pl.DataFrame({"time": t, "x": values[:, 0], "y": values[:, 1]})

    @property
    def snippet(self) -> str:
        t0, t1 = (self.x_range + [None, None])[:2] if len(self.x_range) == 2 else (None, None)
        columns = self._columns()
        return ("import lazynwb_explorer as lazynwb\n\n"
                f"series = lazynwb.get_timeseries({redact(self._sources[0].label)!r}, "
                f"{normalize_path(self.series_path)!r})\n"
                f"t, xy = series.read_window({t0!r}, {t1!r}, channels={columns!r})\n"
                "xy = xy * series.conversion + series.offset\n")


def _scalar_text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        data = value.read() if hasattr(value, "read") else value
    except Exception:  # noqa: BLE001 - a description only
        return None
    data = np.asarray(data).reshape(-1)
    return str(data[0]) if len(data) else None
