"""The backends layer: HDF5 and Zarr files behind one small interface (base.Backend).

- base.py: the interface (walk, read, read_spans, read_box, prefetched, export_state, ...)
  and the plain data every layer above sees (Node, DatasetMeta).
- open.py: format detection and the one map from a backend kind to its class.
- hdf5/: our own HDF5 engine (sans-IO parsers that say which bytes they need, a driver that
  fetches them a round at a time) and its backend; h5py_backend.py reads with h5py.
- zarr/: zarr-python over our store.

May import: config, errors, transport, sources. Concrete backends are imported on first use.
"""

from .base import Backend, DatasetMeta, Node

__all__ = ["Backend", "DatasetMeta", "Node"]
