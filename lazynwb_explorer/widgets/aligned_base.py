"""What the views aligned to events share: the events (a table's time column or an event
series), the window around each event, the grouping column, and the choices a file offers.

    options {} -> {sources: [{path, kind: table | series, times: [column], groups: [column]}],
                   events, align_to, window, group_by}  (the current choices, defaults filled)

Defaults: the trials table (else the first TimeIntervals, else the first events table or
event series); aligned to `stim_start_time` when the table has it, else `start_time` (an
EventsTable's `timestamp`; a series' timestamps); a window of -0.5 to 1.0 s.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import traitlets

from ..catalog import Catalog, normalize_path, open_catalog
from ..nwb.events import DATA, TIMESTAMPS, Events, is_events, is_intervals, read_events
from ..nwb.kinds import is_table
from ..nwb.tables import describe_table
from ._base import FileView, Reply

ALIGN_PREFERENCE = ("stim_start_time", "stimulus_start_time", "start_time", "timestamp")
GROUP_MAX_VALUES = 24  # a group column is offered when it has at most this many values


def event_sources(catalog: Catalog) -> list[dict[str, Any]]:
    """Every table or series a view can align to, with its time and grouping columns."""
    out = []
    for path, node in sorted(catalog.nodes.items()):
        if not node.is_group or path.startswith("/specifications"):
            continue
        if is_table(catalog, path) and (is_intervals(catalog, path) or is_events(catalog, path)):
            table = describe_table(catalog, path)
            scalar = {n: c for n, c in table.columns.items() if not c.is_array}
            times = [n for n, c in scalar.items() if c.meta.dtype.kind == "f"
                     and (n.endswith("_time") or n.endswith("_times") or n == "timestamp")]
            groups = [n for n in scalar if n not in times and n != "id"]
            times.sort(key=lambda n: ALIGN_PREFERENCE.index(n) if n in ALIGN_PREFERENCE else 99)
            out.append({"path": path, "kind": "table", "times": times, "groups": groups})
        elif is_events(catalog, path):
            out.append({"path": path, "kind": "series", "times": [TIMESTAMPS], "groups": [DATA]})
    out.sort(key=lambda s: (s["path"] != "/intervals/trials", s["kind"] != "table", s["path"]))
    return out


class AlignedView(FileView):
    """Traitlets and the `options` request of a view aligned to events."""

    events = traitlets.Unicode("", help="the events: a table or series path").tag(sync=True)
    align_to = traitlets.Unicode("", help="the events' time column").tag(sync=True)
    window = traitlets.List(traitlets.Float(), [-0.5, 1.0], help="[start, stop] s around "
                            "each event").tag(sync=True)
    group_by = traitlets.Unicode("", help="a column of the events splitting them").tag(sync=True)

    def _catalog(self) -> Catalog:
        return open_catalog(self._sources[0])

    def _choices(self) -> tuple[str, str, str]:
        """(events path, time column, group column) with defaults filled."""
        sources = event_sources(self._catalog())
        chosen = normalize_path(self.events) if self.events else ""
        source = next((s for s in sources if s["path"] == chosen), None) or (
            sources[0] if sources and not chosen else None)
        if source is None:
            return chosen, self.align_to, self.group_by
        align = self.align_to if self.align_to in source["times"] else (
            source["times"][0] if source["times"] else self.align_to)
        return source["path"], align, self.group_by

    def _window(self) -> tuple[float, float]:
        window = list(self.window) if len(self.window) == 2 else [-0.5, 1.0]
        if not window[1] > window[0]:
            raise ValueError(f"the window must be [start, stop] with start < stop, got {window}")
        return float(window[0]), float(window[1])

    def read_events(self) -> Events:
        path, align, group = self._choices()
        if not path:
            raise ValueError("this file has no trials, intervals or events to align to")
        catalog = self._catalog()
        return read_events(self._sources[0], catalog, path,
                           None if align == TIMESTAMPS else align, group or None)

    def _req_options(self, _content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        path, align, group = self._choices()
        return {"sources": event_sources(self._catalog()), "events": path, "align_to": align,
                "group_by": group, "window": list(self._window())}, []


def group_labels(values: list[Any]) -> list[str]:
    return ["all" if v is None and len(values) == 1 else "null" if v is None else str(v)
            for v in values]


def events_frame(events: Events, group_by: str) -> pl.DataFrame:
    """The events as a frame (row, time, group)."""
    frame = pl.DataFrame({"row": events.rows, "time": events.times})
    if group_by and events.groups is not None:
        frame = frame.with_columns(events.groups.alias(group_by))
    return frame
