"""Storage backends: HDF5 and Zarr behind one small interface (base.Backend)."""

from .base import Backend, DatasetMeta, Node

__all__ = ["Backend", "DatasetMeta", "Node"]
