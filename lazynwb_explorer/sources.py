"""What the user passed -> Source objects; HDF5 vs Zarr told apart by content.

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
from typing import Any, Literal

from .errors import NotNWBError, SourceError
from .transport import Reader, open_reader

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
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


def detect_format(source: Source) -> Literal["hdf5", "zarr"]:
    """'hdf5' or 'zarr', from the bytes (HDF5 signature; Zarr group keys), not the suffix."""
    if not source.is_remote:
        path = Path(source.uri)
        if path.is_dir():
            if (path / ".zgroup").exists() or (path / ".zmetadata").exists():
                return "zarr"
            raise NotNWBError("a directory that is not a Zarr store", source=source.label)
        if not path.exists():
            raise SourceError("no such file", source=source.label)
        with open(path, "rb") as f:
            head = f.read(8)
        if head == HDF5_SIGNATURE:
            return "hdf5"
        raise NotNWBError("not an HDF5 or Zarr NWB file", source=source.label)
    reader = source.reader()
    looks_zarr = source.uri.rstrip("/").lower().endswith(".zarr")
    if looks_zarr and _zarr_keys_exist(reader):
        return "zarr"
    try:
        head = reader.first_block()[:8]
    except SourceError:
        if not looks_zarr and _zarr_keys_exist(reader):
            return "zarr"
        raise
    if head == HDF5_SIGNATURE:
        return "hdf5"
    if not looks_zarr and _zarr_keys_exist(reader):
        return "zarr"
    raise NotNWBError("not an HDF5 or Zarr NWB file", source=source.label)


def _zarr_keys_exist(reader: Reader) -> bool:
    found = reader.get_many([".zmetadata", ".zgroup"])
    return any(v is not None for v in found.values())
