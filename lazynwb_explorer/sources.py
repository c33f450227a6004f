"""What the user passed -> Source objects (backends/open.py tells HDF5 from Zarr by content).

Accepted: local paths (str or os.PathLike), file://, http(s)://, s3://, gs:// (gcs://),
az:// (abfs://) URLs, and lists of any of these. A Source keeps the string the user gave
(`label`, which becomes the `_nwb_path` column) and the location we read (`uri`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .transport import Reader, open_reader

REMOTE_SCHEMES = ("http://", "https://", "s3://", "gs://", "gcs://", "az://", "abfs://", "abfss://")

PathLike = str | os.PathLike


@dataclasses.dataclass(frozen=True)
class Source:
    label: str
    uri: str

    @property
    def is_remote(self) -> bool:
        return self.uri.lower().startswith(REMOTE_SCHEMES)

    def reader(self) -> Reader:
        return open_reader(self.uri)


_IMMUTABLE = re.compile(r"(?i)(dandiarchive[^/]*/blobs/|/blobs/[0-9a-f]{3}/[0-9a-f]{3}/)")


def is_immutable(uri: str) -> bool:
    """DANDI blob URLs name content that never changes (a new version is a new blob)."""
    return bool(_IMMUTABLE.search(uri))


def to_source(item: Any) -> Source:
    """One source from a path, URL or Source."""
    if isinstance(item, Source):
        return item
    if isinstance(item, os.PathLike):
        item = Path(item).as_posix()
    if not isinstance(item, str):
        # UPath and friends: anything with a URL-ish str()
        item = str(item)
    label = item
    uri = item
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    elif not uri.lower().startswith(REMOTE_SCHEMES):
        uri = os.path.abspath(os.path.expanduser(uri))
    return Source(label=label, uri=uri)


def to_sources(items: Any) -> list[Source]:
    """One or many sources; a single str / PathLike is one source, never iterated."""
    if isinstance(items, str | os.PathLike | Source) or not isinstance(items, Iterable):
        return [to_source(items)]
    return [to_source(i) for i in items]
