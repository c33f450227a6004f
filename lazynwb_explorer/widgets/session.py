"""SessionPanel: the session and subject metadata of a file, as values.

Why: the first thing a user wants of a session is what it is - species, age, sex, when it
started, what was done, by whom, in which lab. The tree shows /general as groups and datasets;
this panel reads those fields (nwb/session.py: one small read each, typed as get_metadata_df
types them) and shows their values. The Explorer shows it when it opens and when /, /general
or /general/subject is selected.
"""

from __future__ import annotations

import datetime
from typing import Any

import polars as pl

from ..catalog import Catalog, open_catalog
from ..nwb.session import read_session, read_subject
from ._base import STATIC, FileView, Reply
from .tree import SESSION_PATHS, metadata_lazyframe


def as_text(value: Any) -> str | None:
    """A metadata value as the panel shows it (None when the file has none)."""
    if value is None or value == []:
        return None
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


class SessionPanel(FileView):
    """Session and subject metadata of one file (the first source when given several).

    Traitlets: `source` (label), `height`. Requests: metadata {} -> {source, nwb_version,
    sections: [{title, fields: [[name, text]]}], missing: [name]}.
    """

    _esm = STATIC / "session.js"

    def __init__(self, source: Any, path: str = "", **kwargs: Any) -> None:
        """`path` is accepted as every panel's is (the panel shows the whole session)."""
        super().__init__(source, **kwargs)

    @property
    def catalog(self) -> Catalog:
        return open_catalog(self._sources[0])

    # -- the Explorer's panel protocol ----------------------------------------------------

    @staticmethod
    def shows(_catalog: Catalog, path: str) -> bool:
        """Nothing selected yet, the root, /general or /general/subject."""
        return not path or path in SESSION_PATHS

    def show(self, path: str) -> None:
        """The panel shows the whole session whichever of its paths is selected."""

    # -- requests -------------------------------------------------------------------------

    def _req_metadata(self, _content: dict[str, Any], _buffers: list[bytes]) -> Reply:
        catalog = self.catalog
        sections, missing = [], []
        for title, fields in (("Session", read_session(catalog)), ("Subject", read_subject(catalog))):
            shown = []
            for name, value in fields.items():
                text = as_text(value)
                if text is None:
                    missing.append(name if title == "Session" else f"subject {name}")
                else:
                    shown.append([name, text])
            sections.append({"title": title, "fields": shown})
        version = catalog.require("/").attrs.get("nwb_version")
        return {"source": self.source, "nwb_version": as_text(version), "sections": sections,
                "missing": missing}, []

    # -- Python side ----------------------------------------------------------------------

    def lazyframe(self) -> pl.LazyFrame:
        """get_metadata_df's row of the file: every session and subject field, typed."""
        return metadata_lazyframe(self._sources[:1])
