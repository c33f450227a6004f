"""RoiViewer: a segmentation's ROI masks over the plane's image, its table, and the traces of
the selected ROIs - linked both ways.

Why one view: masks, their table and their traces answer one question (which cell is this,
and what did it do?). The view holds a TableGrid of the PlaneSegmentation and a
TimeSeriesPlot of a RoiResponseSeries (Fluorescence, DfOverF) as widgets of their own
(rendered by rois.js as the Explorer renders its panels), and links them:
  - the grid's filter is the selection: masks of rows it drops are dimmed, and the traces are
    those of the rows it keeps (the first 16; the plot's channel picker shows the rest);
  - clicking a mask picks its ROI: its trace is drawn (first, thicker); clicking a trace
    picks its mask. The series' `rois` region says which table row each column is.
Masks of every kind (image, pixel, voxel) come as one long table (roi_data.PlaneMasks),
drawn as outlines or filled overlays; hovering shows the ROI's id and columns.
"""

from __future__ import annotations

from typing import Any

import anywidget
import numpy as np
import polars as pl
import traitlets

from ..catalog import Catalog, normalize_path, open_catalog
from ..errors import InternalPathError
from ..nwb.roi_masks import describe_segmentation
from ..nwb.rois import RoiColumns, responses_of, roi_columns, segmentation_of
from ..nwb.table_query import TABLE_INDEX_COLUMN_NAME
from . import roi_data
from ._base import STATIC, FileView, Reply, clean_json
from .grid import TableGrid
from .plot import TimeSeriesPlot

TRACES = 16  # traces drawn at once (the plot's default); the picker reaches the others


