"""Zarr array metadata, v2 (`.zarray`) and v3 (`zarr.json`), as one `ArraySpec`.

An ArraySpec says everything a read needs and nothing about where the array lives: shape,
the chunk grid the store's keys follow (a shard's shape when the array is sharded), the
element type, how a key is spelled, and the codec chain that decodes one stored chunk (an
inner chunk of a shard). Hostile metadata is refused here, before anything is allocated:
shapes and chunks must be non-negative integers of one rank, no more than MAX_ELEMENTS
elements in all and MAX_CHUNK_BYTES in one decoded chunk; key separators are '.' or '/'.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import numpy as np

from .codecs import MAX_CHUNK_BYTES
from .dtypes import fill_value, v2_dtype, v3_dtype

MAX_ELEMENTS = 1 << 48  # as the HDF5 engine: an array declaring more is hostile, not data
MAX_RANK = 32
OBJECT_CODECS = ("vlen-utf8", "vlen-bytes", "vlen-array", "pickle", "json", "json2", "msgpack2")
# v3 codecs by what they turn into what (numcodecs' own codecs are named "numcodecs.<id>")
_ARRAY_TO_ARRAY = {"transpose", "numcodecs.delta", "numcodecs.fixedscaleoffset", "numcodecs.quantize",
                   "numcodecs.bitround", "numcodecs.astype", "numcodecs.packbits"}
_ARRAY_TO_BYTES = {"bytes", "endian", "vlen-utf8", "vlen-bytes", "sharding_indexed"}
_MISSING = 2**64 - 1  # a shard index entry of an inner chunk that was never written


class MetadataError(ValueError):
    """Metadata that does not describe a readable array; the message says which field."""


@dataclasses.dataclass(frozen=True)
class Codecs:
    """How one stored chunk decodes. v2: `filters` then `compressor` were applied on write,
    `order` is the element order. v3: `array` (array->array), `to_bytes` (the one
    array->bytes codec) and `bytes` (bytes->bytes) were applied in that order."""

    zarr_format: int
    compressor: dict[str, Any] | None = None
    filters: tuple[dict[str, Any], ...] = ()
    order: Literal["C", "F"] = "C"
    array: tuple[dict[str, Any], ...] = ()
    to_bytes: dict[str, Any] = dataclasses.field(default_factory=dict)
    bytes: tuple[dict[str, Any], ...] = ()

    def names(self) -> tuple[str, ...]:
        if self.zarr_format == 2:
            return tuple(f["id"] for f in self.filters)
        return tuple(c["name"] for c in (*self.array, self.to_bytes, *self.bytes))

    def compression(self) -> str | None:
        if self.zarr_format == 2:
            return self.compressor["id"] if self.compressor else None
        return self.bytes[0]["name"].removeprefix("numcodecs.") if self.bytes else None


@dataclasses.dataclass(frozen=True)
class ShardLayout:
    """`sharding_indexed`: each stored object holds `per_shard` inner chunks of `inner`
    elements, located by an index of (offset, nbytes) little-endian uint64 pairs at the
    object's end (or start), followed by a crc32c of the index when `checksum`."""

    inner: tuple[int, ...]
    per_shard: tuple[int, ...]
    codecs: Codecs
    at_end: bool = True
    checksum: bool = True

    @property
    def count(self) -> int:
        return math.prod(self.per_shard)

    @property
    def index_nbytes(self) -> int:
        return 16 * self.count + (4 if self.checksum else 0)


@dataclasses.dataclass(frozen=True)
class ArraySpec:
    zarr_format: int
    shape: tuple[int, ...]
    chunks: tuple[int, ...]  # the grid of stored objects (shards, when sharded)
    dtype: np.dtype  # elements in memory: object for variable-length strings / bytes / pickles
    fill: Any
    codecs: Codecs  # decodes one stored chunk, or one inner chunk of a shard
    separator: str = "."
    prefix: str = ""  # v3 'default' key encoding: 'c'
    object_codec: str | None = None  # for object arrays: vlen-utf8, vlen-bytes, pickle, ...
    shard: ShardLayout | None = None
    storage: str = ""  # how the elements are stored, for display

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def read_chunks(self) -> tuple[int, ...]:
        """The shape of the smallest unit a read fetches (an inner chunk when sharded)."""
        return self.shard.inner if self.shard else self.chunks

    def key(self, coords: tuple[int, ...]) -> str:
        """The store key (below the array) of the stored object at grid `coords`."""
        if self.prefix:
            return self.separator.join((self.prefix, *map(str, coords)))
        return self.separator.join(map(str, coords)) if coords else "0"


