"""The Zarr backend: zarr-python over our read-only store on the transport (backend.py), with
hdmf-zarr's conventions decoded and its pickled values read by a restricted unpickler
(codecs.py)."""

from .backend import ZarrBackend

__all__ = ["ZarrBackend"]