class RoiViewer(FileView):
    """ROI masks, their table and their traces, of one file (the first source).

    Traitlets: `table_path` (the segmentation), `series_path` (the response series whose
    traces are shown, '' for none), `series_options` (every series whose `rois` point into
    the table), `style` (outline | filled), `plane` (of a volume), `picked` (the picked ROI's
    row, -1 for none), `selected` (rows the grid's filter keeps), `x_range` and `time`
    (shared with the Explorer), `snippet`; `grid` and `plot` are the linked views, made when
    the first segmentation is shown (None before).
    Requests: open -> the plane and its background image; masks {plane, start} -> a page of
    mask pixels; background {plane}; roi {row} -> the ROI's columns as text.
    """

    _esm = STATIC / "rois.js"
    table_path = traitlets.Unicode("", help="the segmentation shown").tag(sync=True)
    series_path = traitlets.Unicode("", help="the response series traced").tag(sync=True)
    series_options = traitlets.List(traitlets.Unicode(), help="series of this table").tag(sync=True)
    style = traitlets.Enum(("outline", "filled"), "filled", help="how masks are drawn").tag(sync=True)
    plane = traitlets.Int(0, help="the plane shown of a volume").tag(sync=True)
    picked = traitlets.Int(-1, help="row of the picked ROI (-1: none)").tag(sync=True)
    selected = traitlets.List(traitlets.Int(), help="rows the grid's filter keeps").tag(sync=True)
    x_range = traitlets.List(traitlets.Float(), help="the shared time axis [t0, t1]").tag(sync=True)
    time = traitlets.Float(None, allow_none=True, help="the shared time cursor (s)").tag(sync=True)
    snippet = traitlets.Unicode("", help="code that reads the masks and traces").tag(sync=True)
    grid = anywidget.WidgetTrait().tag(sync=True)
    plot = anywidget.WidgetTrait().tag(sync=True)

    def __init__(self, source: Any, path: str = "", **kwargs: Any) -> None:
        self._masks: roi_data.PlaneMasks | None = None
        self._columns: RoiColumns | None = None
        super().__init__(source, **kwargs)
        self.show(path)

    def _make_children(self) -> None:
        """The table and the plot, made for the first segmentation shown. Why not up front:
        the Explorer makes every panel when it opens, and each widget a page receives loads
        its own copy of its front end (the plot's is 1.5 MB) within anywidget's 2 s to
        initialize a model; on a loaded machine a second plot and grid made that fail."""
        if self.grid is not None:
            return
        grid = TableGrid(self._sources[:1])
        plot = TimeSeriesPlot(self._sources[:1])
        traitlets.link((self, "x_range"), (plot, "x_range"))
        traitlets.link((self, "time"), (plot, "time"))
        grid.observe(self._filtered, names=["filters", "table_path"])
        plot.observe(self._trace_picked, names=["picked"])
        plot.observe(lambda _c: self._update_snippet(), names=["channels"])
        self.grid, self.plot = grid, plot

    # -- the Explorer's panel protocol ----------------------------------------------------

    @staticmethod
    def shows(catalog: Catalog, path: str) -> bool:
        """A segmentation (PlaneSegmentation), or what points to one: a RoiResponseSeries,
        a Fluorescence / DfOverF / ImageSegmentation container."""
        found = segmentation_of(catalog, path) if path else None
        if found is None:
            return False
        try:
            describe_segmentation(catalog, found[0])
        except InternalPathError:
            return False
        return True

    def show(self, path: str) -> None:
        found = segmentation_of(self.catalog, normalize_path(path)) if path else None
        table, series = found if found else ("", "")
        options = responses_of(self.catalog, table) if table else []
        series = series or (options[0] if options else "")
        self._masks = None
        with self.hold_sync(), self.hold_trait_notifications():
            if table:
                self._make_children()
            if table != self.table_path:
                self.plane, self.picked = 0, -1
            self.series_options = options
            self.table_path = table
            self.series_path = series
        if self.grid is not None:
            self.grid.table_path = table
        self._filtered()

    @property
    def catalog(self) -> Catalog:
        return open_catalog(self._sources[0])

    @property
    def masks(self) -> roi_data.PlaneMasks:
        if not self.table_path:
            raise ValueError("no segmentation selected")
        if self._masks is None or self._masks.segmentation.path != self.table_path:
            self._masks = roi_data.PlaneMasks(self.catalog, self.table_path)
        return self._masks

    # -- links ----------------------------------------------------------------------------

    @traitlets.observe("series_path")
    def _series_changed(self, change: dict[str, Any]) -> None:
        path = change["new"]
        self._columns = roi_columns(self.catalog, path) if path else None
        if self.plot is not None:
            self.plot.series_path = path
        self._filtered()

    def _filtered(self, _change: dict[str, Any] | None = None) -> None:
        """The grid's filter changed: the selection, and the traces of its first rows."""
        grid = self.grid
        if not self.table_path or grid is None or grid.table_path != self.table_path:
            return
        ids = grid.engine.ids(grid.filters, [])
        n = grid.engine.total([], [])
        rows = list(range(n)) if ids is None else sorted(int(r) for r in ids[1])
        self.selected = rows
        self._trace(rows)

    def _trace(self, rows: list[int]) -> None:
        columns = self._columns
        if columns is None or self.plot is None:
            self._update_snippet()
            return
        chosen = columns.columns_of(rows)[:TRACES]
        picked = columns.columns_of([self.picked]) if self.picked >= 0 else []
        if picked and picked[0] not in chosen:
            chosen = [picked[0], *chosen[: TRACES - 1]]
        with self.plot.hold_trait_notifications():
            self.plot.channels = chosen
            self.plot.picked = picked[0] if picked else -1
        self._update_snippet()

    @traitlets.observe("picked")
    def _mask_picked(self, change: dict[str, Any]) -> None:
        self._trace(self.selected)

    def _trace_picked(self, change: dict[str, Any]) -> None:
        columns = self._columns
        channel = change["new"]
        if columns is not None and 0 <= channel < len(columns.rows):
            self.picked = int(columns.rows[channel])

    def _update_snippet(self) -> None:
        if not self.table_path or self.grid is None or self.plot is None:
            self.snippet = ""
            return
        n = len(self.selected) if self.selected else 0
        total = self.grid.engine.total([], []) if self.grid.table_path == self.table_path else n
        self.snippet = roi_data.snippet(self.source, self.table_path, self.series_path,
                                        list(self.selected), total, list(self.plot.channels))

    # -- requests -------------------------------------------------------------------------

    def _req_open(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        asked = content.get("table_path", self.table_path)
        if asked != self.table_path or not self.table_path:
            return {"table_path": asked, "stale": asked != self.table_path}, []
        masks = self.masks
        seg = masks.segmentation
        plane = min(max(self.plane, 0), masks.planes - 1)
        background, buffers = masks.background(plane)
        return {"table_path": self.table_path, "mask": seg.mask, "masks": list(seg.masks),
                "n_rois": seg.n_rois, "shape": list(masks.shape), "planes": masks.planes,
                "ids": clean_json(masks.ids[:100_000]), "background": background,
                "pixels": masks.long.height}, buffers

    def _req_masks(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        if content.get("table_path", self.table_path) != self.table_path:
            return {"table_path": content.get("table_path"), "stale": True}, []
        masks = self.masks
        plane = min(max(int(content.get("plane", self.plane)), 0), masks.planes - 1)
        meta, buffers = masks.page(plane, max(0, int(content.get("start", 0))))
        return {"table_path": self.table_path, **meta}, buffers

    def _req_background(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        masks = self.masks
        plane = min(max(int(content.get("plane", self.plane)), 0), masks.planes - 1)
        meta, buffers = masks.background(plane)
        return {"table_path": self.table_path, "plane": plane, "background": meta}, buffers

    def _req_roi(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        masks = self.masks
        row = int(content.get("row", -1))
        if not 0 <= row < masks.segmentation.n_rois:
            raise IndexError(f"ROI row {row} of {masks.segmentation.n_rois}")
        return {"table_path": self.table_path, "row": row,
                "columns": roi_data.row_text(self.catalog, masks.segmentation, row)}, []

    # -- Python side ----------------------------------------------------------------------

    def lazyframe(self) -> pl.LazyFrame:
        """The masks of the selected ROIs (the grid's filter), a row per pixel: `_table_index`,
        `id`, `x`, `y` (`z` for volumes), `weight`."""
        long = self.masks.long
        if len(self.selected) < self.masks.segmentation.n_rois:
            long = long.filter(pl.col(TABLE_INDEX_COLUMN_NAME).is_in(np.asarray(self.selected, dtype=np.int64)))
        return long.lazy()

    def traces(self) -> pl.LazyFrame:
        """The traces shown, at full resolution: `time` and a column per trace."""
        if self.plot is None:
            raise ValueError("no segmentation selected")
        return self.plot.lazyframe()
