"""Explorer: the tree on the left; on the right the schema and a grid or a plot, following
the selection.

Why a composition of the views (an ipywidgets HBox) rather than one big widget: each view
stays small, testable and usable alone, and the selection is plain traitlet linking. The plot
(whose bundle carries plotly) is created the first time a series is selected.
"""

from __future__ import annotations

from typing import Any

import ipywidgets
import polars as pl
import traitlets

from ..catalog import normalize_path
from ..errors import LazyNWBError
from ..nwb.kinds import is_series, is_table
from ..sources import Source
from ._base import as_sources
from .grid import TableGrid
from .plot import TimeSeriesPlot
from .schema import SchemaViewer
from .tree import TreeBrowser


class Explorer(ipywidgets.HBox):
    """Browse NWB files: `Explorer("session.nwb")`, a URL, or a list of sources (the tree
    shows the first file; tables are shown over all of them - e.g. DANDI asset URLs).

    `selected_path` is the tree's selection; `.tree`, `.schema`, `.grid` and `.plot` are the
    views (the plot is None until a series is selected).
    """

    selected_path = traitlets.Unicode("", help="the selected path (the tree's)")

    def __init__(self, source: Any, selected_path: str = "", height: int = 560, **kwargs: Any) -> None:
        self._sources: list[Source] = as_sources(source)
        self._height = height
        self.tree = TreeBrowser(self._sources, height=height)
        self.schema = SchemaViewer(self._sources, height=max(160, height // 3))
        self.grid = TableGrid(self._sources, height=height - max(160, height // 3) - 8)
        self.plot: TimeSeriesPlot | None = None
        self._right = ipywidgets.VBox([self.schema, self.grid],
                                      layout=ipywidgets.Layout(flex="1 1 auto", min_width="0"))
        self.tree.layout = ipywidgets.Layout(flex="0 0 320px", width="320px")
        super().__init__([self.tree, self._right],
                         layout=ipywidgets.Layout(width="100%", height=f"{height + 8}px"), **kwargs)
        self.grid.layout.display = "none"
        traitlets.link((self, "selected_path"), (self.tree, "selected_path"))
        self.selected_path = selected_path

    @traitlets.observe("selected_path")
    def _follow(self, change: dict[str, Any]) -> None:
        path = change["new"]
        self.schema.selected_path = path
        if not path:
            return
        try:
            catalog = self.tree.catalog
            path = normalize_path(path)
            node = catalog.get(path)
            table = is_table(catalog, path)
            series = node is not None and node.is_group and is_series(catalog, path)
        except LazyNWBError:
            return  # the tree and schema show the error
        if table:
            self.grid.table_path = path
            self._show(self.grid)
        elif series:
            plot = self._ensure_plot()
            plot.series_path = path
            self._show(plot)
        else:
            self._show(None)

    def _ensure_plot(self) -> TimeSeriesPlot:
        if self.plot is None:
            self.plot = TimeSeriesPlot(self._sources, height=self.grid.height)
            self.plot.layout.display = "none"
            self._right.children = [*self._right.children, self.plot]
        return self.plot

    def _show(self, view: ipywidgets.Widget | None) -> None:
        for other in (self.grid, self.plot):
            if other is not None:
                other.layout.display = "" if other is view else "none"

    def lazyframe(self) -> pl.LazyFrame:
        """What the right side shows: the grid's filtered, sorted table, the plot's window, or
        the selected table."""
        if self.grid.layout.display != "none" and self.grid.table_path:
            return self.grid.lazyframe()
        if self.plot is not None and self.plot.layout.display != "none":
            return self.plot.lazyframe()
        return self.tree.lazyframe()
