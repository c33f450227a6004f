"""The data layout message (0x0008): where a dataset's bytes live.

Compact (in the object header), contiguous (one extent) or chunked, with the chunk index
that maps chunk coordinates to file extents: a version-1 B-tree (layout v1-v3) or, in layout
v4+, single chunk, implicit, fixed array, extensible array or version-2 B-tree.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from .binary import UNDEFINED, Cursor, FileContext
from .io import FormatError, Unsupported

INDEX_TYPES = {1: "single", 2: "implicit", 3: "fixed_array", 4: "extensible_array", 5: "btree2"}


class ChunkEntry(NamedTuple):
    """One stored chunk: its first element's coordinates, file extent and skipped filters."""

    offset: tuple[int, ...]  # element coordinates of the chunk's first element
    address: int
    size: int  # stored (possibly compressed) bytes
    filter_mask: int = 0  # bit i set: filter i of the pipeline was not applied


@dataclasses.dataclass(frozen=True)
class Layout:
    kind: str  # "compact" | "contiguous" | "chunked" | "virtual" (values in other files)
    address: int = UNDEFINED  # contiguous data, or the chunk index
    size: int = 0  # contiguous: bytes of data
    data: bytes = b""  # compact: the data itself
    chunk_shape: tuple[int, ...] = ()  # chunked: elements per chunk on each axis
    index: str = "btree1"  # chunked: the chunk index type
    flags: int = 0  # v4 chunked layout flags (bit 0: don't filter partial edge chunks)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)  # index parameters

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["data"] = self.data.hex()
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Layout:
        obj = dict(obj)
        obj["data"] = bytes.fromhex(obj.get("data", ""))
        obj["chunk_shape"] = tuple(obj.get("chunk_shape", ()))
        return cls(**obj)


def parse_layout(data: bytes, ctx: FileContext, rank: int) -> Layout:
    c = Cursor(data, ctx)
    version = c.u8()
    if version in (1, 2):
        return _parse_v1_v2(c, rank)
    if version not in (3, 4, 5):
        raise Unsupported(f"data layout message version {version}")
    kind = c.u8()
    if kind == 0:
        size = c.u16()
        return Layout("compact", data=c.bytes(size))
    if kind == 1:
        return Layout("contiguous", address=c.address(), size=c.length())
    if kind == 3:  # virtual: the mappings (to other files' datasets) sit in a global heap
        return Layout("virtual", address=c.address())
    if kind != 2:
        raise FormatError(f"unknown layout class {kind}")
    if version == 3:
        ndims = c.u8()
        if not ndims:  # the element size is the last dimension: there is always one
            raise FormatError("chunked layout without dimensions")
        address = c.address()
        dims = tuple(c.u32() for _ in range(ndims))
        return Layout("chunked", address=address, chunk_shape=dims[:-1], index="btree1",
                      params={"element_size": dims[-1]})
    flags = c.u8()
    ndims = c.u8()
    width = c.u8()
    if not 1 <= width <= 8:
        raise FormatError(f"chunk dimension size width {width}")
    dims = tuple(c.uint(width) for _ in range(ndims))
    index_type = c.u8()
    index = INDEX_TYPES.get(index_type)
    if index is None:
        raise FormatError(f"unknown chunk index type {index_type}")
    params: dict[str, Any] = {"element_size": dims[-1] if dims else 0, "layout_version": version}
    if index == "single" and flags & 2:
        params["filtered_size"] = c.length()
        params["filter_mask"] = c.u32()
    elif index == "fixed_array":
        params["page_bits"] = c.u8()
    elif index == "extensible_array":
        params.update(
            max_bits=c.u8(), index_elements=c.u8(), min_pointers=c.u8(),
            min_elements=c.u8(), page_bits=c.u8(),
        )
    elif index == "btree2":
        params.update(node_size=c.u32(), split_percent=c.u8(), merge_percent=c.u8())
    address = c.address()
    return Layout("chunked", address=address, chunk_shape=dims[:-1], index=index, flags=flags,
                  params=params)


def _parse_v1_v2(c: Cursor, rank: int) -> Layout:
    ndims = c.u8()
    kind = c.u8()
    c.skip(5)
    address = c.address() if kind != 0 else UNDEFINED
    dims = tuple(c.u32() for _ in range(ndims))
    if kind == 2:
        element_size = c.u32()
        return Layout("chunked", address=address, chunk_shape=dims[:-1] if len(dims) > rank else dims,
                      index="btree1", params={"element_size": element_size})
    if kind == 1:
        return Layout("contiguous", address=address, size=-1)  # size: from shape x itemsize
    size = c.u32()
    return Layout("compact", data=c.bytes(size))