def _ints(value: Any, what: str, minimum: int) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > MAX_RANK:
        raise MetadataError(f"{what} {value!r} is not a list of integers")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= minimum for n in value):
        raise MetadataError(f"{what} {value!r} is not a list of integers >= {minimum}")
    return tuple(value)


def _check_sizes(shape: tuple[int, ...], chunks: tuple[int, ...], dtype: np.dtype) -> None:
    if len(chunks) != len(shape):
        raise MetadataError(f"chunks {list(chunks)} do not match shape {list(shape)}")
    itemsize = 8 if dtype.kind == "O" else dtype.itemsize
    if math.prod(shape) > MAX_ELEMENTS or math.prod(chunks) * itemsize > MAX_CHUNK_BYTES:
        raise MetadataError(
            f"array of shape {list(shape)} in chunks of {list(chunks)} ({dtype}): more than "
            f"{MAX_ELEMENTS} elements or {MAX_CHUNK_BYTES} bytes per chunk"
        )


def _codec_config(value: Any, what: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get(key), str):
        raise MetadataError(f"{what} {value!r} is not a codec")
    return value


def parse_v2(doc: Any) -> ArraySpec:
    """A `.zarray` document."""
    if not isinstance(doc, dict) or doc.get("zarr_format") != 2:
        raise MetadataError("not a Zarr v2 array (.zarray with zarr_format 2)")
    shape = _ints(doc.get("shape"), "shape", 0)
    chunks = _ints(doc.get("chunks"), "chunks", 1)
    try:
        dtype = v2_dtype(doc.get("dtype"))
    except (ValueError, TypeError) as exc:
        raise MetadataError(f"unknown dtype {doc.get('dtype')!r}") from exc
    _check_sizes(shape, chunks, dtype)
    compressor = doc.get("compressor")
    if compressor is not None:
        compressor = _codec_config(compressor, "compressor", "id")
    filters = doc.get("filters") or []
    if not isinstance(filters, list):
        raise MetadataError(f"filters {filters!r} is not a list")
    filters = tuple(_codec_config(f, "filter", "id") for f in filters)
    order = doc.get("order", "C")
    separator = doc.get("dimension_separator") or "."
    if order not in ("C", "F") or separator not in (".", "/"):
        raise MetadataError(f"order {order!r} / dimension_separator {separator!r}")
    object_codec = None
    if dtype.hasobject:
        object_codec = next((f["id"] for f in filters if f["id"] in OBJECT_CODECS), None)
        if object_codec is None:
            raise MetadataError("an object array without an object codec (vlen-utf8, pickle, ...)")
    storage = f"object[{','.join(f['id'] for f in filters)}]" if dtype.kind == "O" else dtype.str
    return ArraySpec(
        zarr_format=2, shape=shape, chunks=chunks, dtype=dtype,
        fill=fill_value(dtype, doc.get("fill_value")),
        codecs=Codecs(2, compressor=compressor, filters=filters, order=order),
        separator=separator, object_codec=object_codec, storage=storage,
    )


def _split_chain(chain: Any) -> Codecs:
    if not isinstance(chain, list) or not chain:
        raise MetadataError(f"codecs {chain!r} is not a list of codecs")
    codecs = [_codec_config(c, "codec", "name") for c in chain]
    names = [c["name"] for c in codecs]
    to_bytes = [i for i, n in enumerate(names) if n in _ARRAY_TO_BYTES]
    if len(to_bytes) != 1 or any(n not in _ARRAY_TO_ARRAY for n in names[: to_bytes[0]]):
        raise MetadataError(f"codecs {names}: not one array->bytes codec after array->array ones")
    i = to_bytes[0]
    return Codecs(3, array=tuple(codecs[:i]), to_bytes=codecs[i], bytes=tuple(codecs[i + 1 :]))


def _endian(codecs: Codecs) -> str:
    config = codecs.to_bytes.get("configuration") or {}
    return ">" if isinstance(config, dict) and config.get("endian") == "big" else "<"


