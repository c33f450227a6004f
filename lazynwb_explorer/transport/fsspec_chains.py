"""Which fsspec filesystem reads a URL, and with which options.

A URL may be a chain (`simplecache::s3://bucket/key`, `blockcache::https://...`): fsspec
builds one filesystem per layer, each with its own options (the outermost plain, the inner
ones under their protocol's name). A UPath's storage options nest the same way
(target_protocol / target_options). `config.fsspec_storage_options` (s3fs spelling, lazynwb's
meaning) go to the innermost layer only when it is an object store: s3 credentials must not
reach an sftp or webdav host, whose constructors would also refuse them. Every http(s) layer
gets our aiohttp rules (transport/fsspec_http.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import fsspec

from ..config import config
from ..errors import SourceError, redact
from . import fsspec_http

OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl"})
_CHAIN_KEYS = ("target_protocol", "target_options", "fo")


def chain_protocols(url: str) -> list[str]:
    """The protocols of a (chained) fsspec URL, outermost first: 'simplecache::s3://b/k' ->
    ['simplecache', 's3'] (split as fsspec splits it)."""
    out = []
    for bit in url.split("::"):
        protocol = fsspec.core.split_protocol(bit)[0] if "://" in bit else bit
        out.append((protocol or "file").lower())
    return out


def filesystem_options(url: str, storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """`url_to_fs` keywords for `url`: the outermost layer's options plain, an inner layer's
    under its protocol's name (fsspec's spelling for chains). `storage_options` are a UPath's
    (a chain's nest as target_protocol / target_options); config.fsspec_storage_options go to
    the innermost layer when it is an object store, under the UPath's own."""
    layers = chain_protocols(url)
    own = dict(storage_options or {})
    per_layer = []
    for _ in layers:
        per_layer.append({k: v for k, v in own.items() if k not in _CHAIN_KEYS})
        own = dict(own.get("target_options") or {})
    if layers[-1] in OBJECT_STORES:
        shared = dict(config.fsspec_storage_options or {})
        if config.anon is not None:
            shared["anon"] = config.anon
        per_layer[-1] = {**shared, **per_layer[-1]}
    for protocol, options in zip(layers, per_layer):
        if protocol in ("http", "https"):  # aiohttp kept to our requests' rules
            options["client_kwargs"] = fsspec_http.client_kwargs(options.get("client_kwargs"))
    kwargs: dict[str, Any] = {p: o for p, o in zip(layers[1:], per_layer[1:]) if o}
    kwargs.update(per_layer[0])
    return kwargs


def open_filesystem(url: str, storage_options: Mapping[str, Any] | None) -> tuple[Any, str]:
    """(fsspec filesystem, path in it) for `url`; SourceError for a URL fsspec cannot open
    and for user:password@ in an object-store URL (refused as our own transport refuses it)."""
    innermost = chain_protocols(url)[-1]
    if innermost in OBJECT_STORES and not innermost.startswith(("az", "abfs")) and (
            urlsplit(url.split("::")[-1]).username):
        raise SourceError("user:password@ in an object-store URL is not used: give credentials "
                          "in config.fsspec_storage_options or the UPath's options", source=url)
    try:
        return fsspec.core.url_to_fs(url, **filesystem_options(url, storage_options))
    except (ImportError, ValueError, TypeError) as exc:  # no such protocol, a missing package
        raise SourceError(f"fsspec cannot open it: {redact(str(exc))}", source=url) from None
