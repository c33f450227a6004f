"""Which backend reads a source, and opening it: format detection and the one kind -> class map.

- `detect_format`: HDF5 or Zarr, told by content (the HDF5 signature; a Zarr store's root
  keys zarr.json, .zgroup, .zmetadata), never by the suffix. A URL that answers with an HTML
  page (a server's directory index of a store) is a Zarr store when those keys exist below
  it; when they do not, the error says what was probed.
- `open_and_walk`: the right backend for a source, with its tree walked. Our HDF5 engine reads
  local and remote files (remote: one concurrent round per level of pointers, not one
  request per pointer); it decides what is read before anything reaches libhdf5. h5py reads
  files the engine walked and found well formed but holding objects it does not read
  (logged, with the reason). A broken structure is an error naming the file, never handed
  on to libhdf5 (which may spin on it holding the GIL).
- `reopen`: a backend of a known kind (`Backend.kind`), e.g. for a catalog read from disk;
  the engine gets back the state it exported.
h5py and the Zarr backend are imported on first use: they cost import time that calls
answered from a stored catalog never pay. Our HDF5 engine (pure Python) is imported with
this module: nearly every call reads HDF5, and importing it inside the first call cost that
call ~45 ms of CPU where no bytecode cache is written (issue 16), ~5 ms where one is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from ..config import config
from ..errors import LazyNWBError, NotNWBError, SourceError, get_logger
from ..sources import Source
from ..transport import Reader
from .base import Backend, Node
from .hdf5.engine import EngineFallback, EngineHDF5Backend

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
log = get_logger(__name__)


def backend_class(kind: str) -> type[Backend]:
    """The one map from a backend kind to the class that reads it."""
    if kind == "engine":
        return EngineHDF5Backend
    if kind == "h5py":
        from .h5py_backend import HDF5Backend

        return HDF5Backend
    if kind == "zarr":
        from .zarr.backend import ZarrBackend

        return ZarrBackend
    raise ValueError(f"no backend of kind {kind!r}")


def reopen(
    source: Source,
    kind: str,
    state: dict[str, Any] | None = None,
    outside: dict[str, Node] | None = None,
) -> Backend:
    """A backend of a known kind for `source` (no walk); the engine and the Zarr backend
    resume from `state`; h5py is told which objects reach outside the file (`outside`:
    never opened)."""
    cls = backend_class(kind)
    if kind in ("engine", "zarr"):
        return cls(source, state=state)  # type: ignore[call-arg]
    return cls(source, outside=outside)  # type: ignore[call-arg]


def use_engine(source: Source) -> bool:
    """Whether our engine reads this HDF5 source: unless config.hdf5_engine is "h5py"."""
    return config.hdf5_engine != "h5py"


def open_and_walk(source: Source, engine: Backend | None = None) -> tuple[Backend, dict[str, Node]]:
    """The backend for `source` and its walked tree (every group and dataset). `engine`: our
    engine after a walk of part of this file (a scoped open that fell short), which walks on
    from what it holds instead of a new one fetching the same metadata again."""
    if not isinstance(engine, EngineHDF5Backend):
        kind, probed = _detect(source)
        if kind == "zarr":
            from .zarr.backend import ZarrBackend

            source.reader().peeked = None  # this open takes the probe
            return _walked(source, ZarrBackend(source, probed=probed))
        engine = None
    outside: dict[str, Node] = {}
    if use_engine(source):
        try:
            engine = engine or reopen(source, "engine")
            return engine, engine.walk()
        except EngineFallback as exc:
            log.warning("%s: read with h5py (%s)", source.label, exc)
            outside = exc.outside
    return _walked(source, reopen(source, "h5py", outside=outside))


def walk_in_scope(
    source: Source, in_scope: Callable[[str], bool], backend: Backend | None = None,
    small_if_free: bool = False,
) -> tuple[Backend, dict[str, Node]] | None:
    """Only the parts of the tree `in_scope` accepts (and their parents), where the backend
    can walk part of a tree (our HDF5 engine); None for other sources. With `backend` (an
    engine that walked other parts already), that one walks on: what it knows is kept.
    `small_if_free`: see EngineHDF5Backend.walk."""
    if backend is None:
        if detect_format(source) != "hdf5" or not use_engine(source):
            return None
        backend = EngineHDF5Backend(source)
    elif not isinstance(backend, EngineHDF5Backend):
        return None
    try:
        return backend, backend.walk(descend=in_scope, small_if_free=small_if_free)
    except EngineFallback:
        return None


def _walked(source: Source, backend: Backend) -> tuple[Backend, dict[str, Node]]:
    try:
        return backend, backend.walk()
    except LazyNWBError:
        backend.close()
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a broken file gets a name
        backend.close()
        raise NotNWBError(f"cannot read the file's structure: {exc}", source=source.label) from exc


def detect_format(source: Source) -> Literal["hdf5", "zarr"]:
    """'hdf5' or 'zarr', from the bytes (HDF5 signature; Zarr root keys), not the suffix."""
    return _detect(source)[0]


def _detect(source: Source) -> tuple[Literal["hdf5", "zarr"], dict[str, bytes] | None]:
    """The format, and for a remote Zarr store the root keys found (so the walk needs no
    second round for them)."""
    if not source.is_remote:
        path = Path(source.uri)
        if path.is_dir():
            if any((path / key).exists() for key in ZARR_ROOT_KEYS):
                return "zarr", None
            raise NotNWBError("a directory that is not a Zarr store (no zarr.json, .zgroup or "
                              ".zmetadata in it)", source=source.label)
        if not path.exists():
            raise SourceError("no such file", source=source.label)
        with open(path, "rb") as f:
            head = f.read(8)
        if head == HDF5_SIGNATURE:
            return "hdf5", None
        raise NotNWBError("not an HDF5 or Zarr NWB file", source=source.label)
    reader = source.reader()
    looks_zarr = source.uri.rstrip("/").lower().endswith(".zarr")
    if looks_zarr:
        probed = _zarr_probe(reader)
        if probed:
            return "zarr", probed
    try:
        head = reader.first_block()[:8]
    except SourceError as exc:
        try:  # maybe a Zarr store's URL; if the probe fails too, the first failure is the error
            probed = {} if looks_zarr else _zarr_probe(reader)
        except SourceError:
            raise exc from None
        if probed:
            return "zarr", probed
        if looks_zarr:
            raise SourceError(f"no Zarr store here: none of {', '.join(ZARR_ROOT_KEYS)} "
                              "found below the URL", source=source.label) from None
        text = str(exc).lower()
        if "not supported" in text or "ignores range" in text:  # a 200 page for a range: an index?
            raise NotNWBError("not an HDF5 or Zarr NWB file: the URL answers without byte ranges "
                              "(an HTML page, such as a directory index?), and none of "
                              f"{', '.join(ZARR_ROOT_KEYS)} exists below it", source=source.label) from None
        raise
    if head == HDF5_SIGNATURE:
        return "hdf5", None
    probed = {} if looks_zarr else _zarr_probe(reader)
    if probed:
        return "zarr", probed
    what = "an HTML page (a directory index?)" if head.lstrip().lower().startswith((b"<!doc", b"<htm")) \
        else "not an HDF5 file"
    raise NotNWBError(f"not an HDF5 or Zarr NWB file: the URL answers with {what}, and none of "
                      f"{', '.join(ZARR_ROOT_KEYS)} exists below it", source=source.label)


ZARR_ROOT_KEYS = ("zarr.json", ".zgroup", ".zmetadata")


def _zarr_probe(reader: Reader) -> dict[str, bytes]:
    """The store's root keys, probed once per open: a probe made to tell the format (e.g. by
    walk_in_scope) is kept on the reader for the open that follows, and taken by it."""
    from .zarr.store import probe

    found, reader.peeked = reader.peeked, None
    if found is None:
        found = reader.peeked = probe(reader)
    anchor = next((k for k in ZARR_ROOT_KEYS if k in found), None)
    if anchor is None:
        return {}
    reader.set_anchor(anchor, found[anchor])  # the store's identity, for stored catalogs
    return found
