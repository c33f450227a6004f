"""Open catalogs, one per source: `open_catalog` and the in-memory cache around it.

`open_catalog(source)` answers from memory when the source is known and unchanged, else from
the catalog stored on disk (no request; catalog/persist.py), else by opening the file with the
right backend and walking its tree once (backends/open.py), then storing it. What reads learn
later (index arrays, chunk maps) is stored when a catalog leaves the cache and at exit.
Local files are re-walked when they change (catalog/identity.py: size, mtime, ctime and a
fingerprint of their bytes; a Zarr store's metadata files), remote ones when the server
says so (ETag, or Last-Modified and a fingerprint); `config.disable_cache` turns both off.

Open catalogs are bounded: `_MAX_OPEN` of those holding an OS file (h5py, local Zarr), and
`_MAX_OPEN_REMOTE` remote engine catalogs with `_MAX_OPEN_NODES` nodes in all (their cached
metadata blocks share one budget in backends/hdf5/driver.py).
"""

from __future__ import annotations

import atexit
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from ..backends.base import Backend, Node
from ..backends.open import open_and_walk, walk_in_scope
from ..config import config
from ..errors import NotNWBError, SourceError, UnsupportedFileError, get_logger, with_path
from ..sources import Source
from ..transport.readers import first_read_alone, forget_reader, on_source_changed
from . import persist, store
from .catalog import Catalog, normalize_path
from .identity import local_identity

_MAX_OPEN = 128  # catalogs holding an open file (h5py, local Zarr) or h5py's caches
# Remote files read by our engine: a call over hundreds of sessions (a schema pass, then a
# read pass) keeps each one open between its passes instead of reading it twice.
_MAX_OPEN_REMOTE = 1024
_MAX_OPEN_NODES = 250_000  # ... and their trees together (about 1 KB of memory a node)
log = get_logger(__name__)

_cache: OrderedDict[str, tuple[tuple, Catalog]] = OrderedDict()
_partial: OrderedDict[str, tuple[tuple, Catalog]] = OrderedDict()  # metadata-only walks
_scoped: OrderedDict[str, tuple[tuple, Catalog]] = OrderedDict()  # walks of named paths
_cache_lock = threading.Lock()
_open_locks: dict[str, threading.Lock] = {}
_hooks_registered = False


def _register_hooks() -> None:
    """On the first open: forget a source that changed on the server, and store what open
    catalogs learned at exit (not at import: importing the package changes nothing)."""
    global _hooks_registered
    with _cache_lock:
        if _hooks_registered:
            return
        _hooks_registered = True
    on_source_changed(forget)
    atexit.register(store_catalogs)


def _identity(source: Source) -> tuple:
    """A local source's identity (catalog/identity.py); remote ones are checked by the reader."""
    return () if source.is_remote else local_identity(source.uri)


def _checked(source: Source, backend: Backend, nodes: dict[str, Node]) -> Catalog:
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
    return Catalog(source, backend, nodes, kind=backend.kind)


def _build(source: Source, engine: Backend | None = None) -> Catalog:
    return _checked(source, *open_and_walk(source, engine))


def open_metadata_catalog(source: Source, in_scope: Callable[[str], bool]) -> Catalog:
    """A catalog that at least holds the paths `in_scope` accepts (and their parents): the
    full one when it is known (memory or disk), else a walk of just those parts (a fraction
    of a file's objects), kept (in memory and on disk) for later metadata calls only. The
    one caller, session metadata, always passes the same scope."""
    _register_hooks()
    key = source.uri
    if config.disable_cache:
        return _metadata_walk(source, in_scope) or _build(source)
    with _cache_lock:
        hit = _cache.get(key) or _partial.get(key)
    identity = _identity(source)
    if hit is not None and hit[0] == identity:
        return hit[1]
    if store.exists(key):
        return open_catalog(source)
    catalog = persist.from_store(source, identity, store.METADATA)
    if catalog is None:
        catalog = _metadata_walk(source, in_scope)
        if catalog is None:
            return open_catalog(source)
        persist.save(catalog, identity, store.METADATA)
    with _cache_lock:
        _partial[key] = (identity, catalog)
        while len(_partial) > _MAX_OPEN:
            _partial.popitem(last=False)[1][1].close()
    return catalog


def _metadata_walk(source: Source, in_scope: Callable[[str], bool]) -> Catalog | None:
    """The metadata parts of a file whose backend can walk part of a tree (None: not this one)."""
    with first_read_alone():  # writers keep the session's fields at a file's start
        walked = walk_in_scope(source, in_scope)
    return None if walked is None else _checked(source, *walked)


