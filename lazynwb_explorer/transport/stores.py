"""Object-store clients (obstore) for s3://, gs:// and az:// URLs (http(s) has its own
requests: transport/http.py).

One client per (scheme, bucket or host, options): each holds a connection pool that every
file in that bucket shares. Options come from `config`: lazynwb's `fsspec_storage_options`
(s3fs spelling) translated, then `config.storage_options` (obstore spelling) on top.

An AWS bucket's region belongs to the bucket, so it is discovered per bucket (one HEAD to
the global endpoint, which answers `x-amz-bucket-region` even when access is denied) and
cached: one call may mix buckets of different regions. An explicit endpoint (MinIO, R2, a
local S3 server) or region is used as given and nothing is discovered.
"""

from __future__ import annotations

import datetime
import functools
import os
import threading
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from obstore.store import AzureStore, GCSStore, S3Store

from ..config import config

if TYPE_CHECKING:  # obstore's TypedDicts exist in its stubs only
    from obstore.store import ClientConfig, RetryConfig
from .http import close_connections

_FSSPEC_TO_OBSTORE_S3 = {
    "endpoint_url": "endpoint",
    "key": "access_key_id",
    "secret": "secret_access_key",
    "token": "session_token",
    "region_name": "region",
    "region": "region",
}
_AWS_ENV_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE")

_region_cache: dict[str, str] = {}
_region_lock = threading.Lock()


def split_url(url: str) -> tuple[str, str, str]:
    """`scheme://bucket/key` -> (scheme, bucket-or-host, key), key unquoted for http(s)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "gcs":
        scheme = "gs"
    if scheme in ("abfs", "abfss", "azure"):
        scheme = "az"
    key = parts.path.lstrip("/")
    if scheme in ("http", "https"):
        key = unquote(key)
    return scheme, parts.netloc, key


def _s3_options() -> dict[str, Any]:
    options: dict[str, Any] = {}
    fsspec = dict(config.fsspec_storage_options or {})
    client_kwargs = fsspec.pop("client_kwargs", {}) or {}
    for source in (fsspec, client_kwargs):
        for name, value in source.items():
            if name in _FSSPEC_TO_OBSTORE_S3 and value is not None:
                options[_FSSPEC_TO_OBSTORE_S3[name]] = value
    if fsspec.get("anon") is not None and config.anon is None:
        options["skip_signature"] = bool(fsspec["anon"])
    if os.environ.get("AWS_ENDPOINT_URL") and "endpoint" not in options:
        options["endpoint"] = os.environ["AWS_ENDPOINT_URL"]
    options.update(config.storage_options or {})
    return options


def _has_credentials(options: dict[str, Any]) -> bool:
    if options.get("access_key_id") or any(os.environ.get(v) for v in _AWS_ENV_CREDENTIALS):
        return True
    return os.path.exists(os.path.expanduser("~/.aws/credentials"))


def discover_bucket_region(bucket: str, endpoint: str = "https://s3.amazonaws.com") -> str:
    """The region a bucket lives in, from the `x-amz-bucket-region` header; cached per bucket."""
    cache_key = f"{endpoint}|{bucket}"
    with _region_lock:
        if cache_key in _region_cache:
            return _region_cache[cache_key]
    request = urllib.request.Request(f"{endpoint.rstrip('/')}/{bucket}", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=config.request_timeout) as response:
            region = response.headers.get("x-amz-bucket-region")
    except urllib.error.HTTPError as exc:  # 301/403 still carry the header
        region = exc.headers.get("x-amz-bucket-region")
    except OSError:
        region = None
    region = region or "us-east-1"
    with _region_lock:
        _region_cache[cache_key] = region
    return region


def _client_options(endpoint: str | None = None) -> ClientConfig:
    options: ClientConfig = {
        "timeout": datetime.timedelta(seconds=config.request_timeout),
        "connect_timeout": datetime.timedelta(seconds=min(10.0, config.request_timeout)),
    }
    if endpoint is None or endpoint.startswith("http://"):
        options["allow_http"] = True
    return options


# Retries are ours (transport.retry), so that every retry is counted and bounded in one place.
_NO_RETRY: RetryConfig = {"max_retries": 0, "retry_timeout": datetime.timedelta(seconds=1)}


def _anon(options: dict[str, Any]) -> bool:
    if "skip_signature" in options:
        return bool(options.pop("skip_signature"))
    if config.anon is not None:
        return bool(config.anon)
    return not _has_credentials(options)


@functools.lru_cache(maxsize=256)
def _cached_store(scheme: str, netloc: str, frozen: tuple) -> Any:
    options = dict(frozen)
    if scheme == "s3":
        endpoint = options.get("endpoint")
        if endpoint:
            options.setdefault("region", "us-east-1")
            options.setdefault("virtual_hosted_style_request", False)
        elif "region" not in options:
            options["region"] = discover_bucket_region(netloc)
        return S3Store(
            netloc,
            skip_signature=_anon(options),
            client_options=_client_options(endpoint),
            retry_config=_NO_RETRY,
            **options,
        )
    if scheme == "gs":
        return GCSStore(
            netloc, skip_signature=_anon(options), client_options=_client_options(),
            retry_config=_NO_RETRY, **options,
        )
    if scheme == "az":
        account = options.pop("account_name", None)
        if "@" in netloc:  # az://container@account.dfs.core.windows.net/path
            netloc, host = netloc.split("@", 1)
            account = account or host.split(".")[0]
        if account:
            options["account_name"] = account
        return AzureStore(
            netloc, skip_signature=_anon(options), client_options=_client_options(),
            retry_config=_NO_RETRY, **options,
        )
    raise ValueError(f"unsupported URL scheme {scheme!r}")


def get_store(url: str) -> tuple[Any, str]:
    """(obstore client, key inside it) for an object-store URL; clients are shared per
    bucket."""
    scheme, netloc, key = split_url(url)
    if scheme == "s3":
        options = _s3_options()
    else:
        options = dict(config.storage_options or {})
        if scheme in ("gs", "az") and config.anon is not None:
            options.setdefault("skip_signature", config.anon)
    frozen = tuple(sorted((k, v) for k, v in options.items() if _hashable(v)))
    return _cached_store(scheme, netloc, frozen), key


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def clear_stores() -> None:
    """Forget clients and discovered regions (after changing config in a long session)."""
    _cached_store.cache_clear()
    close_connections()
    with _region_lock:
        _region_cache.clear()
