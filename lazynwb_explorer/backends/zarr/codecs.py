"""numcodecs codecs for untrusted Zarr stores: pickled chunks decoded without running code,
and any codec bounded in what one chunk may decode to.

hdmf-zarr writes object-reference columns with numcodecs' Pickle codec. `pickle.loads` on a
file from the internet can run anything, so we decode with an Unpickler whose
`find_class` allows no globals at all: only the pickle protocol's own plain types (str,
bytes, int, float, bool, None, list, tuple, dict) and numpy object arrays of them can be
built, and a few known data-only classes (hdmf-zarr's ZarrReference, a dict) are rebuilt as
their plain base type. Anything else raises `UnsafePickleError`.

A pickle may also share references: 300 bytes can describe a list of two references to a list
of two references ... 22 deep, four million leaves once expanded as a tree (a "billion
laughs"), which decoding then walks. So what was built is counted as a tree (shared objects
once per use) before it is used: at most MAX_PICKLE_DEPTH deep and 16 nodes per pickled
byte (a reference column pickles at well under one node per byte).
"""

from __future__ import annotations

import bz2
import io
import lzma
import pickle
import zlib
from typing import Any

import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_bytes, ndarray_copy
from numcodecs.registry import get_codec, register_codec

from ..compressed_size import declared_size

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


MAX_PICKLE_DEPTH = 32
_NODES_PER_BYTE = 16


def safe_loads(data: bytes) -> Any:
    try:
        value = _RestrictedUnpickler(io.BytesIO(data)).load()
    except MemoryError:  # a bytes opcode's length is allocated before it is read
        failed = True
    else:
        failed = False
    if failed:  # raised outside the except block: no MemoryError rides along as context
        raise UnsafePickleError(f"a pickled value declares more bytes than its {len(data)} hold")
    _check_tree(value, _NODES_PER_BYTE * len(data) + 4096)
    return value


def _check_tree(value: Any, budget: int) -> None:
    """UnsafePickleError when `value`, expanded as a tree, is deeper than MAX_PICKLE_DEPTH or
    has more than `budget` nodes (an explicit stack: no recursion, stops at the bound)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > budget:
            raise UnsafePickleError(f"a pickled value expands to more than {budget} objects "
                                    "(shared references)")
        if depth > MAX_PICKLE_DEPTH:
            raise UnsafePickleError(f"a pickled value nested more than {MAX_PICKLE_DEPTH} deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for kv in item.items() for v in kv)
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, np.ndarray) and item.dtype.hasobject:
            stack.extend((v, depth + 1) for v in item.reshape(-1).tolist())


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


MAX_CHUNK_BYTES = 1 << 28  # 256 MiB: the most one decoded Zarr chunk may hold


class ChunkTooLargeError(ValueError):
    """A chunk would decode to more bytes (or items) than its array's chunk holds."""


class Bounded(Codec):
    """A Zarr array's codec that never decodes a chunk to more than `limit` bytes.

    A hostile chunk (a zlib stream of a gigabyte of zeros, a blosc / lz4 / zstd header
    declaring terabytes, a vlen header counting a billion items in a few bytes) would
    otherwise allocate whatever it claims. Streams (zlib, gzip, bz2, lzma) are decoded up
    to the limit; the sizes that blosc, lz4 and zstd headers declare, and the item count of
    vlen buffers, are checked before the wrapped codec allocates anything."""

    def __init__(self, inner: Codec, limit: int):
        self.inner, self.limit = inner, limit
        self.codec_id = inner.codec_id

    def encode(self, buf: Any) -> bytes:
        raise PermissionError("lazynwb_explorer is read-only")

    def get_config(self) -> dict[str, Any]:
        return self.inner.get_config()

    def _refuse(self, size: int) -> ChunkTooLargeError:
        return ChunkTooLargeError(f"{self.codec_id} chunk decodes to {size} bytes, more than {self.limit}")

    def decode(self, buf: Any, out: Any = None) -> Any:
        data = ensure_bytes(buf)
        if self.codec_id.startswith("vlen-"):  # a 4-byte count, then a 4-byte length per item
            count = int.from_bytes(data[:4], "little")
            if len(data) < 4 or 4 * count > len(data) - 4:
                raise ChunkTooLargeError(f"{self.codec_id} buffer of {len(data)} bytes claims {count} items")
            return self.inner.decode(buf, out)
        stream = self._stream()
        if stream is None:
            declared = declared_size(self.codec_id, data)
            if declared is not None and declared > self.limit:
                raise self._refuse(declared)
            return self.inner.decode(buf, out)
        raw = stream.decompress(data, self.limit + 1)
        if len(raw) > self.limit:
            raise self._refuse(len(raw))
        return ndarray_copy(raw, out) if out is not None else raw

    def _stream(self) -> Any:
        """A decompressor object for the stream codecs, else None."""
        if self.codec_id == "zlib":
            return zlib.decompressobj()
        if self.codec_id == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.codec_id == "bz2":
            return bz2.BZ2Decompressor()
        if self.codec_id == "lzma":
            return lzma.LZMADecompressor(format=self.inner.format, filters=self.inner.filters)
        return None
