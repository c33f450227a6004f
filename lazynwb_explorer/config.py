"""Global settings, with lazynwb's field names so existing code configures us unchanged.

`config` is one mutable object read at call time (never cached at import), so
`lazynwb_explorer.config.anon = True` takes effect on the next call. Each field can also be
set from the environment with either prefix lazynwb reads, `LAZYNWB_` or `LAZYNWB_FILE_IO_`
(e.g. `LAZYNWB_ANON=1`, `LAZYNWB_FILE_IO_USE_POLARS=true`; the first wins when both are set).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

# pydantic's spellings of a bool, which lazynwb's settings accept
_TRUE = {"1", "true", "yes", "on", "t", "y"}
_FALSE = {"0", "false", "no", "off", "f", "n"}
_PREFIXES = ("LAZYNWB_", "LAZYNWB_FILE_IO_")  # lazynwb reads both; the first one set wins
_OPTIONAL_BOOLS = ("anon", "use_remfile", "use_obstore")  # None: not set (our default)


def _env_value(name: str) -> tuple[str, str] | None:
    """(variable, value) of the first of LAZYNWB_<NAME>, LAZYNWB_FILE_IO_<NAME> that is set
    (names in any case, as pydantic-settings matches them)."""
    wanted = [f"{prefix}{name}".upper() for prefix in _PREFIXES]
    found = {key.upper(): (key, value) for key, value in os.environ.items()
             if key.upper() in wanted}
    for variable in wanted:
        if variable in found:
            return found[variable]
    return None


def _env(name: str, default: Any) -> Any:
    """A setting from the environment, parsed as lazynwb parses it; a value that does not
    parse is a ValueError naming the variable."""
    found = _env_value(name)
    if found is None:
        return default
    variable, raw = found
    text = raw.strip()
    try:
        if isinstance(default, bool) or name in _OPTIONAL_BOOLS:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            if name in _OPTIONAL_BOOLS and text.lower() in ("", "none", "null"):
                return None
            raise ValueError("not a boolean")
        if isinstance(default, dict):
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ValueError("not a JSON object")
            return value
        if isinstance(default, list):
            value = json.loads(text)
            if not isinstance(value, list):
                raise ValueError("not a JSON list")
            return value
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError as exc:
        raise ValueError(f"environment variable {variable}={raw!r}: {exc}") from None
    return raw


def _half_the_memory() -> int:
    """Half this machine's physical memory (8 GiB where it cannot be told)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "lazynwb_explorer")