def open_catalog(source: Source, engine: Backend | None = None) -> Catalog:
    """The catalog for a source: from memory when it is known and unchanged, else from the
    catalog stored on disk (no request), else built by walking the file (and stored).
    `engine`: one that walked part of the file already (a scoped open that fell short); a
    walk continues from what it holds, else it is closed."""
    _register_hooks()
    if config.disable_cache:
        return _build(source, engine)
    key = source.uri
    with _cache_lock:
        lock = _open_locks.setdefault(key, threading.Lock())
    with lock:
        identity = _identity(source)
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None and hit[0] == identity:
                _cache.move_to_end(key)
                _close(engine)
                return hit[1]
        catalog = persist.from_store(source, identity)
        if catalog is None:
            catalog = _build(source, engine)
            persist.save(catalog, identity)
        else:
            _close(engine)
        with _cache_lock:
            old = _cache.pop(key, None)
            _cache[key] = (identity, catalog)
            evicted = _over_limits()
        for gone in evicted:
            persist.save_if_grown(gone)
            gone.close()
        if old is not None:
            old[1].close()
        return catalog


LinkRule = Callable[[Catalog, str], bool]  # (catalog, a link's path) -> the call follows it


def open_scoped_catalog(
    source: Source, paths: Sequence[str], accept: Callable[[Catalog], bool],
    follows: LinkRule | None = None,
) -> Catalog:
    """A catalog holding at least one of `paths` with everything below it (a call about one
    table): the full catalog when it is known (memory or disk), else a walk of the root,
    those paths' parents and the paths themselves, never the rest of the file. Such walks add
    up per source (a second table walks only its own part), are kept in memory and stored
    (scope "paths", with what was walked). When the walk does not give what `accept` asks
    for (the name is a shortcut or part of a path; not our HDF5 engine's file; a link out
    of the walked part that the call `follows`: by default every link), the full catalog
    answers. A link the call does not follow (a TwoPhotonSeries' imaging_plane, for a
    frame) is kept as an unresolved link node."""
    _register_hooks()
    paths = [normalize_path(p) for p in paths]
    key = source.uri
    with _cache_lock:
        lock = _open_locks.setdefault(key, threading.Lock())
    try:
        with lock:
            catalog, spare = _scoped_open(source, paths, accept, follows)
    except SourceError as exc:
        raise with_path(exc, paths[0]) from exc
    return catalog if catalog is not None else open_catalog_for(source, paths[0], spare)


Scoped = tuple[Catalog | None, Backend | None]  # the catalog, else (None) a spare engine or None


def _scoped_open(
    source: Source, paths: list[str], accept: Callable[[Catalog], bool], follows: LinkRule | None
) -> Scoped:
    """open_scoped_catalog's work, with the source's lock held. (None, engine): use the full
    catalog, built by `engine` (which walked part of the file) when there is one."""
    if config.disable_cache:
        return _scoped_walk(source, paths, accept, None, follows)
    key = source.uri
    identity = _identity(source)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == identity:
            return None, None  # the full catalog, from memory
        hit = _scoped.get(key)
    previous = hit[1] if hit is not None and hit[0] == identity else None
    if previous is None:
        if store.exists(key):
            return None, None  # the full catalog, from disk
        previous = persist.from_store(source, identity, store.PATHS)
    if (previous is not None and any(previous.covers(p) for p in paths) and accept(previous)
            and not _leaves_scope(previous, paths, follows)):
        catalog = previous
    else:
        walked, spare = _scoped_walk(source, paths, accept, previous, follows)
        if walked is None:
            return None, spare
        catalog = walked
        persist.save(catalog, identity, store.PATHS)
    with _cache_lock:
        _scoped[key] = (identity, catalog)
        _scoped.move_to_end(key)
        evicted = _over_scoped_limits()
    for gone in evicted:
        persist.save_if_grown(gone)
        gone.close()
    return catalog, None


def _over_scoped_limits() -> list[Catalog]:
    """The least recently used partial catalogs past the limits the full ones have (called
    with _cache_lock held): _MAX_OPEN of those holding a file, _MAX_OPEN_REMOTE in all."""
    with_file = [k for k, (_, c) in _scoped.items() if not _holds_no_file(c)]
    evicted = [_scoped.pop(k)[1] for k in with_file[: max(0, len(with_file) - _MAX_OPEN)]]
    while len(_scoped) > _MAX_OPEN_REMOTE:
        evicted.append(_scoped.popitem(last=False)[1][1])
    return evicted


