"""Zarr (v2, as written by hdmf-zarr) through zarr-python over our own read-only store.

The store maps zarr keys to Reader.get: one GET per key, and `getitems` fetches all the
chunks of a selection in one concurrent round. Consolidated metadata (.zmetadata, which
hdmf-zarr writes) gives the whole tree in one GET.

hdmf-zarr may store object references (and other object columns) with numcodecs' Pickle
codec. Unpickling runs code chosen by the file's author, so the store rewrites that codec id
in the metadata to `safe_pickle` (codecs.SafePickle), which only builds plain data.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import zarr
from zarr.storage import BaseStore

from ...errors import LazyNWBError, MalformedFileError, NotNWBError, SourceError
from ...sources import Source
from ...transport import LocalReader, Reader
from ..base import (
    Backend,
    DatasetMeta,
    Node,
    Selection,
    as_str_array,
    decode_scalar,
    selection_to_spans,
)
from .codecs import MAX_CHUNK_BYTES, SAFE_PICKLE_ID, Bounded, register_safe_codecs

_METADATA_KEYS = (".zarray", ".zgroup", ".zattrs", ".zmetadata")
MAX_ELEMENTS = 1 << 48  # as the HDF5 engine: an array declaring more is hostile, not data


def _make_pickle_safe(raw: bytes) -> bytes:
    if b'"pickle"' not in raw:
        return raw
    return raw.replace(b'"id": "pickle"', f'"id": "{SAFE_PICKLE_ID}"'.encode()).replace(
        b'"id":"pickle"', f'"id":"{SAFE_PICKLE_ID}"'.encode()
    )


class ReaderStore(BaseStore):
    """A read-only zarr v2 store over a Reader (local directory or object-store prefix)."""

    _writeable = False
    _erasable = False

    def __init__(self, reader: Reader):
        self.reader = reader
        self._metadata: dict[str, bytes | None] = {}  # metadata keys are read once
        self.prefetched: dict[str, bytes] = {}  # chunks fetched ahead by ZarrBackend.prefetched

    def _fix(self, key: str, value: bytes) -> bytes:
        return _make_pickle_safe(value) if key.rsplit("/", 1)[-1] in _METADATA_KEYS else value

    def __getitem__(self, key: str) -> bytes:
        if key in self.prefetched:
            return self.prefetched[key]
        is_metadata = key.rsplit("/", 1)[-1] in _METADATA_KEYS
        if is_metadata and key in self._metadata:
            value = self._metadata[key]
        else:
            value = self.reader.get(key)
            if is_metadata:
                self._metadata[key] = value
        if value is None:
            raise KeyError(key)
        return self._fix(key, value)

    def getitems(self, keys: Sequence[str], *, contexts: Any = None) -> dict[str, bytes]:
        out = {k: self.prefetched[k] for k in keys if k in self.prefetched}
        found = self.reader.get_many([k for k in keys if k not in out])
        out.update({k: self._fix(k, v) for k, v in found.items() if v is not None})
        return out

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except (KeyError, TypeError):
            return False
        return True

    def listdir(self, path: str = "") -> list[str]:
        if isinstance(self.reader, LocalReader):
            try:
                return sorted(os.listdir(self.reader.path / path))
            except OSError:
                return []
        raise SourceError(
            "remote Zarr store without consolidated metadata (.zmetadata) cannot be listed",
            source=self.reader.uri,
        )

    def __iter__(self) -> Iterator[str]:
        if not isinstance(self.reader, LocalReader):
            return iter(())
        root = self.reader.path
        return (
            os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")
            for d, _, files in os.walk(root)
            for f in files
        )

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __setitem__(self, key: str, value: Any) -> None:
        raise PermissionError("read-only store: lazynwb_explorer never writes to a source")

    def __delitem__(self, key: str) -> None:
        raise PermissionError("read-only store: lazynwb_explorer never writes to a source")


class ZarrBackend(Backend):
    kind = "zarr"

    def __init__(self, source: Source):
        register_safe_codecs()
        self.label = source.label
        self.source = source
        self._lock = threading.RLock()
        self.store = ReaderStore(source.reader())
        try:
            if ".zmetadata" in self.store:
                self.root = zarr.open_consolidated(self.store, mode="r")
            else:
                self.root = zarr.open_group(self.store, mode="r")
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - zarr's errors for hostile metadata vary
            raise NotNWBError(f"cannot be opened as Zarr: {exc}", source=self.label) from exc

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
        with self._lock:
            nodes: dict[str, Node] = {}
            self._walk_group(self.root, "/", nodes)
            return nodes

    def _walk_group(self, group: zarr.Group, path: str, nodes: dict[str, Node]) -> None:
        raw = dict(group.attrs)  # hdmf-zarr's links, taken before their dicts decode to paths
        links = {link.get("name"): link for link in raw.pop("zarr_link", None) or [] if isinstance(link, dict)}
        attrs = {k: self._decode_attr(v) for k, v in raw.items()}
        names = sorted(set(group.keys()) | set(links))
        nodes[path] = Node(path, True, attrs, children=tuple(names))
        for name in names:
            child_path = f"{path.rstrip('/')}/{name}"
            if name in links and name not in group:
                target = _ref_path(links[name])
                nodes[child_path] = Node(child_path, True, {"target": target}, is_link=True)
                continue
            try:
                obj = group[name]
                if isinstance(obj, zarr.Group):
                    self._walk_group(obj, child_path, nodes)
                    continue
                meta = self._meta(self._checked(obj, child_path))
                attrs = self._attrs(obj)
            except LazyNWBError:
                raise
            except Exception as exc:  # noqa: BLE001 - zarr's errors for hostile metadata vary
                raise MalformedFileError(f"cannot read metadata: {exc}", source=self.label, path=child_path) from exc
            nodes[child_path] = Node(child_path, False, attrs, dataset=meta)

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
        index = np.concatenate([np.arange(a, b) for a, b in spans])
        try:
            if len(spans) == 1:
                data = arr[spans[0][0] : spans[0][1]]
            else:  # one orthogonal selection: zarr fetches every chunk in one getitems round
                data = arr.get_orthogonal_selection((index,))
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - codec / shape errors from a bad file
            raise MalformedFileError(f"cannot read: {exc}", source=self.label, path=path) from exc
        return self._decode(arr, np.asarray(data))

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
        try:
            data = arr[box]
        except SourceError:
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
