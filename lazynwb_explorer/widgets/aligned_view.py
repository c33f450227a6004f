"""AlignedSeriesView: a time series around events - running speed or pupil area around
stimulus onset - the mean per group with a 95% band, each event's trace faint underneath.

Why: behaviour aligned to the task is read the same way as a PSTH, and the series is long:
only the windows are read, all in one round once the series is open (nwb/aligned_series.py).
Traces are drawn as read (every sample); the mean is taken on a common grid of relative times
(api/aligned_series.aligned_means: each event's samples interpolated linearly, never past its
first and last sample). A 2-D series is shown one column (`channel`) at a time.

Requests:
    options {}  -> aligned_base's choices, plus {series_path, n_channels, unit, labels}
    compute {}  -> {series_path, groups: [{name, n}], traces, shown, cut, window, unit} +
                   float64 grid, float64 mean (groups x grid), float64 sem, float64 n per
                   grid point and group, float64 trace times (relative), float64 trace
                   values, int32 trace offsets (shown + 1), int32 group of each trace
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import traitlets

from ..api.aligned_series import aligned_frame, aligned_means
from ..api.psth import group_codes
from ..catalog import Catalog, normalize_path, open_catalog
from ..errors import redact
from ..nwb.aligned_series import AlignedSeries
from ..nwb.electrodes import channel_labels
from ..nwb.kinds import series_data
from ._base import STATIC, Reply
from .aligned_base import AlignedView, event_sources, group_labels

MAX_TRACES = 400  # per-event traces drawn (spread over the events); the mean uses all


class AlignedSeriesView(AlignedView):
    """A series of one file around events (the first source when given several).

    Traitlets: `series_path`, `channel` (the column of 2-D data), `events`, `align_to`,
    `window`, `group_by`, `source`, `height`.
    """

    _esm = STATIC / "aligned.js"
    series_path = traitlets.Unicode("", help="the series").tag(sync=True)
    channel = traitlets.Int(0, help="the column of 2-D data shown").tag(sync=True)

    def __init__(self, source: Any, series_path: str = "", **kwargs: Any) -> None:
        self._series: AlignedSeries | None = None
        super().__init__(source, series_path=series_path, **kwargs)

    @staticmethod
    def shows(catalog: Catalog, path: str) -> bool:
        """A numeric series of one or two dimensions, in a file with events to align to."""
        meta = series_data(catalog, path)
        if meta is None or meta.dtype.kind not in "iufb" or len(meta.shape) not in (1, 2):
            return False
        return bool(event_sources(catalog))

    def show(self, path: str) -> None:
        self.series_path = path

    @traitlets.observe("series_path")
    def _series_changed(self, change: dict[str, Any]) -> None:
        self._series = None
        if change["old"] and change["new"] != change["old"]:
            self.channel = 0

    @property
    def series(self) -> AlignedSeries:
        if not self.series_path:
            raise ValueError("no series selected")
        path = normalize_path(self.series_path)
        if self._series is None or self._series.path != path:
            self._series = AlignedSeries(open_catalog(self._sources[0]), path)
        return self._series

    def _channel(self) -> int | None:
        return self.channel if len(self.series.shape) > 1 else None

    def _read(self) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
        events = self.read_events()
        start, stop = self._window()
        windows = np.stack([events.times + start, events.times + stop], 1)
        times, values, offsets = self.series.windows(windows, self._channel())
        return events, times, values, offsets

    def _req_options(self, content: dict[str, Any], buffers: list[bytes]) -> Reply:
        reply, _ = super()._req_options(content, buffers)
        series = self.series
        n = series.shape[1] if len(series.shape) > 1 else 1
        labels = None
        if n > 1:
            try:
                labels = channel_labels(series.catalog, series.path)
            except Exception:  # noqa: BLE001 - labels are a nicety; numbers always work
                labels = None
        return {**reply, "series_path": self.series_path, "n_channels": n,
                "unit": series.series.unit,
                "labels": (labels or [f"ch{c}" for c in range(n)])[:4096]}, []

    def _req_compute(self, _content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        events, times, values, offsets = self._read()
        relative = times - np.repeat(events.times, np.diff(offsets))
        window = self._window()
        step = _step(relative, offsets)
        grid, names, count, mean, sem = aligned_means(relative, values, offsets, events.groups,
                                                      window, step)
        codes, _values = group_codes(events.groups, len(events))
        k = len(events)
        shown = np.unique(np.linspace(0, k - 1, min(k, MAX_TRACES)).astype(np.int64)) if k else \
            np.zeros(0, np.int64)
        parts_t = [relative[offsets[j] : offsets[j + 1]] for j in shown]
        parts_v = [values[offsets[j] : offsets[j + 1]] for j in shown]
        lengths = [len(p) for p in parts_t]
        trace_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        groups = [{"name": n, "n": int((codes == i).sum())}
                  for i, n in enumerate(group_labels(names))]
        reply = {"series_path": self.series_path, "groups": groups, "traces": k,
                 "shown": int(len(shown)), "cut": len(shown) < k, "window": list(window),
                 "unit": self.series.series.unit, "channel": self._channel()}
        f64 = lambda a: np.ascontiguousarray(a, "<f8").tobytes()  # noqa: E731
        return reply, [f64(grid), f64(mean), f64(sem), f64(count),
                       f64(np.concatenate(parts_t) if parts_t else np.zeros(0)),
                       f64(np.concatenate(parts_v) if parts_v else np.zeros(0)),
                       np.ascontiguousarray(trace_offsets, "<i4").tobytes(),
                       np.ascontiguousarray(codes[shown], "<i4").tobytes()]

    # -- Python side ----------------------------------------------------------------------

    def frame(self) -> pl.DataFrame:
        """Every sample of every window shown (get_aligned_timeseries' rows)."""
        events, times, values, offsets = self._read()
        _path, _align, group = self._choices()
        return aligned_frame(self._sources[0].label, events, times, values, offsets, group)

    @property
    def snippet(self) -> str:
        events, align, group = self._choices()
        start, stop = self._window()
        channel = self._channel()
        return ("import lazynwb_explorer as lazynwb\n\n"
                f"aligned = lazynwb.get_aligned_timeseries(\n    {redact(self._sources[0].label)!r}, "
                f"{normalize_path(self.series_path)!r}, {events!r}, align_to={align!r},\n    "
                f"window=({start!r}, {stop!r}), channel={channel!r}, group_by={group or None!r}, "
                "as_polars=True,\n)\n")


def _step(relative: np.ndarray, offsets: np.ndarray) -> float:
    """The series' median sample interval inside the windows (the mean's grid step)."""
    steps = np.diff(relative)
    starts = offsets[1:-1] - 1
    keep = np.ones(len(steps), dtype=bool)
    keep[starts[(starts >= 0) & (starts < len(steps))]] = False  # not across windows
    steps = steps[keep & (steps > 0)]
    return float(np.median(steps)) if len(steps) else 0.01
