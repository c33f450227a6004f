"""Zarr (v2, as written by hdmf-zarr) through zarr-python over our own read-only store.

The store (store.py) maps zarr keys to Reader.get: one GET per key, and `getitems` fetches
all the chunks of a selection in one concurrent round. Consolidated metadata (.zmetadata,
which hdmf-zarr writes) gives the whole tree in one GET; its keys are checked first (each
names a key below the store).

What a file declares is checked before it is trusted: a dimension_separator other than '.'
or '/' (its keys could name files anywhere), shapes and chunks, an array declaring more than
UNBACKED_LIMIT bytes with no chunk stored, a read that is almost all missing chunks, and a
read larger than config.max_read_bytes are refused, naming the array.

hdmf-zarr may store object references (and other object columns) with numcodecs' Pickle
codec. Unpickling runs code chosen by the file's author, so the store rewrites that codec id
in the metadata to `safe_pickle` (codecs.SafePickle), which only builds plain data.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from ...errors import LazyNWBError, MalformedFileError, NotNWBError, ReadTooLargeError
from ...sources import Source
from ...transport import LocalReader
from ...transport.readers import checked_key
from ..base import (
    MAX_DEPTH,
    UNBACKED_LIMIT,
    Backend,
    DatasetMeta,
    Node,
    Selection,
    as_str_array,
    check_read_size,
    decode_scalar,
    selection_to_spans,
)
from .codecs import MAX_CHUNK_BYTES, Bounded, register_safe_codecs
from .store import ReaderStore

MAX_ELEMENTS = 1 << 48  # as the HDF5 engine: an array declaring more is hostile, not data
MAX_CHUNKS_PER_READ = 1 << 20  # one read touching more chunks is hopeless (a hang), not data
_SEPARATORS = (None, ".", "/")  # dimension separators; any other could name keys anywhere


class ZarrBackend(Backend):
    kind = "zarr"

    def __init__(self, source: Source):
        register_safe_codecs()
        self.label = source.label
        self.source = source
        self._lock = threading.RLock()
        self._arrays_seen: dict[str, zarr.Array] = {}
        self.store = ReaderStore(source.reader())
        try:
            if ".zmetadata" in self.store:
                self._check_consolidated()
                self.root = zarr.open_consolidated(self.store, mode="r")
            else:
                self.root = zarr.open_group(self.store, mode="r")
        except LazyNWBError:
            raise
        except Exception as exc:  # noqa: BLE001 - zarr's errors for hostile metadata vary
            raise NotNWBError(f"cannot be opened as Zarr: {exc}", source=self.label) from exc

    def _check_consolidated(self) -> None:
        """The consolidated metadata's keys each name a key below the store (a key like
        '/units/.zattrs' sent zarr into endless recursion)."""
        try:
            top = json.loads(self.store[".zmetadata"])
        except (ValueError, UnicodeDecodeError) as exc:
            raise NotNWBError(f"cannot be opened as Zarr: .zmetadata is not JSON ({exc})", source=self.label) from exc
        metadata = top.get("metadata") if isinstance(top, dict) else None
        if not isinstance(metadata, dict):
            raise NotNWBError("cannot be opened as Zarr: .zmetadata holds no metadata mapping", source=self.label)
        for key in metadata:
            try:
                checked_key(key, self.label)
            except MalformedFileError:
                raise NotNWBError(f"cannot be opened as Zarr: metadata key {key!r} does not name a key "
                                  "below the store", source=self.label) from None

    # -- metadata -----------------------------------------------------------------------

    def _attrs(self, obj: Any) -> dict[str, Any]:
        return {k: self._decode_attr(v) for k, v in dict(obj.attrs).items()}

    def _decode_attr(self, value: Any) -> Any:
        if isinstance(value, dict) and value.get("zarr_dtype") in ("object", "region"):
            value = value.get("value")  # hdmf-zarr's wrapped object reference
        if isinstance(value, dict) and "path" in value and ("source" in value or "object_id" in value):
            return _ref_path(value)
        if isinstance(value, list):
            return [self._decode_attr(v) for v in value]
        return decode_scalar(value)

    def _checked(self, arr: zarr.Array, path: str) -> zarr.Array:
        """The array, if its metadata is sane, with codecs that decode a chunk in bounded
        memory (hostile metadata or chunks raise MalformedFileError naming the path).
        zarr 2 decodes chunks with the array's `_compressor` and `_filters`: those are
        wrapped in `Bounded`, limited to the bytes one chunk holds."""
        shape, chunks = arr.shape, arr.chunks
        separator = getattr(arr, "_dimension_separator", None)
        if separator not in _SEPARATORS:
            raise MalformedFileError(f"dimension_separator {separator!r} (only '.' or '/'): its chunk keys "
                                     "could name files outside the store", source=self.label, path=path)
        if not all(isinstance(n, int) and n >= 0 for n in shape) or len(chunks) != len(shape) or not all(
            isinstance(n, int) and n >= 1 for n in chunks
        ):
            raise MalformedFileError(f"array of shape {shape} in chunks of {chunks}", source=self.label, path=path)
        chunk_bytes = math.prod(chunks) * arr.dtype.itemsize
        if math.prod(shape) > MAX_ELEMENTS or chunk_bytes > MAX_CHUNK_BYTES:
            raise MalformedFileError(
                f"array of shape {shape} in chunks of {chunks} ({arr.dtype}): more than "
                f"{MAX_ELEMENTS} elements or {MAX_CHUNK_BYTES} bytes per chunk",
                source=self.label, path=path,
            )
        # The compressor's output is the filters' encoded form (pickle, vlen, ...), whose size
        # the dtype does not bound: only a plain array's chunk is exactly chunk_bytes.
        plain = not arr.dtype.hasobject and not arr._filters
        limit = chunk_bytes if plain else MAX_CHUNK_BYTES
        if arr._compressor is not None and not isinstance(arr._compressor, Bounded):
            arr._compressor = Bounded(arr._compressor, limit)
        if arr._filters:
            arr._filters = [Bounded(f, limit) if f.codec_id.startswith("vlen-") else f for f in arr._filters]
        return arr

    def _meta(self, arr: zarr.Array) -> DatasetMeta:
        filters = tuple(f.codec_id for f in (arr.filters or []))
        is_object = arr.dtype == object
        is_string = is_object and any(f in ("vlen-utf8", "vlen-bytes") for f in filters)
        is_ref = is_object and not is_string
        return DatasetMeta(
            shape=tuple(arr.shape),
            dtype=arr.dtype,
            chunks=tuple(arr.chunks),
            compression=arr.compressor.codec_id if arr.compressor else None,
            filters=filters,
            is_string=is_string or arr.dtype.kind in "SU",
            is_reference=is_ref and arr.attrs.get("zarr_dtype") in ("object", "region"),
            storage_dtype=f"object[{','.join(filters)}]" if is_object else arr.dtype.str,
        )

    def walk(self) -> dict[str, Node]:
        """The tree, depth first in name order, with an explicit stack (no recursion)."""
        with self._lock:
            nodes: dict[str, Node] = {}
            stack: list[tuple[zarr.Group, str] | tuple[None, str]] = [(self.root, "/")]
            while stack:
                group, path = stack.pop()
                if group is None:  # an array, described when its turn comes (name order)
                    nodes[path] = self._array_node(path)
                    continue
                if path.count("/") > MAX_DEPTH:
                    raise NotNWBError(f"groups nested deeper than {MAX_DEPTH} levels", source=self.label)
                stack.extend(reversed(self._walk_group(group, path, nodes)))
            return nodes

    def _walk_group(self, group: zarr.Group, path: str, nodes: dict[str, Node]) -> list:
        """The group's node (and its links'); its children still to walk, in name order."""
        raw = dict(group.attrs)  # hdmf-zarr's links, taken before their dicts decode to paths
        links = {link.get("name"): link for link in raw.pop("zarr_link", None) or [] if isinstance(link, dict)}
        attrs = {k: self._decode_attr(v) for k, v in raw.items()}
        names = sorted(set(group.keys()) | set(links))
        nodes[path] = Node(path, True, attrs, children=tuple(names))
        below: list = []
        for name in names:
            child_path = f"{path.rstrip('/')}/{name}"
            if name in links and name not in group:
                target = _ref_path(links[name])
                nodes[child_path] = Node(child_path, True, {"target": target}, is_link=True)
                continue
            try:
                obj = group[name]
            except Exception as exc:  # noqa: BLE001 - zarr's errors for hostile metadata vary
                raise MalformedFileError(f"cannot read metadata: {exc}", source=self.label, path=child_path) from exc
            below.append((obj if isinstance(obj, zarr.Group) else None, child_path))
            if not isinstance(obj, zarr.Group):
                self._arrays_seen[child_path] = obj
        return below

    def _array_node(self, path: str) -> Node:
        obj = self._arrays_seen.pop(path)
        try:
            meta = self._meta(self._checked(obj, path))
            attrs = self._attrs(obj)
        except LazyNWBError:
            raise
        except Exception as exc:  # noqa: BLE001 - zarr's errors for hostile metadata vary
            raise MalformedFileError(f"cannot read metadata: {exc}", source=self.label, path=path) from exc
        return Node(path, False, attrs, dataset=meta)

    # -- data ---------------------------------------------------------------------------

    def _array(self, path: str) -> zarr.Array:
        try:
            obj = self.root[path.lstrip("/")]
        except KeyError as exc:
            raise MalformedFileError("dataset not found", source=self.label, path=path) from exc
        if not isinstance(obj, zarr.Array):
            raise MalformedFileError("not a dataset", source=self.label, path=path)
        return self._checked(obj, path)

    def read(self, path: str, rows: Selection = None) -> np.ndarray:
        arr = self._array(path)
        if arr.ndim == 0:
            return self._decode(arr, np.asarray(arr[()]))
        return self.read_spans(path, selection_to_spans(rows, arr.shape[0]))

    def read_spans(self, path: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        arr = self._array(path)
        spans = [(a, b) for a, b in spans if b > a]
        if not spans:
            return self._decode(arr, np.empty((0, *arr.shape[1:]), dtype=arr.dtype))
        rows = sum(b - a for a, b in spans)
        rest = [range(-(-n // c)) for n, c in zip(arr.shape[1:], arr.chunks[1:])]
        first = sorted({i for a, b in spans for i in range(a // arr.chunks[0], (b - 1) // arr.chunks[0] + 1)})
        with self._backed(arr, path, (rows, *arr.shape[1:]), [first, *rest]):
            index = np.concatenate([np.arange(a, b) for a, b in spans])
            try:
                if len(spans) == 1:
                    data = arr[spans[0][0] : spans[0][1]]
                else:  # one orthogonal selection: zarr fetches every chunk in one getitems round
                    data = arr.get_orthogonal_selection((index,))
            except LazyNWBError:
                raise
            except Exception as exc:  # noqa: BLE001 - codec / shape errors from a bad file
                raise MalformedFileError(f"cannot read: {exc}", source=self.label, path=path) from exc
        return self._decode(arr, np.asarray(data))

    @contextlib.contextmanager
    def _backed(self, arr: zarr.Array, path: str, shape: tuple[int, ...], chunk_ranges: list) -> Iterator[None]:
        """Refuses a read that would hold more than config.max_read_bytes, touch more than
        MAX_CHUNKS_PER_READ chunks, or be (almost) all fill: an array declaring more than
        UNBACKED_LIMIT bytes with no chunk stored (a local store's directory is listed), or
        a read of which under 1% exists as chunks and more than 4 x UNBACKED_LIMIT bytes do
        not. The chunks fetched to count them (remote) serve the read."""
        check_read_size(self.label, path, shape, arr.dtype.itemsize)
        n_chunks = math.prod(len(r) for r in chunk_ranges)
        if n_chunks > MAX_CHUNKS_PER_READ:
            raise ReadTooLargeError(f"the read touches {n_chunks} chunks, more than {MAX_CHUNKS_PER_READ}",
                                    source=self.label, path=path)
        itemsize = arr.dtype.itemsize
        local = isinstance(self.store.reader, LocalReader)
        declared = math.prod(arr.shape) * itemsize
        if local and declared > UNBACKED_LIMIT and not _stores_chunks(self.store.reader.path / path.strip("/")):
            raise MalformedFileError(f"declares shape {arr.shape} ({declared} bytes) but stores none of its data",
                                     source=self.label, path=path)
        fetched: dict[str, bytes] = {}
        if math.prod(shape) * itemsize > 4 * UNBACKED_LIMIT:
            keys = _keys(arr, path, chunk_ranges)
            if local:
                present = sum(1 for k in keys if (self.store.reader.path / k).is_file())
            else:
                fetched = self.store.getitems([k for k in keys if k not in self.store.prefetched])
                self.store.prefetched.update(fetched)
                present = sum(1 for k in keys if k in self.store.prefetched)
            missing_bytes = (len(keys) - present) * math.prod(arr.chunks) * itemsize
            if missing_bytes > 4 * UNBACKED_LIMIT and present * 100 < len(keys):
                for key in fetched:
                    self.store.prefetched.pop(key, None)
                raise MalformedFileError(
                    f"declares shape {arr.shape} but stores {present} of the {len(keys)} chunks read",
                    source=self.label, path=path,
                )
        try:
            yield
        finally:
            for key in fetched:
                self.store.prefetched.pop(key, None)

    @contextlib.contextmanager
    def prefetched(self, requests: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> Iterator[None]:
        if isinstance(self.store.reader, LocalReader):
            yield
            return
        keys: list[str] = []
        for path, spans in requests:
            arr = self._array(path)
            keys.extend(_chunk_keys(arr, path, spans))
        keys = [k for k in dict.fromkeys(keys) if k not in self.store.prefetched]
        fetched = self.store.getitems(keys)
        self.store.prefetched.update(fetched)
        try:
            yield
        finally:
            for key in fetched:
                self.store.prefetched.pop(key, None)

    def read_box(self, path: str, box: tuple[slice, ...]) -> np.ndarray:
        """Only the chunks the box touches on every axis (one getitems round)."""
        arr = self._array(path)
        bounds = [s.indices(n)[:2] for s, n in zip(box, arr.shape)]
        shape = tuple(max(0, hi - lo) for lo, hi in bounds)
        ranges = [range(lo // c, (hi - 1) // c + 1) if hi > lo else range(0) for (lo, hi), c in zip(bounds, arr.chunks)]
        with self._backed(arr, path, shape, ranges):
            try:
                data = arr[box]
            except LazyNWBError:
                raise
            except Exception as exc:  # noqa: BLE001 - codec / shape errors from a bad file
                raise MalformedFileError(f"cannot read: {exc}", source=self.label, path=path) from exc
        return self._decode(arr, np.asarray(data))

    def _decode(self, arr: zarr.Array, data: np.ndarray) -> np.ndarray:
        if data.dtype.kind == "S":
            return as_str_array(data)
        if data.dtype == object:
            out = np.empty(data.shape, dtype=object)
            flat = out.reshape(-1)
            for i, v in enumerate(data.reshape(-1).tolist()):
                flat[i] = _decode_object(v)
            return out
        if data.dtype.names:
            out = data.copy()
            for name in data.dtype.names:
                if data.dtype.fields[name][0].kind == "O":
                    out[name] = self._decode(arr, data[name])
            return out
        return data


def _keys(arr: zarr.Array, path: str, chunk_ranges: list) -> list[str]:
    """The store keys of the chunks at these chunk indexes (one iterable per axis)."""
    separator = getattr(arr, "_dimension_separator", None) or "."
    prefix = path.strip("/")
    return [f"{prefix}/{separator.join(str(i) for i in index)}" for index in itertools.product(*chunk_ranges)]


def _stores_chunks(directory: Path) -> bool:
    """Whether a local array's directory holds any chunk (anything but its metadata)."""
    try:
        with os.scandir(directory) as entries:
            return any(not e.name.startswith(".") for e in entries)
    except OSError:
        return False


def _chunk_keys(arr: zarr.Array, path: str, spans: Sequence[tuple[int, int]]) -> list[str]:
    """The store keys of the chunks holding these rows (every chunk along the other axes)."""
    if arr.ndim == 0:
        return []
    separator = getattr(arr, "_dimension_separator", None) or "."
    per_axis = [range(-(-n // c)) for n, c in zip(arr.shape[1:], arr.chunks[1:])]
    rows_per_chunk = arr.chunks[0]
    first_axis = sorted({
        i for a, b in spans if b > a for i in range(a // rows_per_chunk, (b - 1) // rows_per_chunk + 1)
    })
    prefix = path.strip("/")
    return [
        f"{prefix}/{separator.join(str(i) for i in (first, *rest))}"
        for first in first_axis
        for rest in itertools.product(*per_axis)
    ]


def _ref_path(value: dict[str, Any]) -> str | None:
    path = value.get("path")
    if not isinstance(path, str):
        return None
    return "/" + path.lstrip("/")


def _decode_object(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict) and "path" in value:
        return _ref_path(value)
    if isinstance(value, list | tuple):
        return tuple(_decode_object(v) for v in value)
    return value
