"""Notebook views of NWB files (anywidget): tree, schema, table grid, time-series plot, and
the Explorer that composes them. Their front ends are prebuilt ES modules in
lazynwb_explorer/static (sources in widgets_js/), so no node is needed to use them.
"""

from .explorer import Explorer
from .grid import TableGrid
from .plot import TimeSeriesPlot
from .schema import SchemaViewer
from .tree import TreeBrowser

__all__ = ["Explorer", "SchemaViewer", "TableGrid", "TimeSeriesPlot", "TreeBrowser"]
