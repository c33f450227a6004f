"""Every notebook view, by public class name -> the module of this package that defines it.

Adding a view is one Python module here (a `View` subclass whose `_esm` is its bundle in
static/), one JS module in widgets_js/src/views/ (bundled by build.mjs, which bundles every
file there) and one line below. The package root and `lazynwb_explorer.widgets` import views
from this map on first use, so `import lazynwb_explorer` never pays for anywidget.
"""

VIEWS: dict[str, str] = {
    "TreeBrowser": "tree",
    "SchemaViewer": "schema",
    "TableGrid": "grid",
    "TimeSeriesPlot": "plot",
    "Explorer": "explorer",
}
