"""TimeSeriesPlot: a zoomable plot of a series that reads only the visible window and shows it
honestly.

Why: plotting a long recording must not read it, and must not lie about it. On open the
browser asks for the overview; on every zoom or pan it sends the x-range and its pixel width,
and the kernel answers with every sample (few enough to draw), the envelope of every sample
(min / max per pixel column), or - past the read budget - envelopes of blocks spread over the
window with gaps between them (plot_data.py). The reply says which, and what share was read.
Multi-channel data are drawn stacked (one offset per channel, labelled from the electrodes
table) or overlaid. The x-range, channels and stacking are traitlets (durable); samples never
are. A new series resets them. Intervals and events can be drawn behind (overlays.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import traitlets

from ..catalog import Catalog, normalize_path
from ..nwb.electrodes import channel_labels
from ..nwb.kinds import is_series
from ..nwb.rois import roi_labels
from ..nwb.timeseries import TimeSeries
from ._base import STATIC, Reply, clean_json
from .overlays import Overlays
from .plot_data import SeriesWindows
from .plot_data import View as WindowView

DEFAULT_CHANNELS = 16


class TimeSeriesPlot(Overlays):
    """A time series of one file (the first source when given several).

    Traitlets: `series_path`, `x_range` ([t0, t1], empty = everything), `channels` (indices of
    the plotted channels of 2-D data; empty = the first 16), `stacked` (one offset per channel,
    else overlaid), `n_channels` (read-only), `time` (a time cursor, drawn as a dotted line;
    shared with the Explorer), `picked` (the channel of the trace last clicked, drawn
    thicker), `bands`, `ticks` (overlays), `source`, `height`, `read_budget` (bytes).
    Requests: open {width, channels} -> the overview and the series' description; window {x0,
    x1, width, channels} -> the window. Replies: {mode, traces: [{channel, label}], x0, x1,
    width, rows, rows_read, covered, budget, series_path} + float64 buffers x, y0, y1, ...
    """

    _esm = STATIC / "plot.js"
    series_path = traitlets.Unicode("", help="the plotted series").tag(sync=True)
    x_range = traitlets.List(traitlets.Float(), help="visible [t0, t1] in seconds").tag(sync=True)
    channels = traitlets.List(traitlets.Int(), help="plotted channels").tag(sync=True)
    stacked = traitlets.Bool(True, help="channels stacked (else overlaid)").tag(sync=True)
    n_channels = traitlets.Int(0, help="channels in the data").tag(sync=True)
    time = traitlets.Float(None, allow_none=True, help="time cursor (s), drawn as a line").tag(sync=True)
    picked = traitlets.Int(-1, help="the channel last clicked (-1: none), drawn thicker").tag(sync=True)
    read_budget = traitlets.Int(0, help="bytes a window read may take before it samples "
                                "blocks (0: 512 MiB for a local file, 32 MiB for a remote one)")

    def __init__(self, source: Any, series_path: str = "", **kwargs: Any) -> None:
        self._windows: SeriesWindows | None = None
        # the series is in the state the widget opens with, not an update that may come
        # before the front end has the model
        super().__init__(source, series_path=series_path, **kwargs)

    # -- the Explorer's panel protocol ----------------------------------------------------

    @staticmethod
    def shows(catalog: Catalog, path: str) -> bool:
        """A group holding a time series."""
        node = catalog.get(path) if path else None
        return node is not None and node.is_group and is_series(catalog, path)

    def show(self, path: str) -> None:
        self.series_path = path

    @traitlets.observe("series_path")
    def _series_changed(self, change: dict[str, Any]) -> None:
        self._windows = None
        if change["old"] and change["new"] != change["old"]:  # not the first series: reset
            with self.hold_trait_notifications():
                self.channels, self.n_channels, self.picked = [], 0, -1
                if not self.shared_time:  # in the Explorer the time axis is everyone's
                    self.x_range = []

    @traitlets.observe("read_budget")
    def _budget_changed(self, _change: dict[str, Any]) -> None:
        self._windows = None

    @property
    def windows(self) -> SeriesWindows:
        """The window reader of the current series (opened on first use)."""
        if not self.series_path:
            raise ValueError("no time series selected")
        path = normalize_path(self.series_path)
        if self._windows is None or self._windows.series._table_path != path:
            self._windows = SeriesWindows(self._sources[0], path, self.read_budget or None)
            self.n_channels = self._windows.n_channels
        return self._windows

    def _channels(self, content: dict[str, Any]) -> list[int]:
        asked = content.get("channels")
        chosen = [int(c) for c in (asked if asked is not None else self.channels)]
        n = self.windows.n_channels
        chosen = [c for c in chosen if 0 <= c < n]
        return chosen or list(range(min(DEFAULT_CHANNELS, n)))

    def _labels(self) -> list[str]:
        windows = self.windows
        name = normalize_path(self.series_path).rsplit("/", 1)[-1]
        if windows.n_channels == 1:
            return [name]
        try:
            catalog, path = windows.series._cat, windows.series._table_path
            labels = channel_labels(catalog, path) or roi_labels(catalog, path)
        except Exception:  # noqa: BLE001 - labels are a nicety; numbers always work
            labels = None
        if labels is None or len(labels) != windows.n_channels:
            return [f"ch{c}" for c in range(windows.n_channels)]
        return labels

    def _reply(self, view: WindowView, channels: list[int], labels: list[str]) -> Reply:
        traces = [{"channel": c, "label": labels[c] if c < len(labels) else f"ch{c}"}
                  for c in channels]
        buffers = [np.ascontiguousarray(view.x, "<f8").tobytes()]
        buffers += [np.ascontiguousarray(view.y[:, k], "<f8").tobytes() for k in range(len(channels))]
        return {"series_path": self.series_path, "mode": view.mode, "traces": traces,
                "x0": view.t0, "x1": view.t1, "width": view.width, "n": len(view.x),
                "rows": view.rows, "rows_read": view.rows_read, "covered": view.covered,
                "budget": view.budget, "remote": self._sources[0].is_remote}, buffers

    # -- requests -------------------------------------------------------------------------

    def _req_open(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        if not self.series_path:
            return {"series_path": "", "traces": [], "mode": "empty"}, []
        windows = self.windows
        channels = self._channels(content)
        labels = self._labels()
        view = windows.view(None, None, content.get("width") or 800, channels)
        reply, buffers = self._reply(view, channels, labels)
        series = windows.series
        meta = clean_json({
            "extent": list(windows.extent()), "n_samples": windows.n,
            "n_channels": windows.n_channels, "unit": series.unit, "rate": series.rate,
            "conversion": windows.conversion, "offset": windows.offset, "channels": channels,
            "description": series.description, "labels": labels[:4096],
        })
        return {**reply, **meta}, buffers

    def _req_window(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        asked = content.get("series_path")
        if asked is not None and asked != self.series_path:  # sent before the series changed
            return {"series_path": asked, "stale": True, "mode": "empty", "traces": []}, []
        channels = self._channels(content)
        view = self.windows.view(content.get("x0"), content.get("x1"),
                                 content.get("width") or 800, channels)
        reply, buffers = self._reply(view, channels, self._labels())
        return {**reply, "channels": channels}, buffers

    # -- Python side ----------------------------------------------------------------------

    def timeseries(self) -> TimeSeries:
        """The plotted series (lazy: nothing is read until it is indexed)."""
        return self.windows.series

    def lazyframe(self) -> pl.LazyFrame:
        """Every sample of the visible window at full resolution (never the envelope): `time`
        plus one column per plotted channel (`value` for 1-D data), conversion and offset
        applied. Raises WindowTooLargeError past plot_data.LAZYFRAME_BYTES (256 MB)."""
        x0, x1 = (self.x_range + [None, None])[:2] if len(self.x_range) == 2 else (None, None)
        channels = self._channels({})
        t, values = self.windows.samples(x0, x1, channels)
        columns: dict[str, Any] = {"time": t}
        for k, channel in enumerate(channels):
            columns["value" if self.windows.n_channels == 1 else f"ch{channel}"] = values[:, k]
        return pl.DataFrame(columns).lazy()
