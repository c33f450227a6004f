"""The Catalog type: a file's tree as plain data, and the backend that reads its data.

A Catalog holds every group and dataset of one file (`Node`s keyed by absolute path, with
decoded attributes, shapes, dtypes and layouts) plus small arrays learned while reading
(VectorIndex columns). It knows nothing of NWB's meaning (nwb/kinds.py says what is a
table or a series) nor of caching (catalog/cache.py keeps catalogs open per source).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..backends.base import Backend, DatasetMeta, Node
from ..errors import InternalPathError
from ..sources import Source


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
        self.identity: dict[str, Any] | list[Any] = {}  # a remote object's validators, a local file's stat
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
            if node is None or not isinstance(target, str) or node.dataset is not None or node.children:
                return node
            node = self.get(target)
        return node

    def require(self, path: str) -> Node:
        node = self.get(path)
        if node is None:
            raise InternalPathError("no such path in the file", source=self.label, path=normalize_path(path))
        return node

    def require_dataset(self, path: str) -> DatasetMeta:
        """The dataset at `path` (an index, a column: found as datasets); a group is an error."""
        meta = self.require(path).dataset
        if meta is None:
            raise InternalPathError("not a dataset", source=self.label, path=normalize_path(path))
        return meta

    def children(self, path: str) -> list[Node]:
        node = self.require(path)
        base = node.path.rstrip("/")
        return [self.nodes[f"{base}/{name}"] for name in node.children if f"{base}/{name}" in self.nodes]


def normalize_path(path: str) -> str:
    """'/units', 'units', '/units/' -> '/units'."""
    return "/" + str(path).strip().strip("/") if str(path).strip("/") else "/"
