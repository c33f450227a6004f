"""TreeBrowser: the file's tree, expanded lazily, searchable, with an access snippet.

Why lazy: a file can hold thousands of objects; the browser asks for a group's children when
the user opens it (from the in-memory catalog, so no bytes are read after the file is open).
The selection is the `selected_path` traitlet, which the other views follow.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import traitlets

from ..api.scan import scan_nwb
from ..api.series_frames import scan_series
from ..catalog import Catalog, normalize_path, open_catalog
from ..errors import redact
from ..nwb.kinds import is_series, is_table
from ..sources import Source
from . import tree_data
from ._base import STATIC, Reply, View, as_sources


class TreeBrowser(View):
    """The tree of one NWB file (the first source when given several).

    Traitlets: `source` (the file's label, credentials masked), `selected_path` (the selection, '' for none),
    `snippet` (Python that reads the selection), `query` (the search box), `height`.

    Requests: children {path}; reveal {path}; search {query} (contract: widgets_js/README.md).
    """

    _esm = STATIC / "tree.js"
    source = traitlets.Unicode("", help="label of the file shown").tag(sync=True)
    selected_path = traitlets.Unicode("", help="the selected internal path").tag(sync=True)
    snippet = traitlets.Unicode("", help="code that reads the selection").tag(sync=True)
    query = traitlets.Unicode("", help="the search text").tag(sync=True)

    def __init__(self, source: Any, selected_path: str = "", **kwargs: Any) -> None:
        self._sources: list[Source] = as_sources(source)
        super().__init__(source=redact(self._sources[0].label), **kwargs)
        self.selected_path = selected_path

    @property
    def catalog(self) -> Catalog:
        """The open file (from the memory cache after the first call)."""
        return open_catalog(self._sources[0])

    @traitlets.observe("selected_path")
    def _selection_changed(self, change: dict[str, Any]) -> None:
        path = change["new"]
        try:
            self.snippet = tree_data.snippet(self.catalog, self.source, path) if path else ""
        except Exception:  # noqa: BLE001 - a snippet is a nicety; an unreadable file shows errors elsewhere
            self.snippet = ""

    # -- requests -------------------------------------------------------------------------

    def _req_children(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        path = normalize_path(str(content.get("path") or "/"))
        catalog = self.catalog
        root = tree_data.describe_node(catalog, "/") if path == "/" else None
        return {"path": path, "nodes": tree_data.children(catalog, path), "root": root,
                "source": self.source}, []

    def _req_reveal(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        path = normalize_path(str(content.get("path") or "/"))
        return {"path": path, "levels": tree_data.reveal(self.catalog, path)}, []

    def _req_search(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        query = str(content.get("query") or "")
        results, truncated = tree_data.search(self.catalog, query)
        return {"query": query, "results": results, "truncated": truncated}, []

    # -- Python side ----------------------------------------------------------------------

    def lazyframe(self) -> pl.LazyFrame:
        """The selected table (or series, one row per sample) as a polars LazyFrame."""
        return selection_lazyframe(self._sources[:1], self.catalog, self.selected_path)


def selection_lazyframe(sources: list[Source], catalog: Catalog, path: str) -> pl.LazyFrame:
    """A LazyFrame of what a selected path holds: a table, a series, or a table's column."""
    if not path:
        raise ValueError("nothing is selected")
    path = normalize_path(path)
    node = catalog.require(path)
    if is_table(catalog, path):
        return scan_nwb(sources, path, disable_progress=True)
    if node.is_group and is_series(catalog, path):
        return scan_series(sources, path)
    parent = path.rsplit("/", 1)[0] or "/"
    if node.is_dataset and is_table(catalog, parent):
        column = path.rsplit("/", 1)[1]
        return scan_nwb(sources, parent, disable_progress=True).select(column)
    raise ValueError(f"{path} is not a table, a time series or a table column")
