"""Every notebook view, by public class name -> the module of this package that defines it;
and which views the Explorer's main pane uses for a selection.

Adding a view is one Python module here (a `View` subclass whose `_esm` is its bundle in
static/), one JS module in widgets_js/src/views/ (bundled by build.mjs, which bundles every
file there) and one line in VIEWS. The package root and `lazynwb_explorer.widgets` import
views from this map on first use, so `import lazynwb_explorer` never pays for anywidget.

A view that can show a selected path in the Explorer is also a panel: it is created as
`View(sources, path)`, has `shows(catalog, path) -> bool` (a staticmethod, from the catalog
alone) and `show(path)`, and its name goes in PANELS. For a selection the Explorer offers
every panel whose `shows` is true, as tabs in PANELS' order, and shows the first: so a view
for one neurodata type (the units raster) goes before the general views (the table grid).
A panel with an `x_range` traitlet shares the Explorer's time axis (`Explorer.time_range`),
and one with a `time` traitlet its time cursor (`Explorer.time`: the frame shown, say);
one with `bands` / `events` shares the Explorer's overlays; one with `filters` / `sort` on the
same table as the grid shares the grid's. Views in PINNABLE can be pinned: a second copy is
kept open below the panel, on the same time axis, while the selection moves on.
"""

VIEWS: dict[str, str] = {
    "TreeBrowser": "tree",
    "SchemaViewer": "schema",
    "TableGrid": "grid",
    "TimeSeriesPlot": "plot",
    "SessionPanel": "session",
    "FrameViewer": "frames",
    "RoiViewer": "rois",
    "UnitsRaster": "raster",
    "PSTHView": "psth_view",
    "AlignedSeriesView": "aligned_view",
    "ProbeView": "probe",
    "PositionView": "position",
    "Explorer": "explorer",
}

PANELS: tuple[str, ...] = (
    "SessionPanel", "FrameViewer", "RoiViewer", "UnitsRaster", "PSTHView", "ProbeView",
    "TableGrid", "PositionView", "TimeSeriesPlot", "AlignedSeriesView",
)

PINNABLE: tuple[str, ...] = ("UnitsRaster", "TimeSeriesPlot", "PositionView")