@dataclasses.dataclass
class Config:
    """Settings shared by every call.

    lazynwb's fields:
        use_polars: return polars DataFrames by default (pandas otherwise).
        use_remfile, use_obstore: None (the default): remote reads go through our own
            pooled range transport. Set, they are honoured as lazynwb means them, for
            comparing transports or working around a problem (both are slower than ours):
            use_remfile=True reads http(s) files through remfile; use_obstore=False reads
            http(s), s3, gcs and azure URLs through fsspec (aiohttp, s3fs, gcsfs, adlfs).
            (lazynwb's defaults, True and False, would make those its default transports.)
        anon: anonymous (unsigned) access to object stores; None = try credentials, and fall
            back to unsigned requests when none are found.
        fsspec_storage_options: store options (endpoint_url, region, key, secret, ...), in
            fsspec / s3fs spelling; translated for the transport, and given as they are to
            s3fs / gcsfs / adlfs where fsspec reads an object store.
        disable_cache: do not keep per-file catalogs between calls.

    Ours:
        storage_options: obstore-spelled options, merged over the translated fsspec ones.
        request_timeout: seconds one request may take before it is retried.
        max_retries / retry_deadline: bounds on retrying 5xx, resets, timeouts, short reads.
        max_concurrency: range requests in flight at once, across all files of a call.
        max_files_in_flight: files worked on at once in a multi-file call (their requests
            share the `max_concurrency` bound).
        block_size: bytes per cached block when h5py reads metadata through the range reader
            (the first read of a file fetches one block: superblock and root metadata).
        dandi_api_url, dandi_bucket_url: where DANDI sources are resolved (tests point
            these at servers on 127.0.0.1).
        cache_dir: where persistent catalogs live.
        coalesce_gap: data ranges closer than this many bytes are fetched in one request (the
            gap costs less than another request's overhead).
        revalidate_after: seconds after which values kept in memory from a remote file that
            may change (not a DANDI blob) are re-confirmed with one 1-byte If-Match request
            before they answer a call.
        catalog_max_age: seconds a stored catalog of a remote file is trusted before one small
            request re-validates it (DANDI blobs never change and are always trusted).
        hdf5_engine: who reads HDF5: "auto" and "native" (our engine, for local and remote
            files; h5py only for what it does not read, and only once it found the rest of
            the file well formed) or "h5py" (libhdf5 for everything).
        follow_external_paths: follows paths written in the file. A local HDF5 file may say
            that a dataset's values are stored in other files (external raw storage), mapped
            from other files (a virtual dataset), or link to another file (external link).
            Off (the default), reading such an object raises OutsideSourceError; on, libhdf5
            follows the paths for local files. Remote files never reach outside themselves.
        call_deadline: seconds one call (get_df, a scan's collect, get_internal_paths, ...)
            may spend on requests in all, on top of request_timeout per request.
        allowed_redirect_hosts: hosts ("host" or "host:port", "*" for any) an HTTP redirect
            may lead to besides the URL's own scheme, host and port.
        max_read_bytes: the most one read may hold in memory (default: half the machine's
            memory); a read declaring more raises ReadTooLargeError instead of allocating.
    """

    use_polars: bool = dataclasses.field(default_factory=lambda: _env("use_polars", False))
    use_remfile: bool | None = dataclasses.field(default_factory=lambda: _env("use_remfile", None))
    use_obstore: bool | None = dataclasses.field(default_factory=lambda: _env("use_obstore", None))
    anon: bool | None = dataclasses.field(default_factory=lambda: _env("anon", None))
    fsspec_storage_options: dict[str, Any] = dataclasses.field(
        default_factory=lambda: _env("fsspec_storage_options", {})
    )
    disable_cache: bool = dataclasses.field(default_factory=lambda: _env("disable_cache", False))
    storage_options: dict[str, Any] = dataclasses.field(
        default_factory=lambda: _env("storage_options", {})
    )
    request_timeout: float = dataclasses.field(
        default_factory=lambda: _env("request_timeout", 30.0)
    )
    max_retries: int = dataclasses.field(default_factory=lambda: _env("max_retries", 5))
    retry_deadline: float = dataclasses.field(
        default_factory=lambda: _env("retry_deadline", 120.0)
    )
    # Object stores serve parallel range GETs well; a warm filtered /units read asks ~70
    # ranges at once, which 32 in flight turned into 3 waves of round trips, 128 into 1.
    max_concurrency: int = dataclasses.field(default_factory=lambda: _env("max_concurrency", 128))
    max_files_in_flight: int = dataclasses.field(
        default_factory=lambda: _env("max_files_in_flight", 64)
    )
    block_size: int = dataclasses.field(default_factory=lambda: _env("block_size", 64 * 1024))
    dandi_api_url: str = dataclasses.field(
        default_factory=lambda: _env("dandi_api_url", "https://api.dandiarchive.org/api")
    )
    dandi_bucket_url: str = dataclasses.field(
        default_factory=lambda: _env("dandi_bucket_url", "s3://dandiarchive")
    )
    cache_dir: str = dataclasses.field(default_factory=lambda: _env("cache_dir", _default_cache_dir()))
    coalesce_gap: int = dataclasses.field(default_factory=lambda: _env("coalesce_gap", 64 * 1024))
    revalidate_after: float = dataclasses.field(default_factory=lambda: _env("revalidate_after", 2.0))
    catalog_max_age: float = dataclasses.field(
        default_factory=lambda: _env("catalog_max_age", 24 * 3600.0)
    )
    hdf5_engine: str = dataclasses.field(default_factory=lambda: _env("hdf5_engine", "auto"))
    follow_external_paths: bool = dataclasses.field(
        default_factory=lambda: _env("follow_external_paths", False)
    )
    call_deadline: float = dataclasses.field(default_factory=lambda: _env("call_deadline", 300.0))
    allowed_redirect_hosts: list[str] = dataclasses.field(
        default_factory=lambda: _env("allowed_redirect_hosts", [])
    )
    max_read_bytes: int = dataclasses.field(
        default_factory=lambda: _env("max_read_bytes", _half_the_memory())
    )

    def __repr__(self) -> str:  # never print secrets held in storage options
        fields = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            fields.append(f"{f.name}={_masked(value)!r}")
        return f"Config({', '.join(fields)})"


def _masked(value: Any) -> Any:
    """`value` with every secret-named entry of its dicts, at any depth, shown as ***
    (s3fs nests credentials, e.g. client_kwargs={'aws_session_token': ...})."""
    if isinstance(value, dict):
        return {k: ("***" if _is_secret(str(k)) else _masked(v)) for k, v in value.items()}
    return value


def _is_secret(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in ("secret", "token", "password", "key", "session"))


config = Config()


def resolve_as_polars(as_polars: bool | None) -> bool:
    """An explicit `as_polars` wins; otherwise `config.use_polars` decides."""
    return config.use_polars if as_polars is None else bool(as_polars)
