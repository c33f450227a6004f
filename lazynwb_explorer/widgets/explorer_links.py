"""How the Explorer's views follow each other in the kernel: one time axis, one set of
overlays, the units' filter and sort, a probe click, and pinned copies.

Why the kernel and not the front end (anywidget 0.11 lets widgets reach each other there):
these are durable state - a time window, a filter - that Python reads and sets
(`ex.time_range = [10, 20]` moves every view), that must survive a re-render and hold in
every host, and each change makes the views ask the kernel for data anyway, so a link there
adds no round trip to the critical path. What changes at mouse speed and is no state - the
time cursor - is linked in the front end (explorer.js), never through the kernel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import traitlets

from ._base import View

QUERY = ("filters", "sort")
OVERLAYS = ("bands", "ticks")
# what a pinned copy takes from the panel it copies, beyond its path (if it has the trait)
COPIED = ("x_range", "filters", "sort", "label_by", "color_by", "offset", "count", "channels",
          "stacked", "columns")
PATHS = ("table_path", "series_path")
SELECTED = "_table_index"


def path_of(view: View) -> str:
    return next((getattr(view, p) for p in PATHS if p in view.trait_names()), "")


def link_time_and_overlays(explorer: Any, views: Sequence[View]) -> None:
    """Every view with an x_range shares the Explorer's time_range; with a time, its time
    cursor (the frame shown, say); with bands / ticks, its overlays."""
    for view in views:
        names = view.trait_names()
        if "x_range" in names:
            traitlets.link((view, "x_range"), (explorer, "time_range"))
            view.shared_time = True
        if "time" in names:
            traitlets.link((view, "time"), (explorer, "time"))
        for name in OVERLAYS:
            if name in names:
                traitlets.link((view, name), (explorer, name))


def link_queries(views: Sequence[View]) -> None:
    """A filter or sort set on one view applies to every other view of the same table
    (the grid and the units views): one-way observers each way, only while the tables
    match (the grid moves to other tables; the units views stay on theirs)."""
    queried = [v for v in views if all(q in v.trait_names() for q in QUERY)]

    def follow(source: View) -> Any:
        def changed(change: dict[str, Any]) -> None:
            path = path_of(source)
            for other in queried:
                if other is not source and path and path_of(other) == path and \
                        getattr(other, change["name"]) != change["new"]:
                    setattr(other, change["name"], change["new"])
        return changed

    for view in queried:
        view.observe(follow(view), names=list(QUERY))


def select_units(views: Sequence[View], units_path: str, rows: list[int]) -> None:
    """A probe click: the units views (and the grid, when it shows those units) keep only
    `rows` (a `_table_index in [...]` filter replacing the previous one; none clears it)."""
    for view in views:
        if "filters" not in view.trait_names() or path_of(view) != units_path:
            continue
        kept = [f for f in view.filters if f.get("column") != SELECTED]
        if rows:
            kept.append({"column": SELECTED, "op": "in", "value": json.dumps(rows)})
        view.filters = kept
        if "offset" in view.trait_names():
            view.offset = 0
        if "unit" in view.trait_names():
            view.unit = 0


def copy_into(pin: View, panel: View) -> None:
    """A pinned copy takes the panel's path and state."""
    with pin.hold_trait_notifications():
        for name in PATHS:
            if name in panel.trait_names():
                setattr(pin, name, getattr(panel, name))
        for name in COPIED:
            if name in panel.trait_names() and name in pin.trait_names():
                setattr(pin, name, getattr(panel, name))
