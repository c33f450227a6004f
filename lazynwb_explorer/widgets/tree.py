"""TreeBrowser: the file's tree, expanded lazily, searchable, with an access snippet.

Why lazy: a file can hold thousands of objects; the browser asks for a group's children when
the user opens it (from the in-memory catalog, so no bytes are read after the file is open).
The selection is the `selected_path` traitlet, which the other views follow.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import traitlets

from ..api.metadata import get_metadata_df
from ..api.scan import scan_nwb
from ..api.series_frames import scan_series
from ..catalog import Catalog, normalize_path, open_catalog
from ..errors import LazyNWBError
from ..nwb.kinds import is_series, is_table
from ..nwb.tables import describe_table
from ..sources import Source
from . import tree_data
from ._base import STATIC, FileView, Reply


class TreeBrowser(FileView):
    """The tree of one NWB file (the first source when given several).

    Traitlets: `source` (the file's label, credentials masked), `selected_path` (the selection, '' for none),
    `snippet` (Python that reads the selection), `query` (the search box), `height`.

    Requests: children {path}; reveal {path}; search {query} (contract: widgets_js/README.md).
    """

    _esm = STATIC / "tree.js"
    selected_path = traitlets.Unicode("", help="the selected internal path").tag(sync=True)
    snippet = traitlets.Unicode("", help="code that reads the selection").tag(sync=True)
    query = traitlets.Unicode("", help="the search text").tag(sync=True)

    def __init__(self, source: Any, selected_path: str = "", **kwargs: Any) -> None:
        super().__init__(source, selected_path=selected_path, **kwargs)

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


class SelectionError(LazyNWBError, ValueError):
    """What is selected has no frame (a VectorIndex, an attribute-only group, ...)."""


SESSION_PATHS = ("/", "/general", "/general/subject")


def metadata_lazyframe(sources: list[Source]) -> pl.LazyFrame:
    """get_metadata_df's row(s) of the files: session and subject metadata, typed."""
    return get_metadata_df(sources, disable_progress=True, as_polars=True).lazy()


def selection_lazyframe(sources: list[Source], catalog: Catalog, path: str) -> pl.LazyFrame:
    """A LazyFrame of what a selected path holds: a table, a series (one row per sample, 2-D
    data as an Array column), a table's column, or the session's metadata (/, /general,
    /general/subject). Anything else is a SelectionError that says what to select instead."""
    if not path:
        raise ValueError("nothing is selected")
    path = normalize_path(path)
    node = catalog.require(path)
    if path in SESSION_PATHS:
        return metadata_lazyframe(sources)
    if is_table(catalog, path):
        return scan_nwb(sources, path, disable_progress=True)
    if node.is_group and is_series(catalog, path):
        return scan_series(sources, path, exclude_array_columns=False)
    parent, name = path.rsplit("/", 1)
    parent = parent or "/"
    if node.is_dataset and is_table(catalog, parent):
        table = describe_table(catalog, parent)
        if name in table.columns:
            return scan_nwb(sources, parent, disable_progress=True).select(name)
        owner = next((c for c in table.columns.values() if path in c.index_paths), None)
        if owner is not None:
            raise SelectionError(
                f"{name} is the index of the ragged column {owner.name!r} (where each row's "
                f"list ends in its data), not a column of its own: select "
                f"{parent}/{owner.name} for the lists", source=catalog.label, path=path)
    raise SelectionError("not a table, a time series, a table column or session metadata: "
                         "nothing to show as a frame", source=catalog.label, path=path)
