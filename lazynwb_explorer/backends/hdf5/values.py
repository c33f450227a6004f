"""Raw element bytes -> numpy arrays as h5py returns them (decoded as our backends promise).

Variable-length strings and sequences live in global heap collections: every collection
the elements point to is fetched in one step. Object references become the referenced
object's path through `ref_name`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

import numpy as np

from .binary import FileContext
from .datatypes import H5Type
from .globalheap import read_collections
from .io import FormatError, Parser, Unsupported

RefName = Callable[[int], object]  # an address -> its path (None: gone), or a Ref for the walker


def _heap_ids(ctx: FileContext, raw: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    """(lengths, collection addresses, object indexes) of vlen elements stored as V16 etc.,
    as lists: every caller walks them element by element."""
    n = raw.size
    o = ctx.offset_size
    head = _HEAP_IDS.get(o)
    if n <= 64 and head is not None and raw.dtype.itemsize == head.size:
        # attributes and small fields: a few values, where numpy's per-call cost dominates
        rows = list(head.iter_unpack(np.ascontiguousarray(raw).tobytes())) if n else []
        return (
            [r[0] for r in rows],
            # as below: an address past 2**63 (hostile) wraps like an int64, never overflows
            [(r[1] - (1 << 64) if r[1] >> 63 else r[1]) + ctx.base for r in rows],
            [r[2] for r in rows],
        )
    buf = np.ascontiguousarray(raw).view(np.uint8).reshape(n, -1)
    lengths = buf[:, 0:4].copy().view("<u4").reshape(n)
    addr = np.zeros(n, dtype=np.uint64)
    for k in range(o):
        addr |= buf[:, 4 + k].astype(np.uint64) << np.uint64(8 * k)
    index = buf[:, 4 + o : 8 + o].copy().view("<u4").reshape(n)
    return lengths.tolist(), (addr.astype(np.int64) + ctx.base).tolist(), index.tolist()


# a vlen element: its length (4 bytes), then the global heap ID (collection address, index)
_HEAP_IDS = {n: struct.Struct(f"<I{code}I") for n, code in ((2, "H"), (4, "I"), (8, "Q"))}


def _vlen_addresses(ctx: FileContext, h5type: H5Type, arr: np.ndarray) -> set[int]:
    if h5type.kind in ("vlen_string", "vlen"):
        lengths, addrs, _ = _heap_ids(ctx, arr.reshape(-1))
        return {a for a, n in zip(addrs, lengths) if n}
    if h5type.kind == "compound":
        out: set[int] = set()
        for name, _, member in h5type.fields:
            out |= _vlen_addresses(ctx, member, arr[name])
        return out
    return set()


def decode_array(
    ctx: FileContext, h5type: H5Type, raw: bytes, shape: tuple[int, ...], ref_name: RefName,
    exact: bool = True,
) -> Parser[np.ndarray]:
    """The elements in `raw` (C order) as an array of `shape`, decoded like h5py (`exact`:
    fetch string heaps as data, not as cached metadata blocks)."""
    count = math.prod(shape)
    if len(raw) < count * h5type.size:
        raise FormatError(f"{len(raw)} bytes for {count} elements of {h5type.size} bytes")
    arr = np.frombuffer(raw, dtype=h5type.storage, count=count).reshape(shape)
    if not h5type.needs_decoding:
        return arr.astype(bool) if h5type.is_bool else arr.copy()
    if h5type.kind in ("vlen_string", "vlen"):  # most values: heap IDs unpacked once
        ids = _heap_ids(ctx, arr.reshape(-1))
        addresses = {a for a, n in zip(ids[1], ids[0]) if n}
        heaps = (yield from read_collections(ctx, addresses, exact)) if addresses else {}
        return _decode_vlen(ctx, h5type, arr, heaps, ref_name, ids)
    addresses = _vlen_addresses(ctx, h5type, arr)
    heaps = (yield from read_collections(ctx, addresses, exact)) if addresses else {}
    return _decode(ctx, h5type, arr, heaps, ref_name)


def _decode(ctx: FileContext, h5type: H5Type, arr: np.ndarray, heaps: dict, ref_name: RefName) -> np.ndarray:
    if h5type.kind == "reference":
        out = np.empty(arr.shape, dtype=object)
        flat = out.reshape(-1)
        for i, a in enumerate(arr.reshape(-1).tolist()):
            flat[i] = ref_name(int(a) + ctx.base) if a not in (0, (1 << 64) - 1) else None
        return out
    if h5type.kind in ("vlen_string", "vlen"):
        return _decode_vlen(ctx, h5type, arr, heaps, ref_name)
    if h5type.kind == "string":
        out = np.empty(arr.shape, dtype=object)
        out.reshape(-1)[:] = [v.decode("utf-8", "replace") for v in arr.reshape(-1).tolist()]
        return out
    if h5type.kind == "compound":
        columns = {name: _decode(ctx, member, arr[name], heaps, ref_name)
                   for name, _, member in h5type.fields}
        out = np.empty(arr.shape, dtype=h5type.decoded)
        for name, column in columns.items():
            out[name] = column
        return out
    if h5type.kind == "region":
        raise Unsupported("region references")
    if h5type.kind == "array":
        raise Unsupported("arrays of variable-length data")
    return arr.astype(bool) if h5type.is_bool else arr.copy()


def _decode_vlen(
    ctx: FileContext, h5type: H5Type, arr: np.ndarray, heaps: dict, ref_name: RefName,
    ids: tuple[list[int], list[int], list[int]] | None = None,
) -> np.ndarray:
    lengths, addrs, indexes = _heap_ids(ctx, arr.reshape(-1)) if ids is None else ids
    out = np.empty(arr.shape, dtype=object)
    flat = out.reshape(-1)
    base = h5type.base
    for i, (n, a, k) in enumerate(zip(lengths, addrs, indexes)):
        if n == 0:
            data = b""
        else:
            collection = heaps.get(a)
            obj = collection.get(k) if collection is not None else None
            if obj is None:
                raise FormatError(f"global heap object {k} missing at {a}")
            data = obj
        if h5type.kind == "vlen_string":
            flat[i] = data[:n].decode("utf-8", "replace")
        else:
            if base is None or len(data) < n * base.size:
                raise FormatError("variable-length sequence shorter than its length")
            if base.needs_decoding:
                raise Unsupported("nested variable-length data")
            flat[i] = np.frombuffer(data, dtype=base.storage, count=n).copy()
    return out
