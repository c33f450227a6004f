"""UnitsRaster: the spikes of a units table over a time window, one row per unit.

Why: `spike_times` is what an ecephys session is about, and it cannot be plotted as a series.
The raster shows the units the grid shows - its filter and sort decide which and in which
order (in the Explorer the two share them) - a page at a time (thousands of units scroll
like the grid's rows), labelled and coloured by a units column. Every zoom or pan asks for
the window's spikes of the units on screen only (raster_data.py: one predicted read per
window); few enough spikes are sent one by one and drawn as ticks, more as counts per pixel
column, and the population rate is drawn along the top. The x-range is the Explorer's time
axis; intervals and events can be drawn behind (overlays.py).

Requests:
    open {offset, count, width}    -> window of the page (below) + {total, columns,
                                      label_by, color_by, scale, extent}
    window {x0, x1, offset, count, width}
        -> {table_path, mode: ticks | counts | estimated | empty, x0, x1, offset, count,
            total, spikes, units: [{row, label, color}], scale, budget, remote}
           + float64 histogram counts, float64 histogram edges, then
           ticks: float64 times, int32 offsets (count + 1);
           counts / estimated: float64 units x bins counts, float64 bin edges
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
import traitlets

from ..catalog import Catalog, normalize_path
from ..errors import redact
from ..nwb.columns import PolarsType
from ..nwb.kinds import is_table
from ..nwb.table_query import NWB_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME
from ..nwb.tables import describe_table
from . import grid_query
from ._base import STATIC, Reply, clean_json
from .overlays import Overlays
from .raster_data import RasterModel, Window, text

DEFAULT_ROWS = 60


def has_spike_times(catalog: Catalog, path: str) -> bool:
    """A table with a ragged spike_times column (a Units table, by content)."""
    if not path or not is_table(catalog, path):
        return False
    column = describe_table(catalog, path).columns.get("spike_times")
    return column is not None and len(column.index_paths) == 1


def _f64(values: np.ndarray | None) -> bytes:
    return np.ascontiguousarray(values if values is not None else [], "<f8").tobytes()


class UnitsRaster(Overlays):
    """A raster of one file's units (the first source when given several).

    Traitlets: `table_path`, `x_range` ([t0, t1]; empty = the page's whole extent),
    `filters`, `sort` (as the grid's), `label_by`, `color_by` (units columns; '' = default),
    `offset` (first unit shown), `count` (units shown, set by the front end from its height),
    `bands`, `ticks` (overlays), `source`, `height`, `read_budget` (bytes).
    """

    _esm = STATIC / "raster.js"
    table_path = traitlets.Unicode("", help="the units table").tag(sync=True)
    x_range = traitlets.List(traitlets.Float(), help="visible [t0, t1] in seconds").tag(sync=True)
    filters = traitlets.List(traitlets.Dict(), help="[{column, op, value}]").tag(sync=True)
    sort = traitlets.List(traitlets.Dict(), help="[{column, descending}]").tag(sync=True)
    label_by = traitlets.Unicode("", help="units column labelling the rows").tag(sync=True)
    color_by = traitlets.Unicode("", help="units column colouring the rows").tag(sync=True)
    offset = traitlets.Int(0, help="first unit shown").tag(sync=True)
    count = traitlets.Int(DEFAULT_ROWS, help="units shown").tag(sync=True)
    read_budget = traitlets.Int(0, help="bytes a window may read (0: 256 MiB local, 32 MiB "
                                "remote); past it counts are estimated from the index")

    def __init__(self, source: Any, table_path: str = "", **kwargs: Any) -> None:
        self._model: RasterModel | None = None
        super().__init__(source, table_path=table_path, **kwargs)

    # -- the Explorer's panel protocol ----------------------------------------------------

    shows = staticmethod(has_spike_times)  # a units table

    def show(self, path: str) -> None:
        self.table_path = path

    @traitlets.observe("table_path")
    def _table_changed(self, change: dict[str, Any]) -> None:
        self._model = None
        if change["old"] and change["new"] != change["old"]:
            with self.hold_trait_notifications():
                self.filters, self.sort, self.offset = [], [], 0
                self.label_by, self.color_by = "", ""
                if not self.shared_time:  # in the Explorer the time axis is everyone's
                    self.x_range = []

    @property
    def model(self) -> RasterModel:
        if not self.table_path:
            raise ValueError("no units table selected")
        path = normalize_path(self.table_path)
        if self._model is None or self._model.table_path != path:
            self._model = RasterModel(self._sources[0], path, self.read_budget or None)
        return self._model

    def _label(self) -> str:
        return self.label_by or self.model.default_label()

    def _color(self) -> str:
        return self.color_by or self.model.default_color()

    # -- requests -------------------------------------------------------------------------

    def _page(self, content: dict[str, Any]) -> tuple[int, int, Any]:
        model = self.model
        offset = max(0, int(content.get("offset", self.offset)))
        count = max(1, int(content.get("count", self.count)))
        page = model.page(self.filters, self.sort, offset, count, self._label(), self._color())
        return offset, count, page

    def _reply(self, window: Window, offset: int, count: int, page: Any) -> Reply:
        model = self.model
        scale = model.color_scale(self._color())
        units = [{"row": int(r), "label": text(lab), "color": clean_json(c)}
                 for r, lab, c in zip(page.rows.tolist(), page.labels, page.colors)]
        reply = {"table_path": self.table_path, "mode": window.mode, "x0": float(window.t0),
                 "x1": float(window.t1), "offset": offset, "count": count, "units": units,
                 "total": model.total(self.filters, self.sort), "spikes": window.spikes,
                 "scale": scale, "color_by": self._color(), "label_by": self._label(),
                 "budget": model.budget, "remote": self._sources[0].is_remote}
        buffers = [_f64(window.hist), _f64(window.hist_edges)]
        if window.mode == "ticks":
            buffers += [_f64(window.times), np.ascontiguousarray(window.offsets, "<i4").tobytes()]
        elif window.mode in ("counts", "estimated"):
            buffers += [_f64(window.counts), _f64(window.count_edges)]
        return reply, buffers

    def _bounds(self, content: dict[str, Any], rows: np.ndarray) -> tuple[float, float]:
        x0, x1 = content.get("x0"), content.get("x1")
        if x0 is not None and x1 is not None and float(x1) > float(x0):
            return float(x0), float(x1)
        extent = self.model.extent(rows) or (0.0, 1.0)
        return float(extent[0]), float(np.nextafter(extent[1], np.inf))  # the last one included

    def _req_open(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        if not self.table_path:
            return {"table_path": "", "mode": "empty", "units": []}, []
        offset, count, page = self._page(content)
        extent = self.model.extent(page.rows)
        x0, x1 = self._bounds(content, page.rows)
        window = self.model.window(page.rows, x0, x1, content.get("width") or 800)
        reply, buffers = self._reply(window, offset, count, page)
        return {**reply, "columns": self.model.columns(),
                "extent": list(extent) if extent else None}, buffers

    def _req_window(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        asked = content.get("table_path")
        if asked is not None and asked != self.table_path:  # sent before the table changed
            return {"table_path": asked, "stale": True, "mode": "empty", "units": []}, []
        offset, count, page = self._page(content)
        x0, x1 = self._bounds(content, page.rows)
        window = self.model.window(page.rows, x0, x1, content.get("width") or 800)
        return self._reply(window, offset, count, page)

    # -- Python side ----------------------------------------------------------------------

    def frame(self) -> pl.DataFrame:
        """What the raster shows: one row per unit on screen (in display order) with its
        label and colour columns and `spike_times`, every spike in the visible window."""
        offset, count, page = self._page({})
        if len(self.x_range) == 2:
            x0, x1 = self.x_range
        else:
            x0, x1 = self._bounds({}, page.rows)
        spikes = self.model.spike_lists(page.rows, x0, x1)
        frame = pl.DataFrame({NWB_PATH_COLUMN_NAME: [self._sources[0].label] * len(page.rows),
                              TABLE_INDEX_COLUMN_NAME: page.rows})
        for name, values in ((self._label(), page.labels), (self._color(), page.colors)):
            if name and name not in frame.columns:
                frame = frame.with_columns(pl.Series(name, values))
        return frame.with_columns(
            pl.Series("spike_times", [s.tolist() for s in spikes], dtype=pl.List(pl.Float64)))

    @property
    def snippet(self) -> str:
        """Python that computes what the raster shows with the public API."""
        model = self.model
        x0, x1 = self.x_range if len(self.x_range) == 2 else self._bounds({}, model.page(
            self.filters, self.sort, self.offset, self.count, "", "").rows)
        return units_snippet(self._sources[0].label, self.table_path, self.filters, self.sort,
                             model.engine.schema) + (
            f"page = units.slice({self.offset}, {self.count})\n"
            f"spikes = lazynwb.get_spike_times_in_window(page, {x0!r}, {x1!r}, as_polars=True)\n")


def units_snippet(label: str, table_path: str, filters: list[dict], sort: list[dict],
                  schema: Mapping[str, PolarsType]) -> str:
    """Python reading the units a view shows: the grid's filter and sort as polars code."""
    query = grid_query.query_code(filters, sort, schema)
    return ("import polars as pl\nimport lazynwb_explorer as lazynwb\n\n"
            f"units = lazynwb.scan_nwb({redact(label)!r}, {table_path!r}){query}.collect()\n")
