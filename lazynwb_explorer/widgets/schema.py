"""SchemaViewer: the columns of a table, or the layout and attributes of a series / dataset.

Why: before reading anything, a user wants to know what a path holds - types, ragged depth,
shapes, how it is chunked and compressed (which decides what a read will cost). All of it
comes from the catalog; no data is read.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import traitlets

from ..catalog import Catalog, normalize_path, open_catalog
from ._base import STATIC, FileView, Reply
from .schema_data import describe_path
from .tree import selection_lazyframe


class SchemaViewer(FileView):
    """Schema of the `selected_path` in a file (the first source when given several).

    Traitlets: `source` (label), `selected_path`, `height`.
    Requests: schema {path} -> {path, entity: table|series|dataset|group, ...}.
    """

    _esm = STATIC / "schema.js"
    selected_path = traitlets.Unicode("", help="the path whose schema is shown").tag(sync=True)

    def __init__(self, source: Any, selected_path: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("height", 260)
        super().__init__(source, selected_path=selected_path,
                         **kwargs)

    @property
    def catalog(self) -> Catalog:
        return open_catalog(self._sources[0])

    def _req_schema(self, content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        path = str(content.get("path") or "")
        if not path:
            return {"path": "", "entity": "none"}, []
        return describe_path(self.catalog, normalize_path(path)), []

    def lazyframe(self) -> pl.LazyFrame:
        """The selected table (or series) as a polars LazyFrame."""
        return selection_lazyframe(self._sources[:1], self.catalog, self.selected_path)
