"""A file's tree as plain data (groups, datasets, attributes, shapes, dtypes, layouts).

`open_catalog(source)` opens the right backend (by content, not suffix), walks the tree once
and keeps it in memory per source, so later calls about the same file cost no requests.
The catalog is also stored on disk (catalog_store), so a later process opens the file with
no request at all; what reads learn later (index arrays, chunk maps) is stored at exit.
Local files are re-walked when their size or mtime changes, remote ones when their ETag
does; `config.disable_cache` turns both caches off.

`internal_paths(...)` implements lazynwb's get_internal_paths filtering rules.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from . import catalog_store
from .backends.base import Backend, Node
from .config import config
from .errors import (
    InternalPathError,
    LazyNWBError,
    NotNWBError,
    SourceError,
    UnsupportedFileError,
    get_logger,
    with_path,
)
from .sources import Source, detect_format, is_immutable
from .transport.readers import on_source_changed

_MAX_OPEN = 128  # catalogs holding an open file (h5py, local Zarr) or h5py's caches
# Remote files read by our engine: a call over hundreds of sessions (a schema pass, then a
# read pass) keeps each one open between its passes instead of reading it twice.
_MAX_OPEN_REMOTE = 1024
_MAX_OPEN_NODES = 250_000  # ... and their trees together (about 1 KB of memory a node)
log = get_logger(__name__)


class Catalog:
    """A file's walked tree, and the backend that reads its data (opened on first use when
    the tree came from a stored catalog)."""

    def __init__(
        self,
        source: Source,
        backend: Backend | None,
        nodes: dict[str, Node],
        opener: Callable[[], Backend] | None = None,
        kind: str = "",
    ):
        self.source = source
        self._backend = backend
        self._opener = opener
        self._backend_lock = threading.Lock()
        self.nodes = nodes
        self.kind = kind  # "engine" | "h5py" | "zarr": who reads the data
        self.small_arrays: dict[str, Any] = {}  # e.g. VectorIndex arrays, read once per file
        self.identity: dict[str, Any] = {}
        self._saved_signature: tuple = ()

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            with self._backend_lock:
                if self._backend is None:
                    assert self._opener is not None
                    self._backend = self._opener()
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()

    @property
    def label(self) -> str:
        return self.source.label

    def get(self, path: str) -> Node | None:
        return self.nodes.get(normalize_path(path))

    def resolved(self, path: str) -> Node | None:
        """The node at `path`, a Zarr link (hdmf-zarr's zarr_link: a node naming its
        target) followed to what it points to, as h5py follows an HDF5 soft link."""
        node = self.get(path)
        for _ in range(8):  # links to links, never in a cycle
            target = node.attrs.get("target") if node is not None and node.is_link else None
            if not isinstance(target, str) or node.dataset is not None or node.children:
                return node
            node = self.get(target)
        return node

    def require(self, path: str) -> Node:
        node = self.get(path)
        if node is None:
            raise InternalPathError("no such path in the file", source=self.label, path=normalize_path(path))
        return node

    def children(self, path: str) -> list[Node]:
        node = self.require(path)
        base = node.path.rstrip("/")
        return [self.nodes[f"{base}/{name}"] for name in node.children if f"{base}/{name}" in self.nodes]

    def is_table(self, path: str) -> bool:
        node = self.get(path)
        return bool(node and node.is_group and "colnames" in node.attrs)

    def is_timeseries(self, path: str) -> bool:
        """A group holding a time series, by lazynwb's rules: timestamps (events-like
        series such as NWB 2.8's Events have nothing else), data with timestamps or
        starting_time, a starting_time with a rate (a series whose data is missing), or data
        in a group whose neurodata_type names a series. DynamicTables are tables."""
        node = self.get(path)
        if node is None or not node.is_group or "colnames" in node.attrs:
            return False
        if node.path.startswith("/specifications"):
            return False
        base = node.path.rstrip("/")
        datasets = {
            name: child for name in node.children
            if (child := self.resolved(f"{base}/{name}")) is not None and child.dataset is not None
        }
        if "timestamps" in datasets:
            return True
        start = datasets.get("starting_time")
        if start is not None and ("data" in datasets or "rate" in start.attrs):
            return True
        kind = (node.neurodata_type or "").lower()
        series_type = "timeseries" in kind or kind.endswith("series") or kind == "events"
        return series_type and "data" in datasets


def normalize_path(path: str) -> str:
    """'/units', 'units', '/units/' -> '/units'."""
    return "/" + str(path).strip().strip("/") if str(path).strip("/") else "/"


_cache: OrderedDict[str, tuple[tuple, Catalog]] = OrderedDict()
_partial: OrderedDict[str, tuple[tuple, Catalog]] = OrderedDict()  # metadata-only walks
_cache_lock = threading.Lock()
_open_locks: dict[str, threading.Lock] = {}


def _identity(source: Source) -> tuple:
    if source.is_remote:
        return ()
    try:
        st = os.stat(source.uri)
        return (st.st_size, st.st_mtime_ns)
    except OSError:
        return ()


def _build(source: Source) -> Catalog:
    fmt = detect_format(source)
    if fmt == "hdf5":
        backend, nodes = _open_hdf5(source)
        kind = "engine" if type(backend).__name__ == "EngineHDF5Backend" else "h5py"
        return _checked(source, backend, nodes, kind)
    from .backends.zarr import ZarrBackend

    backend: Backend = ZarrBackend(source)
    return _checked(source, backend, _walk(source, backend), "zarr")


def _use_engine(source: Source) -> bool:
    engine = config.hdf5_engine
    return engine == "native" or (engine == "auto" and source.is_remote)


def _open_hdf5(source: Source) -> tuple[Backend, dict[str, Node]]:
    """Our own engine for remote files (one round per level, not per pointer); h5py for
    local files and for anything the engine does not read."""
    from .backends.hdf5 import HDF5Backend

    if _use_engine(source):
        from .backends.h5engine import EngineFallback, EngineHDF5Backend

        try:
            engine = EngineHDF5Backend(source)
            return engine, engine.walk()
        except EngineFallback as exc:
            log.warning("%s: read with h5py (%s)", source.label, exc)
    backend = HDF5Backend(source)
    return backend, _walk(source, backend)


def _walk(source: Source, backend: Backend) -> dict[str, Node]:
    try:
        return backend.walk()
    except LazyNWBError:
        backend.close()
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a broken file gets a name
        backend.close()
        raise NotNWBError(f"cannot read the file's structure: {exc}", source=source.label) from exc


def _checked(source: Source, backend: Backend, nodes: dict[str, Node], kind: str) -> Catalog:
    root = nodes.get("/")
    if root is not None and "nwb_version" not in root.attrs and "nwb_version" in root.children:
        backend.close()  # NWB 1.x keeps its version in a dataset; its layout is another schema
        raise UnsupportedFileError(
            "NWB 1.x is not supported (a /nwb_version dataset and no nwb_version attribute on "
            "the root group); convert it to NWB 2 first", source=source.label,
        )
    if root is None or ("nwb_version" not in root.attrs and root.attrs.get("neurodata_type") != "NWBFile"):
        backend.close()
        raise NotNWBError("not an NWB file (no nwb_version on the root group)", source=source.label)
    return Catalog(source, backend, nodes, kind=kind)


_METADATA_SCOPE = "#metadata"  # the key suffix of a stored metadata-only catalog


def open_metadata_catalog(source: Source, in_scope: Callable[[str], bool]) -> Catalog:
    """A catalog that at least holds the paths `in_scope` accepts (and their parents): the
    full one when it is known (memory or disk), else a walk of just those parts (a fraction
    of a file's objects), kept (in memory and on disk) for later metadata calls only. The
    one caller, session metadata, always passes the same scope."""
    key = source.uri
    if config.disable_cache:
        return _metadata_walk(source, in_scope) or _build(source)
    with _cache_lock:
        hit = _cache.get(key) or _partial.get(key)
    identity = _identity(source)
    if hit is not None and hit[0] == identity:
        return hit[1]
    if catalog_store.exists(key):
        return open_catalog(source)
    partial_key = key + _METADATA_SCOPE
    catalog = _from_store(source, identity, partial_key)
    if catalog is None:
        catalog = _metadata_walk(source, in_scope)
        if catalog is None:
            return open_catalog(source)
        _store(catalog, identity, partial_key)
    with _cache_lock:
        _partial[key] = (identity, catalog)
        while len(_partial) > _MAX_OPEN:
            _partial.popitem(last=False)[1][1].close()
    return catalog


def _metadata_walk(source: Source, in_scope: Callable[[str], bool]) -> Catalog | None:
    """The metadata parts of an HDF5 file read by our engine (None: not for this file)."""
    if detect_format(source) != "hdf5" or not _use_engine(source):
        return None
    from .backends.h5engine import EngineFallback, EngineHDF5Backend

    try:
        engine = EngineHDF5Backend(source)
        return _checked(source, engine, engine.walk(descend=in_scope), "engine")
    except EngineFallback:
        return None


def open_catalog(source: Source) -> Catalog:
    """The catalog for a source: from memory when it is known and unchanged, else from the
    catalog stored on disk (no request), else built by walking the file (and stored)."""
    if config.disable_cache:
        return _build(source)
    key = source.uri
    with _cache_lock:
        lock = _open_locks.setdefault(key, threading.Lock())
    with lock:
        identity = _identity(source)
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None and hit[0] == identity:
                _cache.move_to_end(key)
                return hit[1]
        catalog = _from_store(source, identity)
        if catalog is None:
            catalog = _build(source)
            _store(catalog, identity)
        with _cache_lock:
            old = _cache.pop(key, None)
            _cache[key] = (identity, catalog)
            evicted = _over_limits()
        for gone in evicted:
            _store_if_grown(gone)
            gone.close()
        if old is not None:
            old[1].close()
        return catalog


def open_catalog_for(source: Source, path: str) -> Catalog:
    """open_catalog for a call about one internal path: a file that cannot be read (not NWB,
    NWB 1.x, unreachable) is reported naming the path asked for as well as the file."""
    try:
        return open_catalog(source)
    except SourceError as exc:
        raise with_path(exc, normalize_path(path)) from exc


def _holds_no_file(catalog: Catalog) -> bool:
    """A remote file read by our engine: no OS handle, and its cached blocks share one
    memory budget (h5.source), so many of them may stay open."""
    return catalog.kind == "engine" and catalog.source.is_remote


def _over_limits() -> list[Catalog]:
    """The least recently used catalogs past the limits, taken out of the cache (called
    with _cache_lock held): _MAX_OPEN of those holding a file, _MAX_OPEN_REMOTE and
    _MAX_OPEN_NODES in all (the newest catalog always stays)."""
    with_file = [k for k, (_, c) in _cache.items() if not _holds_no_file(c)]
    evicted = [_cache.pop(k)[1] for k in with_file[: max(0, len(with_file) - _MAX_OPEN)]]
    nodes = sum(len(c.nodes) for _, c in _cache.values())
    while len(_cache) > 1 and (len(_cache) > _MAX_OPEN_REMOTE or nodes > _MAX_OPEN_NODES):
        gone = _cache.popitem(last=False)[1][1]
        nodes -= len(gone.nodes)
        evicted.append(gone)
    return evicted


def _opener(source: Source, kind: str, state: dict[str, Any] | None) -> Callable[[], Backend]:
    def open_backend() -> Backend:
        if kind == "engine":
            from .backends.h5engine import EngineHDF5Backend

            return EngineHDF5Backend(source, state=state)
        if kind == "zarr":
            from .backends.zarr import ZarrBackend

            return ZarrBackend(source)
        from .backends.hdf5 import HDF5Backend

        return HDF5Backend(source)

    return open_backend


def _from_store(source: Source, identity: tuple, key: str | None = None) -> Catalog | None:
    """The stored catalog, if there is one and the source has not changed since."""
    key = key or source.uri
    payload = catalog_store.load(key)
    if payload is None:
        return None
    try:
        if not source.is_remote:
            if tuple(payload["identity"]) != identity:
                catalog_store.drop(key)
                return None
        elif not catalog_store.is_fresh(payload) and not _revalidate(source, payload, key):
            catalog_store.drop(key)
            return None
        if source.is_remote:
            source.reader().expect(payload["identity"])
        kind = payload["kind"]
        catalog = Catalog(
            source, None, catalog_store.nodes_from_json(payload["nodes"]),
            opener=_opener(source, kind, payload.get("state")), kind=kind,
        )
        catalog.small_arrays.update(catalog_store.arrays_from_json(payload.get("arrays", {})))
    except (KeyError, TypeError, ValueError) as exc:  # a stored catalog of another version
        log.warning("stored catalog of %s is unusable (%s): rebuilding it", source.label, exc)
        catalog_store.drop(key)
        return None
    catalog.identity = payload["identity"]
    catalog._saved_signature = _signature(catalog)
    return catalog


def _revalidate(source: Source, payload: dict[str, Any], key: str) -> bool:
    """One small request: is the remote object still the one the catalog describes?"""
    reader = source.reader()
    if not reader.identity():
        reader.read(0, 1)
    fresh = reader.identity()
    if fresh != payload["identity"]:
        return False
    payload["validated_at"] = time.time()
    catalog_store.save(key, payload)
    return True


def _signature(catalog: Catalog) -> tuple:
    """Changes when the catalog learned something worth storing (index arrays, chunk maps)."""
    backend = catalog._backend
    indexes = getattr(backend, "indexes", None)
    inline = getattr(backend, "inline", None)
    return (len(catalog.small_arrays), len(indexes or ()), len(inline or ()))


def _store(catalog: Catalog, identity: tuple, key: str | None = None) -> None:
    source = catalog.source
    if source.is_remote:
        catalog.identity = source.reader().identity()
        if not catalog.identity:
            return  # nothing to recognise the object by later
    else:
        catalog.identity = list(identity)
        if not identity:
            return
    export = getattr(catalog._backend, "export_state", None)
    state = export() if (catalog.kind == "engine" and export) else None  # a snapshot
    identity_now, kind, nodes = catalog.identity, catalog.kind, dict(catalog.nodes)
    arrays = dict(catalog.small_arrays)
    validated_at = time.time()

    def payload() -> dict[str, Any]:  # encoded on the writer thread
        return {
            "identity": identity_now,
            "kind": kind,
            "nodes": catalog_store.nodes_to_json(nodes),
            "state": state,
            "arrays": catalog_store.arrays_to_json(arrays),
            "validated_at": validated_at,
            "immutable": is_immutable(source.uri),
        }

    catalog_store.save_later(key or source.uri, payload)
    catalog._saved_signature = _signature(catalog)


def _store_if_grown(catalog: Catalog) -> None:
    if catalog.identity and _signature(catalog) != catalog._saved_signature:
        _store(catalog, tuple(catalog.identity) if not catalog.source.is_remote else ())


def store_catalogs() -> None:
    """Store what open catalogs learned since they were stored (at exit, and on demand)."""
    if config.disable_cache:
        return
    with _cache_lock:
        catalogs = [c for _, c in _cache.values()]
    for catalog in catalogs:
        try:
            _store_if_grown(catalog)
        except Exception as exc:  # noqa: BLE001 - a cache must never break the caller
            log.warning("could not store the catalog of %s: %s", catalog.label, exc)


def _forget(uri: str) -> None:
    """A source changed on the server: its stored and in-memory catalogs are stale."""
    catalog_store.drop(uri)
    catalog_store.drop(uri + _METADATA_SCOPE)
    with _cache_lock:
        hits = [_cache.pop(uri, None), _partial.pop(uri, None)]
    for hit in hits:
        if hit is not None:
            hit[1].close()


on_source_changed(_forget)
atexit.register(store_catalogs)


def clear_cache() -> None:
    """Close every open file and forget every catalog held in memory (stored catalogs stay;
    `catalog_store.clear()` removes those)."""
    store_catalogs()
    with _cache_lock:
        items = list(_cache.values()) + list(_partial.values())
        _cache.clear()
        _partial.clear()
    for _, catalog in items:
        catalog.close()


# -- lazynwb's get_internal_paths rules -------------------------------------------------

_CONTAINER_TYPES = {"NWBFile", "ProcessingModule"}


def internal_paths(
    catalog: Catalog,
    include_child_datasets: bool = False,
    include_table_columns: bool = False,
    include_metadata: bool = False,
    include_specifications: bool = False,
    parents: bool = False,
) -> list[str]:
    """User-level paths: tables, time series and other typed objects, filtered as lazynwb."""
    out: list[str] = []

    def visit(path: str) -> None:
        node = catalog.nodes.get(path)
        if node is None:
            return
        if path.startswith("/specifications"):
            if not include_specifications:
                return
            out.append(path)
        shape = node.dataset.shape if node.dataset else None
        is_scalar = shape is not None and (shape == () or shape == (1,))
        is_rate_start = path.endswith("/starting_time") and "rate" in node.attrs
        if is_scalar and not (include_child_datasets and is_rate_start):
            return
        if not path.startswith("/specifications"):
            is_metadata = is_scalar or path.startswith("/general")
            if is_rate_start and include_child_datasets:
                out.append(path)
            elif is_metadata:
                if not include_metadata:
                    return
                out.append(path)
            elif catalog.is_timeseries(path):
                out.append(path)
            elif node.neurodata_type and node.neurodata_type not in _CONTAINER_TYPES:
                out.append(path)
            elif node.is_dataset and shape and include_child_datasets:
                out.append(path)
        if node.is_link or node.is_dataset:
            return
        if catalog.is_table(path) and not include_table_columns:
            return
        for name in node.children:
            visit(f"{path.rstrip('/')}/{name}")

    visit("/")
    out = [p for p in dict.fromkeys(out) if p != "/"]
    if parents:  # typed ancestors too (processing modules, interfaces), as lazynwb lists them
        for path in list(out):
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts)):
                ancestor = "/" + "/".join(parts[:depth])
                node = catalog.nodes.get(ancestor)
                if node is not None and node.neurodata_type and node.neurodata_type != "NWBFile":
                    out.append(ancestor)
        return sorted(set(out))
    prefixes = {p.rsplit("/", 1)[0] for p in out}
    return sorted(
        p for p in out
        if p not in prefixes or catalog.is_table(p) or catalog.is_timeseries(p)
    )


def path_info(catalog: Catalog, path: str) -> dict[str, Any]:
    """What lazynwb's get_internal_path_info reports for a path, with real attribute values."""
    node = catalog.require(path)
    meta = node.dataset
    return {
        "is_group": node.is_group,
        "is_dataset": node.is_dataset,
        "shape": meta.shape if meta else None,
        "dtype": str(meta.dtype) if meta and not (meta.is_string or meta.is_reference) else (
            ("str" if meta.is_string else "reference") if meta else None
        ),
        "neurodata_type": node.neurodata_type,
        "is_timeseries": catalog.is_timeseries(node.path),
        "is_table": catalog.is_table(node.path),
        "chunks": meta.chunks if meta else None,
        "compression": meta.compression if meta else None,
        "attrs": dict(node.attrs),
    }