def _shard_layout(config: Any, chunks: tuple[int, ...]) -> ShardLayout:
    if not isinstance(config, dict):
        raise MetadataError("sharding_indexed without a configuration")
    inner = _ints(config.get("chunk_shape"), "inner chunk_shape", 1)
    if len(inner) != len(chunks) or any(c % i for c, i in zip(chunks, inner)):
        raise MetadataError(f"inner chunks {list(inner)} do not divide shards {list(chunks)}")
    codecs = _split_chain(config.get("codecs"))
    if codecs.to_bytes["name"] == "sharding_indexed":
        raise MetadataError("nested sharding is not read")
    index = config.get("index_codecs", [{"name": "bytes"}, {"name": "crc32c"}])
    index_names = [c.get("name") if isinstance(c, dict) else c for c in index] if isinstance(index, list) else index
    if index_names not in (["bytes"], ["bytes", "crc32c"]):
        raise MetadataError(f"shard index codecs {index_names!r} are not read (bytes, crc32c)")
    if _endian(_split_chain(index)) != "<":
        raise MetadataError("a big-endian shard index is not read")
    location = config.get("index_location", "end")
    if location not in ("end", "start"):
        raise MetadataError(f"index_location {location!r}")
    per_shard = tuple(c // i for c, i in zip(chunks, inner))
    if 16 * math.prod(per_shard) > MAX_CHUNK_BYTES:
        raise MetadataError(f"a shard index of {math.prod(per_shard)} inner chunks")
    return ShardLayout(inner, per_shard, codecs, at_end=location == "end", checksum="crc32c" in index_names)


def parse_v3(doc: Any) -> ArraySpec:
    """An array's `zarr.json` document (or its entry in consolidated metadata)."""
    if not isinstance(doc, dict) or doc.get("zarr_format") != 3 or doc.get("node_type") != "array":
        raise MetadataError("not a Zarr v3 array (zarr.json with node_type 'array')")
    if doc.get("storage_transformers"):
        raise MetadataError("storage transformers are not read")
    shape = _ints(doc.get("shape"), "shape", 0)
    grid = doc.get("chunk_grid")
    if not isinstance(grid, dict) or grid.get("name") != "regular":
        raise MetadataError(f"chunk grid {grid!r} is not a regular grid")
    chunks = _ints((grid.get("configuration") or {}).get("chunk_shape"), "chunk_shape", 1)
    if len(chunks) != len(shape):
        raise MetadataError(f"chunks {list(chunks)} do not match shape {list(shape)}")
    encoding = doc.get("chunk_key_encoding") or {"name": "default"}
    name = encoding.get("name") if isinstance(encoding, dict) else None
    separator = ((encoding.get("configuration") or {}) if isinstance(encoding, dict) else {}).get(
        "separator", "/" if name == "default" else "."
    )
    if name not in ("default", "v2") or separator not in (".", "/"):
        raise MetadataError(f"chunk_key_encoding {encoding!r}")
    codecs = _split_chain(doc.get("codecs"))
    shard = None
    if codecs.to_bytes["name"] == "sharding_indexed":
        shard = _shard_layout(codecs.to_bytes.get("configuration"), chunks)
        if codecs.array or codecs.bytes:
            raise MetadataError("codecs around sharding_indexed are not read")
    decoding = shard.codecs if shard else codecs
    try:
        dtype, variable = v3_dtype(doc.get("data_type"), _endian(decoding))
    except (ValueError, TypeError) as exc:
        raise MetadataError(f"unknown data type {doc.get('data_type')!r}") from exc
    if variable is not None and decoding.to_bytes["name"] != variable:
        raise MetadataError(f"data type {doc.get('data_type')!r} stored with {decoding.to_bytes['name']}")
    _check_sizes(shape, shard.inner if shard else chunks, dtype)
    storage = doc["data_type"] if isinstance(doc["data_type"], str) else str(dtype)
    return ArraySpec(
        zarr_format=3, shape=shape, chunks=chunks, dtype=dtype,
        fill=fill_value(dtype, doc.get("fill_value")), codecs=codecs if shard is None else shard.codecs,
        separator=separator, prefix="c" if name == "default" else "", object_codec=variable,
        shard=shard, storage=storage,
    )


def shard_entries(index: bytes, layout: ShardLayout) -> np.ndarray:
    """The (offset, nbytes) pairs of a shard's inner chunks, shape (*per_shard, 2), uint64;
    a missing inner chunk is (2^64-1, 2^64-1). The crc32c is checked by the caller."""
    entries = np.frombuffer(index, dtype="<u8", count=2 * layout.count)
    return entries.reshape((*layout.per_shard, 2))


def is_missing(entry: np.ndarray) -> bool:
    return int(entry[0]) == _MISSING and int(entry[1]) == _MISSING
