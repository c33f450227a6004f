"""Chunk filters, undone in reverse pipeline order: deflate, shuffle, fletcher32, and
blosc / zstd / lz4 with numcodecs' codecs."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from ..compressed_size import declared_size
from .io import FormatError, Unsupported
from .messages import Filter

DEFLATE, SHUFFLE, FLETCHER32, SZIP, NBIT, SCALEOFFSET = 1, 2, 3, 4, 5, 6
LZF, BLOSC, LZ4, ZSTD = 32000, 32001, 32004, 32015
NAMES = {DEFLATE: "gzip", SHUFFLE: "shuffle", FLETCHER32: "fletcher32", SZIP: "szip",
         SCALEOFFSET: "scaleoffset", LZF: "lzf"}
COMPRESSION = {DEFLATE: "gzip", SZIP: "szip", LZF: "lzf"}
# Bytes one decoded chunk may hold here (256 MiB; HDF5 allows 4 GiB): a larger chunk is left
# to libhdf5, so a hostile one declaring gigabytes never makes the engine allocate them.
MAX_CHUNK = 1 << 28


def supported(pipeline: Sequence[Filter]) -> bool:
    return all(f.id in (DEFLATE, SHUFFLE, FLETCHER32, BLOSC, ZSTD, LZ4) for f in pipeline)


def h5py_names(pipeline: Sequence[Filter]) -> tuple[str, ...]:
    """The keys h5py lists in Dataset._filters."""
    return tuple(NAMES.get(f.id, str(f.id)) for f in pipeline)


def compression(pipeline: Sequence[Filter]) -> str | None:
    """What h5py's Dataset.compression says: gzip / szip / lzf, 'unknown' for a plugin's
    filter (blosc, zstd, lz4, ...), else None."""
    for f in pipeline:
        if f.id in COMPRESSION:
            return COMPRESSION[f.id]
    if any(f.id not in (SHUFFLE, FLETCHER32, SCALEOFFSET) for f in pipeline):
        return "unknown"
    return None


def _inflate(data: bytes, limit: int) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, limit + 1)
    if len(out) > limit:
        raise FormatError(f"a chunk inflates beyond its size ({limit} bytes)")
    return out


def _unshuffle(data: bytes, itemsize: int) -> bytes:
    if itemsize <= 1 or len(data) < itemsize:
        return data
    n = len(data) // itemsize
    body = np.frombuffer(data, dtype=np.uint8, count=n * itemsize).reshape(itemsize, n)
    return body.T.tobytes() + data[n * itemsize :]


def undo(data: bytes, pipeline: Sequence[Filter], mask: int, chunk_bytes: int) -> bytes:
    """A stored chunk's bytes -> its raw element bytes (`chunk_bytes` long)."""
    if chunk_bytes > MAX_CHUNK:
        raise Unsupported(f"chunks of {chunk_bytes} bytes")
    for i in reversed(range(len(pipeline))):
        if mask & (1 << i):
            continue
        f = pipeline[i]
        if f.id == DEFLATE:
            try:
                data = _inflate(data, chunk_bytes)
            except zlib.error as exc:
                raise FormatError(f"deflate: {exc}") from exc
        elif f.id == SHUFFLE:
            data = _unshuffle(data, f.values[0] if f.values else 1)
        elif f.id == FLETCHER32:
            data = data[:-4]
        elif f.id in (BLOSC, ZSTD):
            data = _numcodecs(f.id, data, chunk_bytes)
        elif f.id == LZ4:
            data = _lz4(data, chunk_bytes)
        else:
            raise Unsupported(f"filter {NAMES.get(f.id, f.id)}")
    return data


def _numcodecs(fid: int, data: bytes, limit: int) -> bytes:
    try:
        import numcodecs
    except ImportError as exc:  # pragma: no cover - numcodecs is a dependency
        raise Unsupported("numcodecs is not installed") from exc
    name = "blosc" if fid == BLOSC else "zstd"
    declared = declared_size(name, data)
    if declared is not None and declared > limit:  # checked before the codec allocates it
        raise FormatError(f"a {name} chunk declares {declared} bytes, more than its {limit}")
    codec = numcodecs.Blosc() if fid == BLOSC else numcodecs.Zstd()
    try:
        out = bytes(codec.decode(data))
    except Exception as exc:  # noqa: BLE001 - the codec's own errors vary
        raise FormatError(f"{name}: {exc}") from exc
    if len(out) > limit:
        raise FormatError("a chunk decompresses beyond its size")
    return out


def _lz4(data: bytes, limit: int) -> bytes:
    """HDF5's LZ4 filter (32004, as hdf5plugin writes it): the total size (8 bytes) and the
    block size (4 bytes), big-endian, then per block its stored size (4 bytes, big-endian)
    and its bytes: LZ4-compressed, or as they were when compressing did not shrink them.
    Each block goes through numcodecs' LZ4, given the little-endian size header it expects."""
    import numcodecs

    if len(data) < 12:
        raise FormatError(f"an lz4 chunk of {len(data)} bytes, shorter than its header")
    total, block = int.from_bytes(data[:8], "big"), int.from_bytes(data[8:12], "big")
    if total > limit:  # checked before anything is allocated
        raise FormatError(f"an lz4 chunk declares {total} bytes, more than its {limit}")
    if total and not block:
        raise FormatError("an lz4 chunk of blocks of 0 bytes")
    codec, out, pos = numcodecs.LZ4(), bytearray(), 12
    while len(out) < total:
        n = min(block, total - len(out))
        stored = int.from_bytes(data[pos : pos + 4], "big")
        piece = data[pos + 4 : pos + 4 + stored]
        pos += 4 + stored
        if len(piece) != stored:
            raise FormatError("an lz4 chunk cut short")
        if stored == n:
            out += piece
            continue
        try:
            decoded = bytes(codec.decode(n.to_bytes(4, "little") + piece))
        except Exception as exc:  # noqa: BLE001 - the codec's own errors vary
            raise FormatError(f"lz4: {exc}") from exc
        if len(decoded) != n:
            raise FormatError(f"an lz4 block gave {len(decoded)} bytes, not {n}")
        out += decoded
    return bytes(out)