def _scoped_walk(
    source: Source, paths: list[str], accept: Callable[[Catalog], bool], previous: Catalog | None,
    follows: LinkRule | None,
) -> Scoped:
    """`previous` (or a new catalog) with `paths` walked too; (None, spare) when that is not
    enough, `spare` the new engine that walked them (None when `previous` had one)."""

    def in_scope(path: str) -> bool:
        return any(path == p or p.startswith(path + "/") or path.startswith(p + "/") for p in paths)

    walked = walk_in_scope(source, in_scope, previous.backend if previous is not None else None,
                           small_if_free=True)
    if walked is None:
        return None, None
    backend, nodes = walked
    if previous is not None:
        nodes = {**previous.nodes, **nodes}
    catalog = _checked(source, backend, nodes)
    catalog.scopes = frozenset(previous.scopes or ()) | frozenset(paths) if previous else frozenset(paths)
    if previous is not None:
        catalog.small_arrays.update(previous.small_arrays)
    if not accept(catalog) or _leaves_scope(catalog, paths, follows):
        return None, (backend if previous is None else None)
    return catalog, None


def _leaves_scope(catalog: Catalog, paths: list[str], follows: LinkRule | None) -> bool:
    """A link at or below the walked paths whose target was not walked (it may be
    anywhere) and that the call follows."""
    return any(
        node.is_link and node.dataset is None and not node.children and node.outside is None
        and (follows is None or follows(catalog, path))
        for path, node in catalog.nodes.items()
        if any(path == p or path.startswith(p + "/") for p in paths)
    )


def widen_catalog(catalog: Catalog, paths: Sequence[str], follows: LinkRule | None = None) -> Catalog:
    """`catalog` with `paths` walked too, when a call first needs them (a series' stored
    timestamps): `catalog` itself when it covers them; else its engine walks on from the
    blocks it holds (a request only for headers it never fetched), or the full catalog."""
    paths = [normalize_path(p) for p in paths]
    if all(catalog.covers(p) for p in paths):
        return catalog
    if config.disable_cache:  # nothing is kept between calls: walk on from this one
        walked, _ = _scoped_walk(catalog.source, paths, lambda _: True, catalog, follows)
        return walked if walked is not None else open_catalog_for(catalog.source, paths[0])
    return open_scoped_catalog(catalog.source, paths, lambda _: True, follows)


def open_catalog_for(source: Source, path: str, engine: Backend | None = None) -> Catalog:
    """open_catalog for a call about one internal path: a file that cannot be read (not NWB,
    NWB 1.x, unreachable) is reported naming the path asked for as well as the file."""
    try:
        return open_catalog(source, engine)
    except SourceError as exc:
        raise with_path(exc, normalize_path(path)) from exc


def _close(backend: Backend | None) -> None:
    if backend is not None:
        backend.close()


def _holds_no_file(catalog: Catalog) -> bool:
    """A remote file read by our engine: no OS handle, and its cached blocks share one
    memory budget (backends/hdf5/driver.py), so many of them may stay open."""
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


def store_catalogs() -> None:
    """Store what open catalogs learned since they were stored (at exit, and on demand)."""
    if config.disable_cache:
        return
    with _cache_lock:
        catalogs = [c for _, c in _cache.values()] + [c for _, c in _scoped.values()]
    for catalog in catalogs:
        try:
            persist.save_if_grown(catalog)
        except Exception as exc:  # noqa: BLE001 - a cache must never break the caller
            log.warning("could not store the catalog of %s: %s", catalog.label, exc)


def forget(uri: str) -> None:
    """Drop a source's stored and in-memory catalogs (it changed on the server, or the user
    asked to forget it). Pending writes land first: one the writer thread had already taken
    would otherwise be written after the drop."""
    store.flush()
    store.drop(uri)
    store.drop(uri, store.METADATA)
    store.drop(uri, store.PATHS)
    forget_reader(uri)  # and what its reader kept: validators, the first block
    with _cache_lock:
        hits = [_cache.pop(uri, None), _partial.pop(uri, None), _scoped.pop(uri, None)]
    for hit in hits:
        if hit is not None:
            hit[1].close()


def clear_cache() -> None:
    """Close every open file and forget every catalog held in memory (stored catalogs stay;
    `catalog.store.clear()` removes those)."""
    store_catalogs()
    with _cache_lock:
        items = list(_cache.values()) + list(_partial.values()) + list(_scoped.values())
        _cache.clear()
        _partial.clear()
        _scoped.clear()
    for _, catalog in items:
        catalog.close()
