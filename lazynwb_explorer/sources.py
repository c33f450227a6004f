"""What the user passed -> Source objects (backends/open.py tells HDF5 from Zarr by content).

Accepted: local paths (str or os.PathLike), URLs (file://, http(s)://, s3://, gs://, az://,
and any other fsspec URL: memory://, sftp://, hf://, chained simplecache::...), UPaths,
fsspec mappers (a Zarr store's FSMap), and lists of any of these. A Source keeps the string
the user gave (`label`, which becomes the
`_nwb_path` column), the location we read (`uri`) and a UPath's own storage options
(transport/routes.py says which transport reads it).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .config import config
from .errors import remember_secrets
from .transport import Reader, is_url, open_reader


@dataclasses.dataclass(frozen=True)
class Source:
    label: str
    uri: str
    # a UPath's own (fsspec) options: never shown, and no part of what the source is
    storage_options: dict[str, Any] | None = dataclasses.field(
        default=None, compare=False, repr=False)

    @property
    def is_remote(self) -> bool:
        """Anything but a local path (to_source keeps local paths as plain paths)."""
        return is_url(self.uri)

    def reader(self) -> Reader:
        return open_reader(self.uri, self.storage_options)


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
    if "::" in uri:  # a chain (simplecache::http://...): each of its URLs
        return "::".join(public_uri(part) if "://" in part else part for part in uri.split("::"))
    parts = urlsplit(uri)
    netloc = parts.netloc
    if "@" in netloc and parts.scheme.lower() not in ("az", "abfs", "abfss", "azure"):
        netloc = netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def to_source(item: Any) -> Source:
    """One source from a path, URL or Source."""
    if isinstance(item, Source):
        return item
    if _is_mapper(item):  # an fsspec mapper (a Zarr store's FSMap): its URL and options
        options = _upath_options(item.fs)
        item = item.fs.unstrip_protocol(item.root)
    else:
        options = _upath_options(item)
    if isinstance(item, os.PathLike) and not is_url(str(item)):
        item = Path(item).as_posix()
    if not isinstance(item, str):
        # UPath and friends: anything with a URL-ish str()
        item = str(item)
    label = item
    uri = item
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    elif not is_url(uri):
        uri = os.path.abspath(os.path.expanduser(uri))
    return Source(label=label, uri=uri, storage_options=options)


def _is_mapper(item: Any) -> bool:
    return isinstance(item, Mapping) and hasattr(item, "fs") and isinstance(getattr(item, "root", None), str)


def _upath_options(item: Any) -> dict[str, Any] | None:
    """A UPath's (or an fsspec filesystem's) own storage options (None when it has none, or
    is neither)."""
    options = getattr(item, "storage_options", None)
    if not options or not isinstance(getattr(item, "protocol", None), str):
        return None
    options = dict(options)
    if set(options) <= {"target_protocol", "target_options"} and not options.get("target_options"):
        return None  # a chain's structure only (str() of the UPath says it all)
    remember_secrets(options)
    return options


def to_sources(items: Any) -> list[Source]:
    """One or many sources; a single str / PathLike is one source, never iterated."""
    if is_one_source(items):
        return [to_source(items)]
    return [to_source(i) for i in items]


def is_one_source(item: Any) -> bool:
    """Whether `item` names one source (a str, PathLike, UPath, Source or fsspec mapper),
    not a collection of them."""
    return isinstance(item, str | os.PathLike | Source) or _is_mapper(item) or not isinstance(item, Iterable)
