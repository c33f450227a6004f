"""What the units raster draws for a window: which units (the grid's filter and sort, a page
of them), their labels and colours, and their spikes - every one, or counts per pixel column
when there are too many to draw - plus the population rate along the top.

Why here, apart from the view: it is plain data work (polars, numpy, nwb/spike_trains.py),
tested against numpy without a browser. Reads: the units' order and filter columns once per
query (grid_engine.GridEngine, pushdown), the label and colour columns of a page, and of the
spike trains only the window's spans (spike_trains.SpikeTrains: the page's units are indexed
first - their ends and a point every coalesce gap - then each window is one predicted read).
Past the read budget the counts are estimated from what is known (exact at every known spike,
linear between) and the status says so.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import polars as pl

from ..catalog import open_catalog
from ..nwb.spike_trains import SpikeTrains
from ..nwb.table_query import TABLE_INDEX_COLUMN_NAME, TableRequest, read_table_rows
from ..sources import Source
from .grid_engine import GridEngine

TICKS_MAX = 200_000  # spikes drawn one by one; above, counts per column
MAX_PAGE = 400  # units in one window reply
HIST_COLUMNS = 3  # pixels per bin of the population histogram
COUNT_COLUMNS = 2  # pixels per bin of the per-unit counts
BUDGET_LOCAL = 256 * 1024 * 1024
BUDGET_REMOTE = 32 * 1024 * 1024
CATEGORY_MAX = 24  # a colour column with more distinct values is drawn as a gradient


@dataclasses.dataclass
class Page:
    rows: np.ndarray  # table rows, in display order
    labels: list[Any]  # the label column's value per unit (the row without one)
    colors: list[Any]  # the colour column's value per unit (None without one)


@dataclasses.dataclass
class Window:
    mode: str  # "ticks" | "counts" | "estimated" | "empty"
    t0: float
    t1: float
    spikes: int  # in the window, over the page's units
    hist: np.ndarray  # population counts per bin
    hist_edges: np.ndarray
    times: np.ndarray | None = None  # ticks: every spike, unit after unit
    offsets: np.ndarray | None = None  # ticks: unit k's spikes are times[offsets[k]:offsets[k+1]]
    counts: np.ndarray | None = None  # counts / estimated: units x bins
    count_edges: np.ndarray | None = None


class RasterModel:
    """The raster of one file's units table (`source`, `table_path`)."""

    def __init__(self, source: Source, table_path: str, budget: int | None = None):
        self.source = source
        self.table_path = table_path
        self.engine = GridEngine([source], table_path)
        self.trains = SpikeTrains(open_catalog(source), table_path)
        self.budget = budget or (BUDGET_REMOTE if source.is_remote else BUDGET_LOCAL)
        self._colors: dict[str, dict[str, Any]] = {}

    # -- units --------------------------------------------------------------------------------

    def columns(self) -> list[str]:
        """Scalar columns a unit can be labelled or coloured by."""
        return [c["name"] for c in self.engine.columns() if c["kind"] == "scalar"]

    def default_label(self) -> str:
        names = self.columns()
        return next((c for c in ("unit_id", "cluster_id", "id") if c in names), names[0] if names else "")

    def default_color(self) -> str:
        names = self.columns()
        return next((c for c in ("location", "quality", "depth") if c in names), "")

    def total(self, filters: list[dict], sort: list[dict]) -> int:
        return self.engine.total(filters, sort)

    def page(self, filters: list[dict], sort: list[dict], offset: int, count: int,
             label_by: str, color_by: str) -> Page:
        """Units [offset, offset + count) of the filtered, sorted table."""
        count = max(0, min(int(count), MAX_PAGE))
        names = self.columns()
        wanted = [c for c in dict.fromkeys([label_by, color_by]) if c and c in names]
        frame = self.engine.page(offset, count, filters, sort, columns=wanted)
        rows = frame[TABLE_INDEX_COLUMN_NAME].to_numpy().astype(np.int64)
        labels = (frame[label_by].to_list() if label_by in frame.columns else rows.tolist())
        colors = (frame[color_by].to_list() if color_by in frame.columns
                  else [None] * len(rows))
        return Page(rows, labels, colors)

    def color_scale(self, color_by: str) -> dict[str, Any]:
        """How a column colours units: {kind: category, names} or {kind: range, min, max},
        from its values over the whole table (colours stay put while paging)."""
        if not color_by or color_by not in self.columns():
            return {"kind": "none"}
        if color_by not in self._colors:
            dtype = self.engine.schema[color_by]
            request = TableRequest(self.table_path, exact_path=True, columns=[color_by])
            everything = read_table_rows(self.source, request)[color_by]
            distinct = everything.drop_nulls().unique()
            if dtype.is_numeric() and distinct.len() > CATEGORY_MAX:
                finite = everything.cast(pl.Float64).drop_nans().drop_nulls()
                self._colors[color_by] = {"kind": "range", "min": float(finite.min() or 0),
                                          "max": float(finite.max() or 1)}
            else:
                names = sorted({text(v) for v in distinct.to_list()})[:CATEGORY_MAX]
                self._colors[color_by] = {"kind": "category", "names": names}
        return self._colors[color_by]

    # -- spikes -------------------------------------------------------------------------------

    def extent(self, rows: np.ndarray) -> tuple[float, float] | None:
        """The page's first and last spike (indexes the page's units: one round)."""
        self.trains.index(rows.tolist())
        return self.trains.extent(rows.tolist())

    def window(self, rows: np.ndarray, t0: float, t1: float, width: int) -> Window:
        """The page's spikes in [t0, t1) drawn `width` pixels wide."""
        width = int(min(max(int(width or 800), 50), 4000))
        hist_edges = np.linspace(t0, t1, max(10, width // HIST_COLUMNS) + 1)
        count_edges = np.linspace(t0, t1, max(10, width // COUNT_COLUMNS) + 1)
        units = rows.tolist()
        if not units or not t1 > t0:
            return Window("empty", t0, t1, 0, np.zeros(len(hist_edges) - 1), hist_edges)
        self.trains.index(units)
        windows = np.array([[t0, t1]])
        if self.trains.planned_bytes(units, windows) > self.budget:
            counts = np.array([self.trains.estimated_counts(r, count_edges) for r in units])
            hist = np.array([self.trains.estimated_counts(r, hist_edges) for r in units]).sum(0)
            return Window("estimated", t0, t1, int(round(counts.sum())), hist, hist_edges,
                          counts=counts, count_edges=count_edges)
        found = self.trains.spikes(units, windows)
        times = np.concatenate([t for t, _ in found]) if found else np.zeros(0)
        lengths = np.array([len(t) for t, _ in found], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        hist = np.histogram(times, bins=hist_edges)[0]
        total = int(lengths.sum())
        if total <= TICKS_MAX:
            return Window("ticks", t0, t1, total, hist, hist_edges, times=times, offsets=offsets)
        counts = np.array([np.histogram(t, bins=count_edges)[0] for t, _ in found])
        return Window("counts", t0, t1, total, hist, hist_edges, counts=counts,
                      count_edges=count_edges)

    def spike_lists(self, rows: np.ndarray, t0: float, t1: float) -> list[np.ndarray]:
        """Every spike of each unit in [t0, t1) (what `frame()` returns)."""
        self.trains.index(rows.tolist())
        return [t for t, _ in self.trains.spikes(rows.tolist(), np.array([[t0, t1]]))]


def text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
