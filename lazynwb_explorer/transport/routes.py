"""Which transport reads a source.

- local paths and `file://` URLs: the local reader;
- `http(s)://`, `s3://`, `gs://` (`gcs://`), `az://` (`abfs(s)://`): our own transport
  (transport/remote.py: our checked requests for http(s), obstore for the rest), unless config says otherwise: `use_remfile=True` reads http(s) through remfile
  (lazynwb's transport for HTTP), `use_obstore=False` reads all of them through fsspec
  (s3fs, gcsfs, adlfs, aiohttp);
- every other URL (memory://, sftp://, hf://, webdav://, chained `simplecache::...`), and a
  UPath that carries storage options of its own (they are fsspec's options): fsspec.
Both settings are None by default (ours); only an explicit value switches.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from ..config import config
from ..errors import SourceError
from .readers import Reader

OUR_SCHEMES = frozenset({"http", "https", "s3", "gs", "gcs", "az", "abfs", "abfss"})
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)(://|::)")
Transport = Literal["local", "ours", "fsspec", "remfile"]


def is_url(text: str) -> bool:
    """Whether `text` is a URL (`scheme://...`, or a chain `protocol::...`), not a path."""
    return _URL.match(text) is not None


def route(uri: str, storage_options: dict[str, Any] | None = None) -> Transport:
    """The transport that reads `uri` (with a UPath's `storage_options`)."""
    found = _URL.match(uri)
    if found is None:
        return "local"
    scheme, chained = found.group(1).lower(), found.group(2) == "::"
    if scheme == "file" and not chained:
        return "local"
    if chained or scheme not in OUR_SCHEMES or storage_options:
        return "fsspec"
    if scheme in ("http", "https") and config.use_remfile:
        return "remfile"
    if config.use_obstore is False:
        return "fsspec"
    return "ours"


def options_key(storage_options: dict[str, Any] | None) -> str:
    """A UPath's storage options as part of a reader's cache key."""
    return json.dumps(storage_options or {}, sort_keys=True, default=repr)


def remote_reader(transport: Transport, uri: str, storage_options: dict[str, Any] | None) -> Reader:
    """A new reader of `uri` by `transport` (any but 'local')."""
    if transport == "fsspec":
        from .fsspec_reader import FsspecReader

        return FsspecReader(uri, storage_options)
    if transport == "remfile":
        try:
            from .remfile_reader import RemfileReader
        except ImportError as exc:
            raise SourceError(f"config.use_remfile=True needs remfile ({exc}): pip install "
                              "remfile, or leave use_remfile unset", source=uri) from None
        return RemfileReader(uri)
    from .remote import remote_reader as our_reader

    return our_reader(uri)
