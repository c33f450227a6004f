"""One stored chunk's bytes -> the chunk as a numpy array, for v2 and v3 codec chains.

Codecs come from numcodecs (v3 names map onto numcodecs ids: gzip, zstd, blosc, and any
'numcodecs.<id>'), always wrapped so that a chunk never decodes to more than it can hold
(`Bounded`), pickles go through the restricted unpickler (`SafePickle`), and a crc32c codec
checks its checksum. The byte count of a plain chunk is checked against its shape before it
is viewed as an array. Any failure is a `ChunkError` the caller names with the dataset.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any, Literal

import crc32c
import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_contiguous_ndarray
from numcodecs.registry import get_codec

from .codecs import MAX_CHUNK_BYTES, Bounded, SafePickle
from .metadata import Codecs

PICKLE_ITEMS_PER_ELEMENT = 64  # nodes one pickled element may expand to (a reference is ~10)
OBJECT_BYTES_PER_ELEMENT = 1 << 16  # encoded bytes an element of an object chunk may average
MIN_OBJECT_CHUNK_BYTES = 16 << 20  # ... and any object chunk may hold this much


def _limit(dtype: np.dtype, n: int, plain: bool) -> int:
    """The most a chunk of `n` elements may decode to before its last (object) codec: its
    exact size when plain; for objects (strings, pickles) a bound that grows with `n`."""
    if plain:
        return n * dtype.itemsize
    return min(MAX_CHUNK_BYTES, max(MIN_OBJECT_CHUNK_BYTES, n * max(dtype.itemsize, OBJECT_BYTES_PER_ELEMENT)))


class ChunkError(ValueError):
    """A chunk that does not decode to what its array's metadata says."""


@functools.lru_cache(maxsize=1024)
def _numcodec(config_json: str) -> Codec:
    config = json.loads(config_json)
    try:
        return get_codec(config)
    except Exception as exc:  # noqa: BLE001 - numcodecs raises whatever its constructors do
        raise ChunkError(f"codec {config!r} is not available: {exc}") from exc


def _codec(config: dict[str, Any], limit: int) -> Codec:
    """A numcodecs codec for a v2 config ({'id': ...}), bounded to `limit` decoded bytes."""
    codec = _numcodec(json.dumps(config, sort_keys=True))
    return Bounded(codec, limit)


def _v3_bytes_codec(config: dict[str, Any], limit: int) -> Codec | None:
    """A v3 bytes->bytes codec as numcodecs; None for crc32c (checked by the caller)."""
    name = config["name"]
    settings = config.get("configuration") or {}
    if not isinstance(settings, dict):
        raise ChunkError(f"codec {config!r}")
    if name == "crc32c":
        return None
    numcodecs_id = {"gzip": "gzip", "zstd": "zstd", "blosc": "blosc"}.get(name)
    if numcodecs_id is None and name.startswith("numcodecs."):
        numcodecs_id = name.removeprefix("numcodecs.")
    if numcodecs_id is None:
        raise ChunkError(f"codec {name!r} is not read")
    if numcodecs_id == "blosc":  # decoding needs no settings; v3 spells shuffle as a word
        settings = {}
    return _codec({**settings, "id": numcodecs_id}, limit)


def checked_crc32c(data: bytes) -> bytes:
    """`data` without its trailing crc32c, which must match."""
    if len(data) < 4 or crc32c.crc32c(data[:-4]) != int.from_bytes(data[-4:], "little"):
        raise ChunkError("crc32c checksum does not match")
    return data[:-4]


def _as_array(data: Any, dtype: np.dtype, shape: tuple[int, ...], order: Literal["C", "F"]) -> np.ndarray:
    """Decoded bytes (or an array a codec returned) as the chunk, after checking its size."""
    n = math.prod(shape)
    if dtype.hasobject:
        arr = np.asarray(data)
        if arr.dtype != dtype:
            raise ChunkError(f"chunk decodes to {arr.dtype}, not {dtype}")
        if arr.size != n:
            raise ChunkError(f"chunk holds {arr.size} elements, not {n}")
        return arr.reshape(shape, order=order)
    buf = ensure_contiguous_ndarray(data).view(np.uint8).reshape(-1)
    if buf.size != n * dtype.itemsize:
        raise ChunkError(f"chunk holds {buf.size} bytes, not {n * dtype.itemsize}")
    return buf.view(dtype).reshape(shape, order=order)


def decode(raw: bytes, codecs: Codecs, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A stored chunk of `shape` elements of `dtype`."""
    try:
        if codecs.zarr_format == 2:
            return _decode_v2(raw, codecs, dtype, shape)
        return _decode_v3(raw, codecs, dtype, shape)
    except ChunkError:
        raise
    except Exception as exc:  # noqa: BLE001 - codecs fail in their own ways on bad bytes
        raise ChunkError(f"{type(exc).__name__}: {exc}") from exc


def _object_codec(config: dict[str, Any], key: str, n: int, limit: int) -> Codec:
    name = config[key]
    if name in ("pickle", "numcodecs.pickle"):
        return SafePickle(max_items=PICKLE_ITEMS_PER_ELEMENT * n + 1024)
    if name in ("vlen-utf8", "vlen-bytes", "vlen-array"):
        return _codec(config if key == "id" else {"id": name}, limit)
    raise ChunkError(f"object codec {name!r} is not read")


def _decode_v2(raw: bytes, codecs: Codecs, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    n = math.prod(shape)
    limit = _limit(dtype, n, plain=not dtype.hasobject and not codecs.filters)
    data: Any = raw
    if codecs.compressor is not None:
        data = _codec(codecs.compressor, limit).decode(data)
    for config in reversed(codecs.filters):
        if config["id"] in ("pickle", "vlen-utf8", "vlen-bytes", "vlen-array"):
            data = _object_codec(config, "id", n, limit).decode(data)
        else:
            data = _codec(config, MAX_CHUNK_BYTES).decode(data)
    return _as_array(data, dtype, shape, codecs.order)


def _decode_v3(raw: bytes, codecs: Codecs, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    n = math.prod(shape)
    to_bytes = codecs.to_bytes["name"]
    limit = _limit(dtype, n, plain=to_bytes in ("bytes", "endian") and not codecs.array)
    data: Any = raw
    for config in reversed(codecs.bytes):
        codec = _v3_bytes_codec(config, limit)
        data = checked_crc32c(bytes(data)) if codec is None else codec.decode(data)
    encoded_shape = shape
    for config in codecs.array:
        if config["name"] == "transpose":
            encoded_shape = tuple(encoded_shape[i] for i in _transpose_order(config, len(shape)))
    if to_bytes in ("vlen-utf8", "vlen-bytes"):
        arr = _as_array(_object_codec(codecs.to_bytes, "name", n, limit).decode(data), dtype,
                        encoded_shape, "C")
    else:
        arr = _as_array(data, dtype, encoded_shape, "C")
    for config in reversed(codecs.array):
        if config["name"] == "transpose":
            arr = arr.transpose(np.argsort(_transpose_order(config, len(shape))))
        else:
            settings = config.get("configuration") or {}
            codec = _numcodec(json.dumps({**settings, "id": config["name"].removeprefix("numcodecs.")},
                                         sort_keys=True))
            arr = np.asarray(codec.decode(arr)).reshape(arr.shape)
    return arr


def _transpose_order(config: dict[str, Any], ndim: int) -> list[int]:
    order = (config.get("configuration") or {}).get("order")
    if not isinstance(order, list) or sorted(order) != list(range(ndim)):
        raise ChunkError(f"transpose order {order!r}")
    return order
