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
from urllib.parse import urlsplit, urlunsplit

from .config import config
from .transport import Reader, open_reader

REMOTE_SCHEMES = ("http://", "https://", "s3://", "gs://", "gcs://", "az://", "abfs://", "abfss://")


@dataclasses.dataclass(frozen=True)
class Source:
    label: str
    uri: str

    @property
    def is_remote(self) -> bool:
        return self.uri.lower().startswith(REMOTE_SCHEMES)

    def reader(self) -> Reader:
        return open_reader(self.uri)


# What the public functions take for a file: a path or URL, or (from our own callers, the
# widgets and the command line) a Source already parsed.
PathLike = str | os.PathLike[str] | Source


_BLOB_PATH = re.compile(r"(?i)/blobs/[0-9a-f]{3}/[0-9a-f]{3}/[0-9a-f-]+$")
# DANDI's bucket, as s3:// and as its https endpoints (any region)
_DANDI_BUCKET = re.compile(r"(?i)^(s3://dandiarchive|https://dandiarchive\.s3(\.[a-z0-9-]+)?\.amazonaws\.com)$")


def is_immutable(uri: str) -> bool:
    """A DANDI blob: its content never changes (a new version is a new blob). Told by the
    URL's form only: DANDI's bucket (or config.dandi_bucket_url), then blobs/xxx/yyy/<id>;
    the same path on any other host is just a path."""
    base, _, _ = uri.partition("?")
    found = _BLOB_PATH.search(base)
    if found is None:
        return False
    bucket = base[: found.start()].rstrip("/")
    return bool(_DANDI_BUCKET.match(bucket)) or bucket == config.dandi_bucket_url.rstrip("/")


def public_uri(uri: str) -> str:
    """The source as it may be stored, exported and shown: no user:password@ and no query
    string (a presigned URL's signature) in a URL; local paths as they are. (An az:// URL's
    container@account is not a secret and stays.)"""
    if "://" not in uri:
        return uri
    parts = urlsplit(uri)
    netloc = parts.netloc
    if "@" in netloc and parts.scheme.lower() not in ("az", "abfs", "abfss", "azure"):
        netloc = netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


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
