"""Which backend reads a source, and opening it: format detection and the one kind -> class map.

- `detect_format`: HDF5 or Zarr, told by content (the HDF5 signature; Zarr group keys), never
  by the suffix.
- `open_and_walk`: the right backend for a source, with its tree walked. Our HDF5 engine reads
  remote files (one concurrent round per level of pointers, not one request per pointer);
  h5py reads local files and any valid HDF5 the engine does not read (logged, with the
  reason). A broken structure is an error naming the file, never handed on to libhdf5.
- `reopen`: a backend of a known kind (`Backend.kind`), e.g. for a catalog read from disk;
  the engine gets back the state it exported.
Backends are imported on first use: h5py and zarr cost import time that metadata-only calls
answered from a stored catalog never pay.
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

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
log = get_logger(__name__)


def backend_class(kind: str) -> type[Backend]:
    """The one map from a backend kind to the class that reads it."""
    if kind == "engine":
        from .hdf5.engine import EngineHDF5Backend

        return EngineHDF5Backend
    if kind == "h5py":
        from .h5py_backend import HDF5Backend

        return HDF5Backend
    if kind == "zarr":
        from .zarr.backend import ZarrBackend

        return ZarrBackend
    raise ValueError(f"no backend of kind {kind!r}")


def reopen(source: Source, kind: str, state: dict[str, Any] | None = None) -> Backend:
    """A backend of a known kind for `source` (no walk); the engine resumes from `state`."""
    cls = backend_class(kind)
    return cls(source, state=state) if kind == "engine" else cls(source)  # type: ignore[call-arg]


def use_engine(source: Source) -> bool:
    """Whether our engine reads this HDF5 source (config.hdf5_engine: auto, native, h5py)."""
    engine = config.hdf5_engine
    return engine == "native" or (engine == "auto" and source.is_remote)


def open_and_walk(source: Source) -> tuple[Backend, dict[str, Node]]:
    """The backend for `source` and its walked tree (every group and dataset)."""
    if detect_format(source) == "zarr":
        return _walked(source, reopen(source, "zarr"))
    if use_engine(source):
        from .hdf5.engine import EngineFallback

        try:
            engine = reopen(source, "engine")
            return engine, engine.walk()
        except EngineFallback as exc:
            log.warning("%s: read with h5py (%s)", source.label, exc)
    return _walked(source, reopen(source, "h5py"))


def walk_in_scope(
    source: Source, in_scope: Callable[[str], bool]
) -> tuple[Backend, dict[str, Node]] | None:
    """Only the parts of the tree `in_scope` accepts (and their parents), where the backend
    can walk part of a tree (our HDF5 engine); None for other sources."""
    if detect_format(source) != "hdf5" or not use_engine(source):
        return None
    from .hdf5.engine import EngineFallback, EngineHDF5Backend

    try:
        engine = EngineHDF5Backend(source)
        return engine, engine.walk(descend=in_scope)
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
    """'hdf5' or 'zarr', from the bytes (HDF5 signature; Zarr group keys), not the suffix."""
    if not source.is_remote:
        path = Path(source.uri)
        if path.is_dir():
            if (path / ".zgroup").exists() or (path / ".zmetadata").exists():
                return "zarr"
            raise NotNWBError("a directory that is not a Zarr store", source=source.label)
        if not path.exists():
            raise SourceError("no such file", source=source.label)
        with open(path, "rb") as f:
            head = f.read(8)
        if head == HDF5_SIGNATURE:
            return "hdf5"
        raise NotNWBError("not an HDF5 or Zarr NWB file", source=source.label)
    reader = source.reader()
    looks_zarr = source.uri.rstrip("/").lower().endswith(".zarr")
    if looks_zarr and _zarr_keys_exist(reader):
        return "zarr"
    try:
        head = reader.first_block()[:8]
    except SourceError:
        if not looks_zarr and _zarr_keys_exist(reader):
            return "zarr"
        raise
    if head == HDF5_SIGNATURE:
        return "hdf5"
    if not looks_zarr and _zarr_keys_exist(reader):
        return "zarr"
    raise NotNWBError("not an HDF5 or Zarr NWB file", source=source.label)


def _zarr_keys_exist(reader: Reader) -> bool:
    found = reader.get_many([".zmetadata", ".zgroup"])
    return any(v is not None for v in found.values())
