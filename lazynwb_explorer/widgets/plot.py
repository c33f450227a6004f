"""TimeSeriesPlot: a zoomable plot of a series that reads only the visible window.

Why: plotting a long recording must not read it. On open the browser asks for a bounded
overview; on every zoom or pan it sends the x-range and its pixel width, and the kernel reads
that window only (bounded, see plot_data), reduces it with MinMaxLTTB to ~3 points per pixel
and replies with float64 buffers. Downsampled traces say so in their name. The x-range and
channel selection are traitlets (durable); samples never are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import traitlets

from ..catalog import normalize_path
from ..errors import redact
from ..nwb.timeseries import TimeSeries
from ..sources import Source
from ._base import STATIC, Reply, View, as_sources, clean_json
from .plot_data import SeriesWindows, Window, downsample, points_for

DEFAULT_CHANNELS = 4


class TimeSeriesPlot(View):
    """A time series of one file (the first source when given several).

    Traitlets: `series_path`, `x_range` ([t0, t1], empty = everything), `channels` (indices of
    the plotted channels of 2-D data), `n_channels` (read-only), `source`, `height`.
    Requests: open {width, channels} -> overview; window {x0, x1, width, channels} -> the
    window's traces. Both reply with traces [{channel, name, n, downsampled}] and two float64
    buffers (t, y) per trace.
    """

    _esm = STATIC / "plot.js"
    source = traitlets.Unicode("", help="label of the file").tag(sync=True)
    series_path = traitlets.Unicode("", help="the plotted series").tag(sync=True)
    x_range = traitlets.List(traitlets.Float(), help="visible [t0, t1] in seconds").tag(sync=True)
    channels = traitlets.List(traitlets.Int(), help="plotted channels").tag(sync=True)
    n_channels = traitlets.Int(0, help="channels in the data").tag(sync=True)

    def __init__(self, source: Any, series_path: str = "", **kwargs: Any) -> None:
        self._sources: list[Source] = as_sources(source)
        self._windows: SeriesWindows | None = None
        super().__init__(source=redact(self._sources[0].label), **kwargs)
        self.series_path = series_path

    @traitlets.observe("series_path")
    def _series_changed(self, change: dict[str, Any]) -> None:
        self._windows = None
        if change["old"] and change["new"] != change["old"]:
            self.x_range = []
            self.channels = []

    @property
    def windows(self) -> SeriesWindows:
        """The window reader of the current series (opened on first use)."""
        if not self.series_path:
            raise ValueError("no time series selected")
        if self._windows is None:
            self._windows = SeriesWindows(self._sources[0], normalize_path(self.series_path))
            self.n_channels = self._windows.n_channels
        return self._windows

    def _channels(self, content: dict[str, Any]) -> list[int]:
        asked = content.get("channels")
        chosen = [int(c) for c in (asked if asked is not None else self.channels)]
        if not chosen:
            chosen = list(range(min(DEFAULT_CHANNELS, self.windows.n_channels)))
        return chosen

    def _traces(self, window: Window, channels: list[int], width: Any) -> Reply:
        name = normalize_path(self.series_path).rsplit("/", 1)[-1]
        n_out = points_for(width)
        traces, buffers = [], []
        for k, channel in enumerate(channels[: window.y.shape[1]]):
            t, y, reduced = downsample(window.t, window.y[:, k], n_out, window.mode == "blocks")
            marked = reduced or window.mode == "blocks"
            label = name if self.windows.n_channels == 1 else f"{name} ch{channel}"
            traces.append({"channel": channel, "n": len(t), "downsampled": marked,
                           "name": label + (" (downsampled)" if marked else "")})
            buffers += [np.ascontiguousarray(t, "<f8").tobytes(), np.ascontiguousarray(y, "<f8").tobytes()]
        x0 = float(window.t[0]) if len(window.t) else None
        x1 = float(window.t[-1]) if len(window.t) else None
        return {"traces": traces, "mode": window.mode, "samples": window.rows,
                "x0": x0, "x1": x1, "series_path": self.series_path}, buffers

    # -- requests -------------------------------------------------------------------------

    def _req_open(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        if not self.series_path:
            return {"series_path": "", "traces": []}, []
        windows = self.windows
        channels = self._channels(content)
        series = windows.series
        reply, buffers = self._traces(windows.window(None, None, channels, overview=True),
                                      channels, content.get("width"))
        meta = clean_json({
            "extent": list(windows.extent()), "n_samples": windows.n,
            "n_channels": windows.n_channels, "unit": series.unit, "rate": series.rate,
            "conversion": windows.conversion, "offset": windows.offset, "channels": channels,
            "description": series.description,
        })
        return {**reply, **meta}, buffers

    def _req_window(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        channels = self._channels(content)
        x0, x1 = content.get("x0"), content.get("x1")
        if x0 is not None and x1 is not None and float(x1) < float(x0):
            x0, x1 = x1, x0
        window = self.windows.window(x0, x1, channels)
        reply, buffers = self._traces(window, channels, content.get("width"))
        return {**reply, "channels": channels, "x_range": [x0, x1]}, buffers

    # -- Python side ----------------------------------------------------------------------

    def timeseries(self) -> TimeSeries:
        """The plotted series (lazy: nothing is read until it is indexed)."""
        return self.windows.series

    def lazyframe(self) -> pl.LazyFrame:
        """The visible window's samples (not downsampled; bounded like any window read) as
        `time` plus one value column per plotted channel, conversion and offset applied."""
        x0, x1 = (self.x_range + [None, None])[:2] if self.x_range else (None, None)
        channels = self._channels({})
        window = self.windows.window(x0, x1, channels)
        columns = {"time": window.t}
        for k, channel in enumerate(channels[: window.y.shape[1]]):
            columns["value" if self.windows.n_channels == 1 else f"ch{channel}"] = window.y[:, k]
        return pl.DataFrame(columns).lazy()
