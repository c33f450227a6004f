"""TableGrid: a table over one or many files, scrolled page by page, filtered and sorted
in the kernel.

Why kernel-side: the data stays where it is (remote); the browser asks for the rows it is
about to show (and the next page, prefetched), and each page is a row-range read sent as Arrow
IPC bytes. Filters and sort are durable state (traitlets); rows never are.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections import OrderedDict
from typing import Any

import polars as pl
import traitlets

from ..api.scan import scan_nwb
from ..catalog import Catalog
from ..errors import redact
from ..nwb.kinds import is_table
from ..nwb.table_query import NWB_PATH_COLUMN_NAME, TABLE_INDEX_COLUMN_NAME
from ..sources import Source
from . import grid_query
from ._base import STATIC, Reply, View, as_sources
from .grid_engine import MAX_PAGE_ROWS, GridEngine, encode_page

_CACHED_PAGES = 32


class TableGrid(View):
    """A lazy, paged table view.

    Traitlets: `table_path`, `filters` ([{column, op, value}]), `sort` ([{column, descending}]),
    `page_size`, `sources` (labels, read-only), `height`.
    Requests: info {filters, sort} -> columns, row count, filters left out; page {offset,
    limit, filters, sort} -> Arrow IPC buffer of the rows; cell {offset, column} -> one cell in
    full; follow {offset, column} -> shows the rows a region cell points to.
    """

    _esm = STATIC / "grid.js"
    table_path = traitlets.Unicode("", help="the table shown").tag(sync=True)
    filters = traitlets.List(traitlets.Dict(), help="[{column, op, value}]").tag(sync=True)
    sort = traitlets.List(traitlets.Dict(), help="[{column, descending}]").tag(sync=True)
    page_size = traitlets.Int(100, help="rows per page request").tag(sync=True)
    sources = traitlets.List(traitlets.Unicode(), help="labels of the files").tag(sync=True)

    def __init__(self, source: Any, table_path: str = "", **kwargs: Any) -> None:
        self._sources: list[Source] = as_sources(source)
        self._engine: GridEngine | None = None
        self._pages: OrderedDict[tuple[Any, ...], tuple[dict[str, Any], bytes]] = OrderedDict()
        self._lock = threading.RLock()  # requests may come from several threads at once
        super().__init__(sources=[redact(s.label) for s in self._sources], table_path=table_path,
                         **kwargs)

    @traitlets.observe("table_path")
    def _table_changed(self, change: dict[str, Any]) -> None:
        with self._lock:
            self._engine = None
            self._pages.clear()
        if change["old"] and change["new"] != change["old"]:  # another table: other columns
            with self.hold_trait_notifications():
                self.filters, self.sort = [], []

    @property
    def engine(self) -> GridEngine:
        """The query engine of the current table (opened on first use)."""
        table_path = self.table_path
        if not table_path:
            raise ValueError("no table selected")
        with self._lock:
            if self._engine is not None and self._engine.table_path == table_path:
                return self._engine
        built = GridEngine(self._sources, table_path)  # slow (reads): outside the lock
        with self._lock:
            if self._engine is not None and self._engine.table_path == table_path:
                return self._engine  # another request built it meanwhile
            if self.table_path == table_path:  # still the selection: keep it
                self._engine = built
                self._pages.clear()
            return built

    def _query(self, content: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        filters = content.get("filters", self.filters)
        sort = content.get("sort", self.sort)
        return list(filters or []), list(sort or [])

    # -- requests -------------------------------------------------------------------------

    def _req_info(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        if not self.table_path:
            return {"table_path": "", "columns": [], "total": 0}, []
        engine = self.engine
        filters, sort = self._query(content)
        total = engine.total(filters, sort)
        return {
            "table_path": engine.table_path,  # what was read, should the selection change
            "columns": engine.columns(),
            "total": total,
            "unfiltered": int(engine.starts[-1]),
            "multi_file": engine.multi_file,
            "file_errors": engine.file_errors + engine.query_errors,
            "filter_errors": engine.check(filters)[1],
        }, []

    def _req_page(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        engine = self.engine
        filters, sort = self._query(content)
        offset = max(0, int(content.get("offset", 0)))
        limit = max(0, min(int(content.get("limit", self.page_size)), MAX_PAGE_ROWS))
        # The engine's table, not self.table_path: the selection may change while the page
        # is read, and the reply (and the cache) must describe the rows it carries.
        key = (engine.table_path, grid_query.query_key(filters, sort), offset, limit)
        with self._lock:
            cached = self._pages.get(key)
            if cached is not None:
                self._pages.move_to_end(key)
                return dict(cached[0], cached=True), [cached[1]]
        frame = engine.page(offset, limit, filters, sort)
        data, rows = encode_page(frame)
        meta = {"table_path": engine.table_path, "offset": offset, "count": rows,
                "total": engine.total(filters, sort), "columns": frame.columns,
                "cut": rows < frame.height}
        with self._lock:
            if self._engine is engine:  # a page of a table no longer shown is not kept
                self._pages[key] = (meta, data)
                while len(self._pages) > _CACHED_PAGES:
                    self._pages.popitem(last=False)
        return meta, [data]

    def _req_cell(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        """One cell in full: {offset, column} of the query's display rows."""
        filters, sort = self._query(content)
        return self.engine.cell(int(content.get("offset", 0)), str(content.get("column", "")),
                                filters, sort)

    def _req_follow(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        """Follow a DynamicTableRegion cell: show its target table, filtered to the rows it
        references (and to its file, when the grid shows several)."""
        filters, sort = self._query(content)
        engine = self.engine
        target, rows, source = engine.region_rows(int(content.get("offset", 0)),
                                                  str(content.get("column", "")), filters, sort)
        chosen = [{"column": TABLE_INDEX_COLUMN_NAME, "op": "in", "value": json.dumps(rows)}]
        if engine.multi_file:
            chosen.insert(0, {"column": NWB_PATH_COLUMN_NAME, "op": "==", "value": source.label})
        with self._lock:
            self.table_path = target  # resets filters and sort
            self.filters = chosen
        return {"table_path": target, "rows": rows}, []

    # -- the Explorer's panel protocol ----------------------------------------------------

    @staticmethod
    def shows(catalog: Catalog, path: str) -> bool:
        """A DynamicTable."""
        return bool(path) and is_table(catalog, path)

    def show(self, path: str) -> None:
        self.table_path = path

    # -- Python side ----------------------------------------------------------------------

    def lazyframe(self) -> pl.LazyFrame:
        """scan_nwb over the files with the grid's filters and sort applied, as shown: a
        filter that cannot apply is left out (with a warning naming it), nulls and NaN last."""
        if not self.table_path:
            raise ValueError("no table selected")
        frame = scan_nwb(self._sources, self.table_path, disable_progress=True)
        schema = dict(frame.collect_schema())
        filters, errors = grid_query.checked(self.filters, schema)
        for error in errors:
            warnings.warn(f"filter {error['index'] + 1} left out: {error['message']}", stacklevel=2)
        expr = grid_query.predicate(filters, schema)
        if expr is not None:
            frame = frame.filter(expr)
        return grid_query.sorted_frame(frame, grid_query.sort_keys(self.sort, schema), schema)
