"""The Zarr backend: NWB files in Zarr v2 and v3 stores, read by our own code over our store.

Metadata: the walk of walk.py (consolidated metadata in the root probe's one round; else
by levels). Data: arrays.py fetches exactly the pieces a selection needs (stored chunks, or
the inner chunks of shards after one read of each shard's index), concurrently, and chunks.py
decodes them with bounded codecs. conventions.py turns hdmf-zarr's and LINDI's links,
references and markers into plain data. zarr-python is not used: version 3 cannot decode
the pickled reference columns of hdmf-zarr's v2 files (it has no object arrays); 3.1, the
newest for Python 3.11, reads a shard's index again on every partial read and then its inner
chunks one request after another; and its asyncio core hides the requests from our counters,
retries and deadlines. This code keeps shard indexes, fetches all inner chunks of a read in
one concurrent round (close ones coalesced), and installs beside any zarr-python, 2 or 3.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ...errors import LazyNWBError, MalformedFileError, NotNWBError
from ...sources import Source
from ..base import Backend, DatasetMeta, Node, Selection, as_str_array, selection_to_spans
from . import conventions, walk
from .arrays import Box, Fetcher, FillError, ZarrArray, read_boxes
from .chunks import ChunkError
from .codecs import UnsafePickleError
from .metadata import ArraySpec, MetadataError, parse_v2, parse_v3
from .store import ZarrStore, probe
from .walk import Entry, Tree  # by name: the method walk() hides the module in the class


class ZarrBackend(Backend):
    kind = "zarr"

    def __init__(self, source: Source, probed: dict[str, bytes] | None = None,
                 state: dict[str, Any] | None = None):
        self.label = source.label
        self.source = source
        self.store = ZarrStore(source.reader(), self.label)
        self.fetcher = Fetcher(self.store)
        self._probed = probed
        self._lock = threading.RLock()
        self.zarr_format = 0
        self._arrays: dict[str, ZarrArray] = {}  # path -> array, from the walk or `state`
        self._docs: dict[str, Any] = {}  # path -> the array's metadata document (for `state`)
        self._references: dict[str, tuple[str, ...] | bool] = {}  # path -> ref fields / True
        if state:
            self._resume(state)

    # -- metadata -----------------------------------------------------------------------

    def walk(self) -> dict[str, Node]:
        with self._lock:
            tree = self._tree()
            nodes: dict[str, Node] = {}
            for key in sorted(tree.entries):
                self._add_node(tree.entries[key], nodes)
            return nodes

    def _tree(self) -> Tree:
        probed = self._probed if self._probed is not None else probe(self.store.reader)
        self._probed = None
        if "zarr.json" in probed:
            root = walk.parse_root(probed["zarr.json"], "zarr.json", self.label)
            if not isinstance(root, dict) or root.get("zarr_format") != 3 or root.get("node_type") != "group":
                raise NotNWBError("the root zarr.json is not a Zarr v3 group", source=self.label)
            self.zarr_format = 3
            consolidated = root.get("consolidated_metadata")
            if isinstance(consolidated, dict) and consolidated.get("metadata") is not None:
                return walk.from_v3_consolidated(root, self.label)
            return walk.walk_levels(self.store, 3, root.get("attributes"))
        if ".zmetadata" in probed or ".zgroup" in probed:
            self.zarr_format = 2
            if ".zmetadata" in probed:
                return walk.from_v2_consolidated(walk.parse_root(probed[".zmetadata"], ".zmetadata", self.label),
                                                 self.label)
            attrs = walk.parse_root(probed[".zattrs"], ".zattrs", self.label) if ".zattrs" in probed else {}
            return walk.walk_levels(self.store, 2, attrs)
        raise NotNWBError("not a Zarr store: none of zarr.json, .zgroup, .zmetadata at its root",
                          source=self.label)

    def _add_node(self, entry: Entry, nodes: dict[str, Node]) -> None:
        path = entry.path.rstrip("/") or "/"
        if entry.array is None:
            target = conventions.soft_link(entry.attrs)
            if target is not None:
                nodes[path] = Node(path, True, {"target": target}, is_link=True)
                return
            links = conventions.links(entry.attrs)
            attrs = conventions.group_attrs(entry.attrs, self.zarr_format)
            names = sorted(set(entry.children) | set(links))
            nodes[path] = Node(path, True, attrs, children=tuple(names))
            for name, target in links.items():
                if name not in entry.children:
                    link_path = f"{path.rstrip('/')}/{name}"
                    nodes[link_path] = Node(link_path, True, {"target": target}, is_link=True)
            return
        self._register(path, entry.key, entry.array, entry.attrs)
        self._docs[path] = (entry.key, entry.doc)
        attrs = {k: conventions.decode_attr(v, self.zarr_format) for k, v in entry.attrs.items()}
        nodes[path] = Node(path, False, attrs, dataset=self._meta(path, entry.array, entry.attrs))

    def _register(self, path: str, key: str, spec: ArraySpec, attrs: dict[str, Any]) -> None:
        self._arrays[path] = ZarrArray(key, spec)
        fields = conventions.reference_fields(attrs)
        if fields or conventions.is_reference_dataset(attrs):
            self._references[path] = fields or True

    def _meta(self, path: str, spec: ArraySpec, attrs: dict[str, Any]) -> DatasetMeta:
        dtype = spec.dtype
        is_ref = self._references.get(path) is True
        if dtype.names:
            dtype = np.dtype([(n, object if dtype[n].kind in "OSU" else dtype[n])
                              for n in dtype.names])
        elif dtype.kind in "SU":
            dtype = np.dtype(object)
        is_string = not is_ref and (spec.object_codec in ("vlen-utf8", "vlen-bytes") or spec.dtype.kind in "SU")
        return DatasetMeta(
            shape=spec.shape,
            dtype=dtype,
            chunks=spec.read_chunks,
            compression=spec.codecs.compression(),
            filters=spec.codecs.names(),
            is_string=is_string,
            is_reference=is_ref,
            storage_dtype=spec.storage,
        )

    def export_state(self) -> dict[str, Any] | None:
        """Each array's metadata (so a stored catalog reads data with no metadata request)."""
        with self._lock:
            if not self._arrays:
                return None
            return {"zarr_format": self.zarr_format, "arrays": dict(self._docs),
                    "references": {p: list(v) if isinstance(v, tuple) else v for p, v in self._references.items()}}

    def _resume(self, state: dict[str, Any]) -> None:
        self.zarr_format = int(state["zarr_format"])
        for path, (key, doc) in state["arrays"].items():
            spec = parse_v3(doc) if self.zarr_format == 3 else parse_v2(doc)
            self._arrays[path] = ZarrArray(key, spec)
            self._docs[path] = (key, doc)
        self._references = {p: tuple(v) if isinstance(v, list) else v
                            for p, v in state.get("references", {}).items()}

    # -- data ---------------------------------------------------------------------------

    def _array(self, path: str) -> ZarrArray:
        array = self._arrays.get(path)
        if array is None:
            array = self._load_array(path)
        return array

    def _load_array(self, path: str) -> ZarrArray:
        """An array's metadata read on first use (a catalog stored without it): one round."""
        key = path.strip("/")
        docs = self.store.documents([f"{key}/zarr.json", f"{key}/.zarray", f"{key}/.zattrs"])
        doc = docs.get(f"{key}/zarr.json") or docs.get(f"{key}/.zarray")
        if doc is None:
            raise MalformedFileError("dataset not found", source=self.label, path=path)
        v3 = f"{key}/zarr.json" in docs
        attrs = (doc.get("attributes") if v3 else docs.get(f"{key}/.zattrs")) or {}
        try:
            spec = parse_v3(doc) if v3 else parse_v2(doc)
        except MetadataError as exc:
            raise MalformedFileError(f"array metadata: {exc}", source=self.label, path=path) from None
        with self._lock:
            self.zarr_format = 3 if v3 else 2
            self._register(path, key, spec, attrs if isinstance(attrs, dict) else {})
            self._docs[path] = (key, doc)
            return self._arrays[path]

    def _read(self, path: str, boxes: Sequence[Box]) -> list[np.ndarray]:
        array = self._array(path)
        try:
            return [self._decode(path, data) for data in read_boxes(self.fetcher, array, boxes)]
        except LazyNWBError:
            raise
        except (ChunkError, FillError, UnsafePickleError, MetadataError) as exc:
            raise MalformedFileError(f"cannot read: {exc}", source=self.label, path=path) from None

    def read(self, path: str, rows: Selection = None) -> np.ndarray:
        array = self._array(path)
        if array.spec.ndim == 0:
            return self._read(path, [()])[0]
        return self.read_spans(path, selection_to_spans(rows, array.spec.shape[0]))

    def read_spans(self, path: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        array = self._array(path)
        rest = tuple((0, n) for n in array.spec.shape[1:])
        boxes = [((a, b), *rest) for a, b in spans if b > a]
        if not boxes:
            return self._decode(path, np.empty((0, *array.spec.shape[1:]), dtype=array.spec.dtype))
        parts = self._read(path, boxes)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def read_box(self, path: str, box: tuple[slice, ...]) -> np.ndarray:
        """Only the pieces the box touches on every axis (one round)."""
        return self._read(path, [tuple((s.start, s.stop) for s in box)])[0]

    @contextlib.contextmanager
    def prefetched(self, requests: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> Iterator[None]:
        if self.store.is_local:
            yield
            return
        wanted: list[tuple[ZarrArray, tuple[int, ...]]] = []
        for path, spans in requests:
            array = self._array(path)
            if array.spec.ndim == 0:
                wanted.append((array, ()))
                continue
            rest = tuple((0, n) for n in array.spec.shape[1:])
            for a, b in spans:
                if b > a:
                    wanted.extend((array, c) for c in array.coords(((a, b), *rest)))
        try:
            fetched = self.fetcher.fetch(wanted)
        except (ChunkError, MetadataError) as exc:
            raise MalformedFileError(f"cannot read: {exc}", source=self.label) from None
        self.fetcher.prefetched.update(fetched)
        try:
            yield
        finally:
            for pid in fetched:
                self.fetcher.prefetched.pop(pid, None)

    def _decode(self, path: str, data: np.ndarray) -> np.ndarray:
        refs = self._references.get(path)
        if data.dtype.names:
            out = np.empty(data.shape, dtype=[(n, object if data.dtype[n].kind in "OSU"
                                               else data.dtype[n]) for n in data.dtype.names])
            for name in data.dtype.names:
                column = data[name]
                if isinstance(refs, tuple) and name in refs:
                    out[name] = _paths(column)
                elif column.dtype.kind in "OSU":
                    out[name] = _objects(column)
                else:
                    out[name] = column
            return out
        if refs is True:
            return _paths(data)
        if data.dtype.kind in "SU":
            return as_str_array(data)
        if data.dtype == object:
            return _objects(data)
        return data


def _objects(data: np.ndarray) -> np.ndarray:
    out = np.empty(data.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(data.reshape(-1).tolist()):
        flat[i] = conventions.decode_object(v)
    return out


def _paths(data: np.ndarray) -> np.ndarray:
    """Reference elements (path strings, or hdmf-zarr's pickled / JSON dicts) as paths."""
    out = np.empty(data.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(data.reshape(-1).tolist()):
        if isinstance(v, bytes):
            v = v.decode("utf-8", errors="replace")
        flat[i] = conventions.ref_path(v) if v not in (None, "") else None
    return out
