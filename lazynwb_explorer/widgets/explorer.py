"""Explorer: the tree on the left; on the right the schema and, below it, the panel that shows
the selection (session metadata, a table grid, a time-series plot), split by draggable dividers.

Why one widget holding the views (rather than an ipywidgets HBox of them): a Box lets its
children's heights follow their content, so the schema and grid lost their room and the plot
got 81 px. Here the front end lays the views out itself (widgets_js/src/views/explorer.js,
through anywidget's composition API: WidgetTrait references, rendered with host.getWidget,
which JupyterLab, Notebook 7 and marimo all provide):
the Explorer has a height, the tree and schema sizes are traitlets the dividers set, and the
panel below the schema is never shorter than a plot needs. Each view is still its own widget
(its own traitlets and requests, usable alone); the Explorer only routes the selection.

Panels are chosen through registry.PANELS (the first whose `shows(catalog, path)` is true);
each is opened with the Explorer (as `View(sources, path)`), so a view for a new neurodata type
is one registry line. Panels with an `x_range` share one time axis, `time_range`.
"""

from __future__ import annotations

import importlib
from typing import Any

import anywidget
import polars as pl
import traitlets

from ..catalog import normalize_path
from ..errors import LazyNWBError, redact
from ..sources import Source
from ._base import STATIC, View, as_sources
from .registry import PANELS, VIEWS
from .schema import SchemaViewer
from .tree import TreeBrowser

MIN_HEIGHT = 480  # room for the schema's header and a plot of at least 300 px


class Explorer(View):
    """Browse NWB files: `Explorer("session.nwb")`, a URL, or a list of sources (the tree
    shows the first file; tables are shown over all of them - e.g. DANDI asset URLs).

    Traitlets: `selected_path` (the tree's selection), `height` (px, default 700),
    `tree_width` and `schema_height` (px, set by the dividers; `tree_height` when the
    Explorer is under 640 px wide and stacks the tree above the rest), `time_range` (the shared time
    axis of the time-based panels, [t0, t1]; empty = everything), `problem` (why the
    selection cannot be shown, '' when it can).
    Views: `.tree`, `.schema`, `.panels` (one per registry.PANELS), `.panel` (the one shown,
    or None); `.grid`, `.plot`, `.session` are the table grid, the plot and the session panel.
    """

    _esm = STATIC / "explorer.js"
    height = traitlets.Int(700, help="height of the Explorer in pixels").tag(sync=True)
    selected_path = traitlets.Unicode("", help="the selected path (the tree's)").tag(sync=True)
    tree_width = traitlets.Int(300, help="width of the tree in pixels").tag(sync=True)
    tree_height = traitlets.Int(220, help="height of the tree when the Explorer is too narrow "
                                "to put it beside the rest").tag(sync=True)
    schema_height = traitlets.Int(170, help="height of the schema in pixels").tag(sync=True)
    time_range = traitlets.List(traitlets.Float(), help="shared time axis [t0, t1]").tag(sync=True)
    problem = traitlets.Unicode("", help="why the selection is not shown").tag(sync=True)
    tree = anywidget.WidgetTrait().tag(sync=True)
    schema = anywidget.WidgetTrait().tag(sync=True)
    panels = traitlets.List(traitlets.Instance(View), help="one view per registry.PANELS").tag(
        sync=True, to_json=lambda views, _widget: [f"anywidget:{v.model_id}" for v in views])
    shown = traitlets.Int(-1, help="index in panels of the panel shown (-1: none)").tag(sync=True)

    def __init__(self, source: Any, selected_path: str = "", **kwargs: Any) -> None:
        self._sources: list[Source] = as_sources(source)
        tree = TreeBrowser(self._sources)
        schema = SchemaViewer(self._sources)
        # every panel is opened now, the one for the selection already showing it: widgets
        # opened later (from a front-end event) are not delivered by every host (marimo)
        chosen, _problem = self._choose(tree, selected_path)
        panels = [self._class(n)(self._sources, selected_path if n == chosen else "")
                  for n in PANELS]
        super().__init__(tree=tree, schema=schema, panels=panels, **kwargs)
        for panel in panels:
            if "x_range" in panel.trait_names():
                traitlets.link((panel, "x_range"), (self, "time_range"))
        traitlets.link((self, "selected_path"), (self.tree, "selected_path"))
        self.selected_path = selected_path
        if not selected_path:
            self._follow({"new": ""})

    @traitlets.validate("height")
    def _at_least(self, proposal: dict[str, Any]) -> int:
        return max(int(proposal["value"]), MIN_HEIGHT)

    # -- panels ---------------------------------------------------------------------------

    def panel_of(self, name: str) -> View | None:
        """The panel of a view class name (e.g. "TableGrid")."""
        return next((p for p in self.panels if type(p).__name__ == name), None)

    @property
    def panel(self) -> View | None:
        """The panel shown, or None."""
        return self.panels[self.shown] if 0 <= self.shown < len(self.panels) else None

    @property
    def grid(self) -> Any:
        return self.panel_of("TableGrid")

    @property
    def plot(self) -> Any:
        return self.panel_of("TimeSeriesPlot")

    @property
    def session(self) -> Any:
        return self.panel_of("SessionPanel")

    def _choose(self, tree: TreeBrowser, path: str) -> tuple[str | None, str]:
        """(the panel that shows `path`, or None; why it cannot be shown, or '')."""
        try:
            catalog = tree.catalog
            path = normalize_path(path) if path else ""
            if path and catalog.get(path) is None:
                return None, f"{path} is not in {redact(self._sources[0].label)}"
            return next((n for n in PANELS if self._class(n).shows(catalog, path)), None), ""
        except LazyNWBError as exc:  # the tree and schema show it too
            return None, str(exc)

    @traitlets.observe("selected_path")
    def _follow(self, change: dict[str, Any]) -> None:
        path = change["new"]
        self.schema.selected_path = path
        name, problem = self._choose(self.tree, path)
        panel = self.panel_of(name) if name else None
        if panel is not None:
            panel.show(normalize_path(path) if path else "")
        self._show(panel, problem)

    @staticmethod
    def _class(name: str) -> Any:
        return getattr(importlib.import_module(f".{VIEWS[name]}", __package__), name)

    def _show(self, panel: View | None, problem: str) -> None:
        with self.hold_trait_notifications():
            self.shown = self.panels.index(panel) if panel is not None else -1
            self.problem = problem

    def lazyframe(self) -> pl.LazyFrame:
        """What the panel shows: the grid's filtered, sorted table, the plot's window at full
        resolution, the session's metadata row; else the tree's selection (a table column)."""
        if self.panel is not None:
            return self.panel.lazyframe()
        tree: TreeBrowser = self.tree  # a WidgetTrait: untyped to the checker
        return tree.lazyframe()
