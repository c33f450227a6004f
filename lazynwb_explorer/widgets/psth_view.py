"""PSTHView: a unit's firing rate around events, per group, with the trial-aligned raster.

Why: the first question about a unit in a task is how it answers the events - stimulus onset,
reward - and whether the answer differs between conditions. The view takes the units the
grid shows (its filter and sort; in the Explorer the two share them), the events (trials,
epochs, any TimeIntervals or an events table or series; aligned to a time column), a window
around them, a bin width and a grouping column of the events, and draws per group the mean
rate with a 95% band (mean -/+ 1.96 standard errors over events) and below it the aligned
raster (one row per event, grouped). `unit` picks the unit (-1: the selection's mean).
Everything is computed in the kernel (api/psth.py's bin_counts and summarize) from only the
spike spans inside the windows (nwb/spike_trains.py); the trains read are kept, so another
unit, bin width or grouping costs no read.

Requests:
    options {}  -> aligned_base (events, time and group columns), plus {total, labels}
    compute {}  -> {unit, label, total, groups: [{name, n}], edges, spikes, shown, cut,
                    window, bin_width} + float64 rate (groups x bins), float64 sem,
                   float64 aligned spike times, int32 raster row of each spike, int32 group
                   of each raster row
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import traitlets

from ..api.psth import CI_Z, bin_counts, bin_edges, group_codes, summarize
from ..catalog import normalize_path, open_catalog
from ..nwb.spike_trains import SpikeTrains
from ._base import STATIC, Reply
from .aligned_base import AlignedView, group_labels
from .grid_engine import GridEngine
from .raster import has_spike_times, units_snippet
from .raster_data import text

MAX_UNITS = 500  # units of a selection the mean is computed over
MAX_RASTER_SPIKES = 200_000


class PSTHView(AlignedView):
    """Peri-event time histograms of one file's units (the first source when given several).

    Traitlets: `table_path` (units), `filters`, `sort` (the selection, as the grid's),
    `unit` (index in the selection; -1 = the mean of the selection), `events`, `align_to`,
    `window`, `bin_width`, `group_by`, `source`, `height`.
    """

    _esm = STATIC / "psth.js"
    table_path = traitlets.Unicode("", help="the units table").tag(sync=True)
    filters = traitlets.List(traitlets.Dict(), help="[{column, op, value}]").tag(sync=True)
    sort = traitlets.List(traitlets.Dict(), help="[{column, descending}]").tag(sync=True)
    unit = traitlets.Int(0, help="the unit shown: its index in the selection, -1 = the "
                         "selection's mean").tag(sync=True)
    bin_width = traitlets.Float(0.02, help="seconds per bin").tag(sync=True)

    def __init__(self, source: Any, table_path: str = "", **kwargs: Any) -> None:
        self._engine: GridEngine | None = None
        self._trains: SpikeTrains | None = None
        self._spikes: dict[tuple[Any, ...], dict[int, tuple[np.ndarray, np.ndarray]]] = {}
        super().__init__(source, table_path=table_path, **kwargs)

    shows = staticmethod(has_spike_times)  # a units table

    def show(self, path: str) -> None:
        self.table_path = path

    @traitlets.observe("table_path")
    def _table_changed(self, change: dict[str, Any]) -> None:
        self._engine, self._trains, self._spikes = None, None, {}
        if change["old"] and change["new"] != change["old"]:
            with self.hold_trait_notifications():
                self.filters, self.sort, self.unit = [], [], 0

    @property
    def engine(self) -> GridEngine:
        if not self.table_path:
            raise ValueError("no units table selected")
        path = normalize_path(self.table_path)
        if self._engine is None or self._engine.table_path != path:
            self._engine = GridEngine(self._sources[:1], path)
            self._trains = SpikeTrains(open_catalog(self._sources[0]), path)
            self._spikes = {}
        return self._engine

    def selection(self) -> np.ndarray:
        """The selected units' rows, in the grid's order."""
        ids = self.engine.ids(self.filters, self.sort)
        return np.arange(self.engine.total([], []), dtype=np.int64) if ids is None else ids[1]

    def _labels(self, rows: np.ndarray) -> list[str]:
        names = [c["name"] for c in self.engine.columns()]
        label = next((c for c in ("unit_id", "cluster_id", "id") if c in names), None)
        if label is None or not len(rows):
            return [str(r) for r in rows.tolist()]
        frame = self.engine.page(0, len(rows), [{"column": "_table_index", "op": "in",
                                                 "value": rows.tolist()}], [], columns=[label])
        lookup = dict(zip(frame["_table_index"].to_list(), frame[label].to_list()))
        return [text(lookup.get(r, r)) for r in rows.tolist()]

    # -- computing ------------------------------------------------------------------------

    def _spikes_of(self, rows: np.ndarray, events: Any, window: tuple[float, float]) -> dict:
        """{row: (times, offsets)} around the events, read once per (events, window)."""
        key = (events.path, tuple(events.times[:3].tolist()), len(events), window)
        kept = self._spikes.setdefault(key, {})
        missing = [r for r in rows.tolist() if r not in kept]
        if missing:
            self._spikes = {key: kept}  # other events' spikes are dropped
            windows = np.stack([events.times + window[0], events.times + window[1]], 1)
            for row, found in zip(missing, self._trains.spikes(missing, windows)):  # type: ignore[union-attr]
                kept[row] = found
        return kept

    def compute(self) -> dict[str, Any]:
        """The PSTH and raster of the unit shown (see the module docstring)."""
        events = self.read_events()
        window = self._window()
        edges = bin_edges(window, self.bin_width)
        rows = self.selection()
        if not len(rows):
            raise ValueError("no units selected: the grid's filter keeps none")
        unit = min(self.unit, len(rows) - 1)
        shown = rows[:MAX_UNITS] if unit < 0 else rows[unit : unit + 1]
        spikes = self._spikes_of(shown, events, window)
        codes, values = group_codes(events.groups, len(events))
        counts = np.zeros((len(events), len(edges) - 1), dtype=np.int64)
        times_parts, event_parts = [], []
        for row in shown.tolist():
            times, offsets = spikes[row]
            counts += bin_counts(times, offsets, events.times, edges)
            times_parts.append(times - np.repeat(events.times, np.diff(offsets)))
            event_parts.append(np.repeat(np.arange(len(events)), np.diff(offsets)))
        summary = summarize(counts, codes, values, self.bin_width, max(1, len(shown)))
        aligned = np.concatenate(times_parts) if times_parts else np.zeros(0)
        event = np.concatenate(event_parts) if event_parts else np.zeros(0, np.int64)
        order = np.lexsort((events.times, codes))  # raster rows: by group, then time
        row_of = np.empty(len(events), dtype=np.int64)
        row_of[order] = np.arange(len(events))
        return {"events": events, "edges": edges, "summary": summary, "rows": rows, "unit": unit,
                "shown": shown, "aligned": aligned, "raster_row": row_of[event],
                "row_group": codes[order], "window": window}

    def _req_compute(self, _content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        result = self.compute()
        s = result["summary"]
        rows, shown = result["rows"], result["shown"]
        label = (f"mean of {len(shown):,} units" if result["unit"] < 0
                 else (self._labels(shown) or [""])[0])
        aligned, raster_row = result["aligned"], result["raster_row"]
        cut = len(aligned) > MAX_RASTER_SPIKES
        reply = {"unit": result["unit"], "label": label, "total": len(rows), "units": len(shown),
                 "groups": [{"name": n, "n": int(k)} for n, k in
                            zip(group_labels(s.values), s.n_events.tolist())],
                 "edges": result["edges"].tolist(), "spikes": int(len(aligned)), "cut": cut,
                 "window": list(result["window"]), "bin_width": self.bin_width,
                 "events_path": result["events"].path, "n_events": len(result["events"])}
        f64 = lambda a: np.ascontiguousarray(a, "<f8").tobytes()  # noqa: E731
        i32 = lambda a: np.ascontiguousarray(a, "<i4").tobytes()  # noqa: E731
        return reply, [f64(s.rate), f64(s.sem), f64(aligned[:MAX_RASTER_SPIKES]),
                       i32(raster_row[:MAX_RASTER_SPIKES]), i32(result["row_group"])]

    def _req_units(self, _content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        """The selection's labels (for the unit picker), at most 5,000."""
        rows = self.selection()
        return {"total": len(rows), "labels": self._labels(rows[:5000])}, []

    # -- Python side ----------------------------------------------------------------------

    def frame(self) -> pl.DataFrame:
        """The PSTH shown, one row per (group, bin): the group column (with group_by),
        bin_start, bin_stop, spike_count, n_events, rate, rate_sem, rate_ci_low,
        rate_ci_high - as get_psth computes them (the selection's mean when unit is -1)."""
        result = self.compute()
        s, edges = result["summary"], result["edges"]
        g, n = len(s.values), len(edges) - 1
        frame: dict[str, Any] = {}
        if self.group_by:
            frame[self.group_by] = pl.Series(s.values).gather(np.repeat(np.arange(g), n))
        sem = s.sem.reshape(-1)
        frame |= {"bin_start": np.tile(edges[:-1], g), "bin_stop": np.tile(edges[1:], g),
                  "spike_count": s.counts.reshape(-1),
                  "n_events": np.repeat(s.n_events, n).astype(np.int64),
                  "rate": s.rate.reshape(-1), "rate_sem": sem,
                  "rate_ci_low": s.rate.reshape(-1) - CI_Z * sem,
                  "rate_ci_high": s.rate.reshape(-1) + CI_Z * sem}
        return pl.DataFrame(frame).with_columns(
            pl.col("rate_sem", "rate_ci_low", "rate_ci_high").fill_nan(None))

    @property
    def snippet(self) -> str:
        """Python computing the PSTH shown with the public API."""
        events, align, group = self._choices()
        start, stop = self._window()
        pick = "units" if self.unit < 0 else f"units.slice({self.unit}, 1)"
        code = units_snippet(self._sources[0].label, self.table_path, self.filters, self.sort,
                             self.engine.schema)
        code += (f"psth = lazynwb.get_psth(\n    {pick}, {events!r}, align_to={align!r}, "
                 f"window=({start!r}, {stop!r}),\n    bin_width={self.bin_width!r}, "
                 f"group_by={group or None!r}, as_polars=True,\n)\n")
        if self.unit < 0:
            keys = [group] if group else []
            code += (f"mean = psth.group_by({[*keys, 'bin_start']!r}, maintain_order=True)"
                     ".agg(pl.col('rate').mean())\n")
        code += (f"raster = lazynwb.get_aligned_spike_times(\n    {pick}, {events!r}, "
                 f"align_to={align!r}, window=({start!r}, {stop!r}),\n    "
                 f"group_by={group or None!r}, as_polars=True,\n)\n")
        return code

