"""Intervals as shaded bands and events as ticks, under any time view.

Why one place: the plot, the raster and the position view all draw the same session's trials,
epochs or stimulus presentations behind their data, and the same licks or rewards as ticks,
over whatever window they show. A view that mixes in `Overlays` gets two traitlets (the
Explorer links them across its time views: `bands`, `ticks`) and three requests:

    overlay_options {}        -> {intervals: [{path, columns}], events: [path]}
    bands {x0, x1}            -> {path, color_by, names, n, total, cut} + float64 starts,
                                 float64 stops, int32 category (index into names, -1 none)
    ticks {x0, x1}            -> {paths: [{path, n, total, cut}]} + float64 times per path

Bands come from a table's start_time / stop_time (only its rows overlapping the window; the
time columns are read, filtered where they are stored) or an IntervalSeries; colours by a
column's values over the whole table, so a band keeps its colour when the view moves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import traitlets

from ..catalog import Catalog, open_catalog
from ..nwb.events import is_events, is_intervals, read_events, read_intervals
from ..nwb.kinds import is_table
from ..nwb.table_query import TableRequest, read_table_rows
from ..nwb.tables import describe_table
from ._base import FileView, Reply

MAX_BANDS = 5000
MAX_TICKS = 50_000
MAX_EVENTS_KEPT = 2_000_000
TIME_COLUMNS = ("start_time", "stop_time", "timestamp")


def overlay_options(catalog: Catalog) -> dict[str, Any]:
    """The file's interval tables (with their scalar columns) and event sources."""
    intervals, events = [], []
    for path, node in sorted(catalog.nodes.items()):
        if not node.is_group or path.startswith("/specifications"):
            continue
        if is_intervals(catalog, path):
            columns = []
            if is_table(catalog, path):
                table = describe_table(catalog, path)
                columns = [n for n, c in table.columns.items()
                           if not c.is_array and n not in TIME_COLUMNS]
            intervals.append({"path": path, "columns": columns})
        if is_events(catalog, path):
            events.append(path)
    return {"intervals": intervals, "events": events}


class Overlays(FileView):
    """A view with bands and ticks behind its data (mixed into the time views)."""

    bands = traitlets.Dict(help="intervals drawn as bands: {path, color_by}").tag(sync=True)
    ticks = traitlets.List(traitlets.Unicode(), help="event sources drawn as ticks").tag(sync=True)

    def _overlay_catalog(self) -> Catalog:
        return open_catalog(self._sources[0])

    def _req_overlay_options(self, _content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        return overlay_options(self._overlay_catalog()), []

    def _req_bands(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        chosen = dict(self.bands or {})
        path, color_by = chosen.get("path") or "", chosen.get("color_by") or None
        empty: dict[str, Any] = {"path": path, "color_by": color_by, "names": [], "n": 0, "total": 0, "cut": False}
        if not path:
            return empty, [b"", b"", b""]
        catalog = self._overlay_catalog()
        x0, x1 = _bounds(content)
        frame = read_intervals(self._sources[0], catalog, path, x0, x1, color_by)
        names = self._category_names(catalog, path, color_by)
        total = frame.height
        frame = frame.head(MAX_BANDS)
        if color_by and color_by in frame.columns:
            lookup = {v: i for i, v in enumerate(names)}
            codes = np.array([lookup.get(_key(v), -1) for v in frame[color_by].to_list()],
                             dtype=np.int32)
        else:
            codes = np.full(frame.height, -1, dtype=np.int32)
        starts = frame["start_time"].cast(pl.Float64).to_numpy()
        stops = frame["stop_time"].cast(pl.Float64).to_numpy()
        reply = {**empty, "names": names, "n": frame.height, "total": total,
                 "cut": total > frame.height}
        return reply, [np.ascontiguousarray(starts, "<f8").tobytes(),
                       np.ascontiguousarray(stops, "<f8").tobytes(), codes.tobytes()]

    def _category_names(self, catalog: Catalog, path: str, color_by: str | None) -> list[str]:
        """The colour column's distinct values over the whole table, as text, sorted."""
        if not color_by or not is_table(catalog, path):
            return []
        key = (path, color_by)
        cache = self.__dict__.setdefault("_overlay_names", {})
        if key not in cache:
            request = TableRequest(path, exact_path=True, columns=[color_by])
            values = read_table_rows(self._sources[0], request)[color_by]
            cache[key] = sorted({_key(v) for v in values.to_list()})[:64]
        return cache[key]

    def _req_ticks(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        x0, x1 = _bounds(content)
        paths, buffers = [], []
        for path in list(self.ticks or []):
            times = self._event_times(path)
            inside = times[(times >= x0) & (times <= x1)] if x0 is not None else times
            paths.append({"path": path, "n": int(min(len(inside), MAX_TICKS)),
                          "total": int(len(inside)), "cut": len(inside) > MAX_TICKS})
            buffers.append(np.ascontiguousarray(inside[:MAX_TICKS], "<f8").tobytes())
        return {"paths": paths}, buffers

    def _event_times(self, path: str) -> np.ndarray:
        """Every time of an event source, read once (kept while the view lives)."""
        cache = self.__dict__.setdefault("_overlay_times", {})
        if path not in cache:
            catalog = self._overlay_catalog()
            align = "timestamp" if is_table(catalog, path) else None
            events = read_events(self._sources[0], catalog, path, align)
            cache[path] = events.times[:MAX_EVENTS_KEPT]
        return cache[path]


def _key(value: Any) -> str:
    return "null" if value is None else str(value)


def _bounds(content: dict[str, Any]) -> tuple[float | None, float | None]:
    x0, x1 = content.get("x0"), content.get("x1")
    if x0 is None or x1 is None:
        return None, None
    return float(x0), float(x1)
