"""Catalogs on disk: a file's tree and layouts, kept between processes.

One file per (source, scope) under `config.cache_dir/catalogs/` ("full", "metadata" for
a walk of the metadata parts only, "paths" for the tables one-table calls walked), named by a keyed hash of the pair (two entries cannot
collide, as `url` and `url + "#metadata"` once did). Each holds the source's identity
(local: catalog/identity.py; remote: what the server reported, ETag first), the nodes, and
the backend's learned state (engine layouts, chunk indexes, small arrays), as
zlib-compressed JSON behind an HMAC under the user's key (catalog/key.py, kept outside
cache_dir): a truncated, corrupt or edited file is detected, deleted and rebuilt.

No secret is stored: the source is kept as `public_uri` (no query string, no user:password@);
the entry is known by its keyed hash only.

Writes go to a temporary file in the same directory and are renamed into place, so two
processes sharing the directory only ever see whole catalogs. Remote catalogs are trusted
for `config.catalog_max_age` seconds after they were last validated (DANDI blobs, which
never change, for ever); after that one small request re-validates them. Data reads send
the stored ETag with If-Match, so bytes of a changed file are never mixed with its old
layout: the change is an error and the stored catalog is dropped.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hmac
import json
import os
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..backends.base import DatasetMeta, Node
from ..config import config
from ..errors import get_logger
from ..sources import is_immutable, public_uri
from .key import catalog_key, sign

log = get_logger(__name__)

MAGIC = b"lazynwb_explorer catalog 2\n"
# scopes: the whole tree, its metadata parts, or the paths one-table calls walked
FULL, METADATA, PATHS = "full", "metadata", "paths"


def catalog_dir() -> Path:
    return _catalog_dir(config.cache_dir, os.environ.get("HOME"))


@functools.lru_cache(maxsize=8)
def _catalog_dir(cache_dir: str, home: str | None) -> Path:
    """Keyed on what expanduser reads: a multi-file call asks once per file."""
    return Path(cache_dir).expanduser() / "catalogs"


def _entry(uri: str, scope: str) -> str:
    return json.dumps([scope, uri])


def _entry_digest(key: bytes, uri: str, scope: str) -> str:
    return sign(key, _entry(uri, scope).encode("utf-8"))


def catalog_file(uri: str, scope: str = FULL) -> Path:
    """Where the catalog of (uri, scope) is stored (a name derived by the user's key)."""
    return _catalog_file(catalog_key() or b"-", catalog_dir(), uri, scope)


@functools.lru_cache(maxsize=4096)
def _catalog_file(key: bytes, directory: Path, uri: str, scope: str) -> Path:
    """Kept: a multi-file call asks for each file's name three times (exists, load, save),
    and the HMAC and path joins cost more than the look-ups they serve."""
    return directory / (_entry_digest(key, uri, scope)[:40] + ".json.z")


# -- nodes <-> JSON ----------------------------------------------------------------------


def dtype_to_json(dtype: np.dtype) -> Any:
    """A dtype as JSON, without h5py's metadata (vlen / ref markers numpy cannot store)."""
    if dtype.names and dtype.fields is not None:
        return {
            "names": list(dtype.names),
            "formats": [dtype_to_json(dtype.fields[n][0]) for n in dtype.names],
            "offsets": [dtype.fields[n][1] for n in dtype.names],
            "itemsize": dtype.itemsize,
        }
    if dtype.subdtype is not None:
        return {"base": dtype_to_json(dtype.subdtype[0]), "shape": list(dtype.subdtype[1])}
    return dtype.str


def dtype_from_json(obj: Any) -> np.dtype:
    if isinstance(obj, str):
        return np.dtype(obj)
    if "base" in obj:
        return np.dtype((dtype_from_json(obj["base"]), tuple(obj["shape"])))
    spec: Any = {**obj, "formats": [dtype_from_json(f) for f in obj["formats"]]}  # what dtype_to_json wrote
    return np.dtype(spec)


def _meta_to_json(meta: DatasetMeta | None) -> dict[str, Any] | None:
    if meta is None:
        return None
    return {
        "shape": list(meta.shape),
        "dtype": dtype_to_json(meta.dtype),
        "chunks": list(meta.chunks) if meta.chunks is not None else None,
        "compression": meta.compression,
        "filters": list(meta.filters),
        "is_string": meta.is_string,
        "is_reference": meta.is_reference,
        "storage_dtype": meta.storage_dtype,
    }


def _meta_from_json(obj: dict[str, Any] | None) -> DatasetMeta | None:
    if obj is None:
        return None
    return DatasetMeta(
        shape=tuple(obj["shape"]),
        dtype=dtype_from_json(obj["dtype"]),
        chunks=tuple(obj["chunks"]) if obj["chunks"] is not None else None,
        compression=obj["compression"],
        filters=tuple(obj["filters"]),
        is_string=obj["is_string"],
        is_reference=obj["is_reference"],
        storage_dtype=obj["storage_dtype"],
    )


def _plain(value: Any) -> Any:
    """Attribute values as JSON can hold them (what cannot be held becomes None)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return None


def nodes_to_json(nodes: dict[str, Node]) -> list[dict[str, Any]]:
    return [
        {
            "path": n.path,
            "group": n.is_group,
            "attrs": _plain(n.attrs),
            "dataset": _meta_to_json(n.dataset),
            "children": list(n.children),
            "link": n.is_link,
            "outside": n.outside,
        }
        for n in nodes.values()
    ]


def nodes_from_json(items: list[dict[str, Any]]) -> dict[str, Node]:
    return {
        item["path"]: Node(
            item["path"], item["group"], item["attrs"], _meta_from_json(item["dataset"]),
            tuple(item["children"]), item["link"], item.get("outside"),
        )
        for item in items
    }


def arrays_to_json(arrays: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for path, arr in arrays.items():
        arr = np.asarray(arr)
        if arr.ndim == 1 and (arr.dtype.kind in "iu"
                              or (arr.dtype.kind == "f" and bool(np.isfinite(arr).all()))):
            out[path] = {"dtype": arr.dtype.str, "values": arr.tolist()}
    return out


def arrays_from_json(obj: dict[str, Any]) -> dict[str, np.ndarray]:
    return {p: np.asarray(v["values"], dtype=v["dtype"]) for p, v in obj.items()}


# -- files -------------------------------------------------------------------------------


def load(uri: str, scope: str = FULL) -> dict[str, Any] | None:
    """The stored catalog of (uri, scope), or None (missing, corrupt, unauthenticated or for
    another entry)."""
    if _entry(uri, scope) in _pending:
        flush()
    key = catalog_key()
    if key is None:
        return None
    path = catalog_file(uri, scope)
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    try:
        if not raw.startswith(MAGIC):
            raise ValueError("not a catalog file of this version")
        digest, _, body = raw[len(MAGIC) :].partition(b"\n")
        if not hmac.compare_digest(sign(key, body).encode(), digest):
            raise ValueError("its HMAC does not match (truncated, corrupt or edited)")
        payload = json.loads(zlib.decompress(body))
        if not isinstance(payload, dict) or payload.get("entry") != _entry_digest(key, uri, scope):
            raise ValueError("catalog of another source")
        return payload
    except (ValueError, zlib.error, UnicodeDecodeError) as exc:
        log.warning("stored catalog %s for %s is unusable (%s): rebuilding it", path, uri, exc)
        drop(uri, scope)
        return None


def save(uri: str, payload: dict[str, Any], scope: str = FULL) -> None:
    """Store atomically (temporary file + rename), authenticated; failures only log (a cache
    is optional). The source is kept without its secrets (public_uri)."""
    key = catalog_key()
    if key is None:
        return
    directory = catalog_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        content = {**payload, "source": public_uri(uri), "entry": _entry_digest(key, uri, scope)}
        body = zlib.compress(json.dumps(content, separators=(",", ":")).encode(), 1)
        data = MAGIC + sign(key, body).encode() + b"\n" + body
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json.z")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, catalog_file(uri, scope))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except (OSError, TypeError, ValueError) as exc:
        log.warning("could not store the catalog of %s: %s", public_uri(uri), exc)


def drop(uri: str, scope: str = FULL) -> None:
    with _pending_lock:
        _pending.pop(_entry(uri, scope), None)
    with contextlib.suppress(OSError):
        catalog_file(uri, scope).unlink()


# -- writing in the background -----------------------------------------------------------
# Encoding and writing a catalog costs a few ms of CPU; a multi-file call should not wait
# for it. One writer thread stores them in order; load() / exists() / exit see them all.

_pending: dict[str, Callable[[], dict[str, Any]]] = {}  # by _entry(uri, scope)
_pending_lock = threading.Condition()
_writer: threading.Thread | None = None


def save_later(uri: str, payload: Callable[[], dict[str, Any]], scope: str = FULL) -> None:
    """Store `payload()` for (uri, scope) soon, on the writer thread (a newer one replaces it)."""
    global _writer
    with _pending_lock:
        _pending[_entry(uri, scope)] = payload
        if _writer is None or not _writer.is_alive():
            _writer = threading.Thread(target=_write_pending, name="lazynwb-catalogs", daemon=True)
            _writer.start()
        _pending_lock.notify_all()


def _write_pending() -> None:
    while True:
        with _pending_lock:
            while not _pending:
                if not _pending_lock.wait(timeout=5.0):
                    if not _pending:
                        return  # idle: the next save_later starts a new writer
            entry = next(iter(_pending))
            build = _pending[entry]
        scope, uri = json.loads(entry)
        try:
            save(uri, build(), scope)
        except Exception as exc:  # noqa: BLE001 - a cache must never break the caller
            log.warning("could not store the catalog of %s: %s", public_uri(uri), exc)
        with _pending_lock:
            if _pending.get(entry) is build:
                del _pending[entry]
            _pending_lock.notify_all()


def flush(timeout: float = 60.0) -> None:
    """Wait until every pending catalog is stored."""
    deadline = time.monotonic() + timeout
    with _pending_lock:
        while _pending and time.monotonic() < deadline:
            if _writer is None or not _writer.is_alive():
                break
            _pending_lock.wait(timeout=0.1)
    for entry, build in list(_pending.items()):  # no writer (e.g. at exit): write here
        scope, uri = json.loads(entry)
        save(uri, build(), scope)
        with _pending_lock:
            if _pending.get(entry) is build:
                del _pending[entry]


def exists(uri: str, scope: str = FULL) -> bool:
    return _entry(uri, scope) in _pending or catalog_file(uri, scope).exists()


atexit.register(flush)


def clear() -> None:
    """Remove every stored catalog. Pending writes land first: one the writer thread had
    already taken would otherwise be written after the removal."""
    flush()
    with _pending_lock:
        _pending.clear()
    for path in catalog_dir().glob("*.json.z"):
        with contextlib.suppress(OSError):
            path.unlink()


def is_fresh(payload: dict[str, Any], uri: str) -> bool:
    """True while a remote catalog may be trusted without asking the server: an imported
    one never before it was checked once; a DANDI blob's (told by its URL, never by what the
    payload says) for ever; others for config.catalog_max_age seconds."""
    if payload.get("imported"):
        return False
    if is_immutable(uri):
        return True
    return time.time() - float(payload.get("validated_at", 0)) <= config.catalog_max_age
