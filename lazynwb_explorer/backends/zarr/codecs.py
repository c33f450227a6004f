"""numcodecs codecs for untrusted Zarr stores: pickled chunks decoded without running code,
and any codec bounded in what one chunk may decode to.

hdmf-zarr (before 0.14) writes object-reference columns with numcodecs' Pickle codec.
`pickle.loads` on a file from the internet can run anything, so we decode with an Unpickler
whose `find_class` allows no globals at all: only the pickle protocol's own plain types (str,
bytes, int, float, bool, None, list, tuple, dict) and numpy object arrays of them can be
built, and a few known data-only classes (hdmf-zarr's ZarrReference, a dict) are rebuilt as
their plain base type. Anything else raises `UnsafePickleError`. What was built is then
bounded before anyone walks it: a few hundred bytes of shared references (a "billion laughs"
list) describe a tree of billions of nodes, so the tree is counted, shared parts every time
they occur, and refused past `max_items` nodes or MAX_PICKLE_DEPTH levels.
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

from ..compressed_size import declared_size

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


MAX_PICKLE_DEPTH = 32  # levels of nesting in one pickled value
MAX_PICKLE_ITEMS = 1 << 16  # nodes one pickled value may expand to, unless the caller says more


class PickleTooLargeError(UnsafePickleError):
    """The pickled value expands to more nodes, or nests deeper, than its chunk can hold."""


def _check_expansion(value: Any, max_items: int) -> None:
    """Count the value as a tree (a shared list counts every time it is referenced), with an
    explicit stack: refused past `max_items` nodes or MAX_PICKLE_DEPTH levels."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > max_items or depth > MAX_PICKLE_DEPTH:
            raise PickleTooLargeError(
                f"pickled value expands to more than {max_items} items or {MAX_PICKLE_DEPTH} levels"
            )
        if isinstance(item, np.ndarray) and item.dtype.hasobject:
            item = item.reshape(-1).tolist()
        if isinstance(item, list | tuple):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, dict):
            stack.extend((v, depth + 1) for pair in item.items() for v in pair)


def safe_loads(data: bytes, max_items: int = MAX_PICKLE_ITEMS) -> Any:
    """The pickled value, built without running code and bounded as a tree."""
    try:
        value = _RestrictedUnpickler(io.BytesIO(data)).load()
    except MemoryError:  # a bytes opcode's length is allocated before it is read
        failed = True
    else:
        failed = False
    if failed:  # raised outside the except block: no MemoryError rides along as context
        raise UnsafePickleError(f"a pickled value declares more bytes than its {len(data)} hold")
    _check_expansion(value, max_items)
    return value


class SafePickle(Codec):
    """Decodes what numcodecs' Pickle wrote, with the restricted unpickler."""

    codec_id = "pickle"

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL, max_items: int = MAX_PICKLE_ITEMS):
        self.protocol = protocol
        self.max_items = max_items

    def encode(self, buf: Any) -> bytes:
        raise PermissionError("lazynwb_explorer is read-only")

    def decode(self, buf: Any, out: Any = None) -> Any:
        value = safe_loads(ensure_bytes(buf), self.max_items)
        if out is not None:
            out[...] = value
            return out
        return np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value

    def get_config(self) -> dict[str, Any]:
        return {"id": self.codec_id, "protocol": self.protocol}


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
