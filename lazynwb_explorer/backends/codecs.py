"""A numcodecs codec that decodes pickled chunks without running code.

hdmf-zarr writes object-reference columns with numcodecs' Pickle codec. `pickle.loads` on a
file from the internet can run anything, so we decode with an Unpickler whose
`find_class` allows no globals at all: only the pickle protocol's own plain types (str,
bytes, int, float, bool, None, list, tuple, dict) and numpy object arrays of them can be
built, and a few known data-only classes (hdmf-zarr's ZarrReference, a dict) are rebuilt as
their plain base type. Anything else raises `UnsafePickleError`.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_bytes
from numcodecs.registry import get_codec, register_codec

SAFE_PICKLE_ID = "lazynwb_safe_pickle"

# numpy needs these to rebuild an object ndarray; they construct arrays, never call user code.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


# Data-only classes writers pickle, rebuilt as the plain type they extend.
_PLAIN_STANDINS = {
    ("hdmf_zarr.utils", "ZarrReference"): dict,
}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asked for a global that could run code; nothing was built."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if (module, name) in _PLAIN_STANDINS:
            return _PLAIN_STANDINS[(module, name)]
        raise UnsafePickleError(f"refusing to load {module}.{name} from a pickled value")


def safe_loads(data: bytes) -> Any:
    return _RestrictedUnpickler(io.BytesIO(data)).load()


class SafePickle(Codec):
    codec_id = SAFE_PICKLE_ID

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL):
        self.protocol = protocol

    def encode(self, buf: Any) -> bytes:
        raise PermissionError("lazynwb_explorer is read-only")

    def decode(self, buf: Any, out: Any = None) -> Any:
        value = safe_loads(ensure_bytes(buf))
        if out is not None:
            out[...] = value
            return out
        return np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value

    def get_config(self) -> dict[str, Any]:
        return {"id": self.codec_id, "protocol": self.protocol}


def register_safe_codecs() -> None:
    try:
        get_codec({"id": SAFE_PICKLE_ID})
    except (KeyError, ValueError):
        register_codec(SafePickle)
