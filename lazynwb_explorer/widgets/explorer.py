"""Explorer: the tree on the left; on the right the schema and, below it, the panel that shows
the selection (session metadata, frames or images, ROI masks with their traces, a table grid,
a time-series plot), split by draggable dividers.

Why one widget holding the views (rather than an ipywidgets HBox of them): a Box lets its
children's heights follow their content, so the schema and grid lost their room and the plot
got 81 px. Here the front end lays the views out itself (widgets_js/src/views/explorer.js,
through anywidget's composition API: WidgetTrait references, rendered with host.getWidget,
which JupyterLab, Notebook 7 and marimo all provide):
the Explorer has a height, the tree and schema sizes are traitlets the dividers set, and the
panel below the schema is never shorter than a plot needs. Each view is still its own widget
(its own traitlets and requests, usable alone); the Explorer only routes the selection.

Panels are chosen through registry.PANELS: every panel whose `shows(catalog, path)` is true
is offered as a tab (`choices`), the first shown; each is opened with the Explorer (as
`View(sources, path)`), so a view for a new neurodata type is one registry line. The views
follow each other (explorer_links.py): panels with an `x_range` share one time axis
(`time_range`), the time views share the bands and event ticks drawn behind them, the units
views share the grid's filter and sort, and a click on the probe selects its units. A time
view can be pinned (`pinned`): a copy of it (opened with the Explorer, as every panel is)
stays below the panel on the same time axis and cursor while the selection moves on.
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
from . import explorer_links as links
from ._base import STATIC, View, as_sources
from .registry import PANELS, PINNABLE, VIEWS
from .schema import SchemaViewer
from .tree import TreeBrowser

MIN_HEIGHT = 500  # room for the schema's header, the tabs and a plot of at least 300 px


class Explorer(View):
    """Browse NWB files: `Explorer("session.nwb")`, a URL, or a list of sources (the tree
    shows the first file; tables are shown over all of them - e.g. DANDI asset URLs).

    Traitlets: `selected_path` (the tree's selection), `height` (px, default 700),
    `tree_width` and `schema_height` (px, set by the dividers; `tree_height` when the
    Explorer is under 640 px wide and stacks the tree above the rest), `time_range` (the shared time
    axis of the time-based panels, [t0, t1]; empty = everything), `time` (the shared time
    cursor: the time of the frame shown, drawn as a line on plots), `problem` (why the
    selection cannot be shown, '' when it can).
    Views: `.tree`, `.schema`, `.panels` (one per registry.PANELS), `.panel` (the one shown,
    or None); `.grid`, `.plot`, `.session`, `.raster`, `.psth` are the table grid, the plot,
    the session panel, the units raster and the PSTH. `choices` are the panels (tabs) that
    can show the selection; `show_panel(name)` picks one. `bands` ({path, color_by}) and
    `ticks` (event sources) are drawn behind every time view. `pin()` keeps the time view shown as
    a copy below (`pins`, `pinned`; `unpin()`).
    """

    _esm = STATIC / "explorer.js"
    height = traitlets.Int(700, help="height of the Explorer in pixels").tag(sync=True)
    selected_path = traitlets.Unicode("", help="the selected path (the tree's)").tag(sync=True)
    tree_width = traitlets.Int(300, help="width of the tree in pixels").tag(sync=True)
    tree_height = traitlets.Int(220, help="height of the tree when the Explorer is too narrow "
                                "to put it beside the rest").tag(sync=True)
    schema_height = traitlets.Int(170, help="height of the schema in pixels").tag(sync=True)
    time_range = traitlets.List(traitlets.Float(), help="shared time axis [t0, t1]").tag(sync=True)
    time = traitlets.Float(None, allow_none=True, help="shared time cursor (s)").tag(sync=True)
    bands = traitlets.Dict(help="intervals drawn behind the time views: {path, color_by}").tag(sync=True)
    ticks = traitlets.List(traitlets.Unicode(), help="event sources drawn as ticks").tag(sync=True)
    problem = traitlets.Unicode("", help="why the selection is not shown").tag(sync=True)
    tree = anywidget.WidgetTrait().tag(sync=True)
    schema = anywidget.WidgetTrait().tag(sync=True)
    panels = traitlets.List(traitlets.Instance(View), help="one view per registry.PANELS").tag(
        sync=True, to_json=lambda views, _widget: [f"anywidget:{v.model_id}" for v in views])
    shown = traitlets.Int(-1, help="index in panels of the panel shown (-1: none)").tag(sync=True)
    choices = traitlets.List(traitlets.Int(), help="indices in panels of the panels that can "
                             "show the selection (the tabs)").tag(sync=True)
    pins = traitlets.List(traitlets.Instance(View), help="one pinnable copy per registry."
                          "PINNABLE").tag(sync=True, to_json=lambda views, _w: [
                              f"anywidget:{v.model_id}" for v in views])
    pinned = traitlets.List(traitlets.Int(), help="indices in pins of the pinned views").tag(sync=True)
    panel_names = traitlets.List(traitlets.Unicode(), list(PANELS), help="the panels' view "
                                 "classes (the tabs' names)").tag(sync=True)
    pin_names = traitlets.List(traitlets.Unicode(), list(PINNABLE), help="the pins' view "
                               "classes").tag(sync=True)

    def __init__(self, source: Any, selected_path: str = "", **kwargs: Any) -> None:
        self._sources: list[Source] = as_sources(source)
        tree = TreeBrowser(self._sources)
        schema = SchemaViewer(self._sources)
        # every panel is opened now, the one for the selection already showing it: widgets
        # opened later (from a front-end event) are not delivered by every host (marimo)
        chosen, _problem = self._choose(tree, selected_path)
        panels = [self._class(n)(self._sources, selected_path if n in chosen else "")
                  for n in PANELS]
        pins = [self._class(n)(self._sources, "") for n in PINNABLE]
        super().__init__(tree=tree, schema=schema, panels=panels, pins=pins, **kwargs)
        links.link_time_and_overlays(self, [*panels, *pins])
        links.link_queries(panels)
        probe = self.panel_of("ProbeView")
        if probe is not None:
            probe.observe(self._probe_selected, names="selected_units")
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
    def raster(self) -> Any:
        return self.panel_of("UnitsRaster")

    @property
    def psth(self) -> Any:
        return self.panel_of("PSTHView")

    @property
    def grid(self) -> Any:
        return self.panel_of("TableGrid")

    @property
    def plot(self) -> Any:
        return self.panel_of("TimeSeriesPlot")

    @property
    def session(self) -> Any:
        return self.panel_of("SessionPanel")

    def _choose(self, tree: TreeBrowser, path: str) -> tuple[list[str], str]:
        """(the panels that can show `path`, in PANELS' order; why it cannot be shown, or '')."""
        try:
            catalog = tree.catalog
            path = normalize_path(path) if path else ""
            if path and catalog.get(path) is None:
                return [], f"{path} is not in {redact(self._sources[0].label)}"
            return [n for n in PANELS if self._class(n).shows(catalog, path)], ""
        except LazyNWBError as exc:  # the tree and schema show it too
            return [], str(exc)

    @traitlets.observe("selected_path")
    def _follow(self, change: dict[str, Any]) -> None:
        path = change["new"]
        self.schema.selected_path = path
        names, problem = self._choose(self.tree, path)
        for name in names:
            self.panel_of(name).show(normalize_path(path) if path else "")  # type: ignore[union-attr]
        panels = [self.panel_of(n) for n in names]
        with self.hold_trait_notifications():
            self.choices = [self.panels.index(p) for p in panels]
            self._show(panels[0] if panels else None, problem)

    def show_panel(self, name: str) -> None:
        """Show another of the panels that can show the selection (a tab), e.g. "TableGrid"."""
        panel = self.panel_of(name)
        if panel is None or self.panels.index(panel) not in self.choices:
            raise ValueError(f"{name} cannot show {self.selected_path!r}; the tabs are "
                             f"{[type(self.panels[i]).__name__ for i in self.choices]}")
        self.shown = self.panels.index(panel)

    # -- pins and the probe ---------------------------------------------------------------

    def pin(self) -> View:
        """Keep a copy of the panel shown (a time view) below the panels, on the same time
        axis, while the selection moves on; returns the copy."""
        panel = self.panel
        name = type(panel).__name__ if panel is not None else ""
        if name not in PINNABLE:
            raise ValueError(f"only {', '.join(PINNABLE)} can be pinned, not {name or 'nothing'}")
        index = PINNABLE.index(name)
        links.copy_into(self.pins[index], panel)  # type: ignore[arg-type]
        if index not in self.pinned:
            self.pinned = [*self.pinned, index]
        pinned: View = self.pins[index]
        return pinned

    def unpin(self, name: str | None = None) -> None:
        """Remove the pinned copy of a view class (all of them when None)."""
        self.pinned = [] if name is None else [i for i in self.pinned if PINNABLE[i] != name]

    @traitlets.observe("pinned")
    def _pinned_changed(self, change: dict[str, Any]) -> None:
        """A pin asked for by the front end copies the panel of its class."""
        for index in set(change["new"]) - set(change["old"] or []):
            panel = self.panel_of(PINNABLE[index]) if 0 <= index < len(PINNABLE) else None
            if panel is not None and links.path_of(panel) and not links.path_of(self.pins[index]):
                links.copy_into(self.pins[index], panel)

    def _probe_selected(self, change: dict[str, Any]) -> None:
        probe = self.panel_of("ProbeView")
        links.select_units(self.panels, probe.units_path, list(change["new"]))  # type: ignore[union-attr]

    @staticmethod
    def _class(name: str) -> Any:
        return getattr(importlib.import_module(f".{VIEWS[name]}", __package__), name)

    def _show(self, panel: View | None, problem: str) -> None:
        with self.hold_trait_notifications():
            self.shown = self.panels.index(panel) if panel is not None else -1
            self.problem = problem

    def lazyframe(self) -> pl.LazyFrame:
        """What the panel shows: the grid's filtered, sorted table, the plot's window at full
        resolution, the session's metadata row, a computed view's frame (the raster's spikes,
        a PSTH...); else the tree's selection (a table column)."""
        if self.panel is not None:
            return self.panel.lazyframe()
        tree: TreeBrowser = self.tree  # a WidgetTrait: untyped to the checker
        return tree.lazyframe()
