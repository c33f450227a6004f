"""One object header -> what it is: a group (links) or a dataset (shape, type, layout,
filters), plus its attributes, each decoded.

Attribute values that are object references come back as `Ref(address)`: the walker turns
them into paths once it knows every object's address.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from .binary import UNDEFINED, Cursor, FileContext
from .btree2 import records
from .datatypes import H5Type, parse_dataspace, parse_datatype_message
from .fractal_heap import read_header, resolve
from .io import FormatError, Parser, gather
from .layout import Layout, parse_layout
from .messages import (
    ATTRIBUTE,
    ATTRIBUTE_INFO,
    DATASPACE,
    DATATYPE,
    EXTERNAL_FILES,
    FILL,
    FILTERS,
    LAYOUT,
    LINK,
    LINK_INFO,
    SHARED_FLAG,
    SYMBOL_TABLE,
    Filter,
    Link,
    RawAttribute,
    parse_attribute,
    parse_attribute_info,
    parse_filters,
    parse_link,
    parse_link_info,
    parse_symbol_table,
    shared_address,
)
from .objheader import Message, read_object_header
from .symbols import symbol_table_links
from .values import decode_array


class Ref(NamedTuple):
    """An object reference found in an attribute, resolved to a path after the walk."""

    address: int


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    shape: tuple[int, ...] | None  # None: null dataspace
    maxshape: tuple[int | None, ...] | None
    type: H5Type
    layout: Layout
    filters: tuple[Filter, ...] = ()
    fill: bytes | None = None  # the fill value's bytes, when one is defined
    raw: tuple[bytes, ...] = ()  # (dataspace, datatype, layout, filters, fill, external) bytes
    outside: str | None = None  # why its values lie outside the file (never read), if they do


@dataclasses.dataclass
class ObjectInfo:
    address: int
    attrs: dict[str, Any]
    links: list[Link] | None = None  # groups
    dataset: DatasetInfo | None = None  # datasets (neither: a committed datatype)

    @property
    def is_datatype(self) -> bool:
        return self.links is None and self.dataset is None


Messages = dict[int, list[Message]]


def read_structure(ctx: FileContext, address: int) -> Parser[tuple[ObjectInfo, Messages]]:
    """The object at `address` without its attributes: a group's links or a dataset's
    description, plus its messages (for `read_attributes`). Walks start the children as
    soon as this is known, while the attributes are still being decoded."""
    messages = yield from read_object_header(ctx, address)
    by_type: Messages = {}
    for m in messages:
        by_type.setdefault(m.type, []).append(m)
    if LAYOUT in by_type:
        return ObjectInfo(address, {}, dataset=(yield from _dataset(ctx, by_type))), by_type
    if DATATYPE in by_type and not (SYMBOL_TABLE in by_type or LINK in by_type or LINK_INFO in by_type):
        return ObjectInfo(address, {}), by_type  # a committed datatype
    return ObjectInfo(address, {}, links=(yield from _links(ctx, by_type))), by_type


def _links(ctx: FileContext, by_type: dict[int, list[Message]]) -> Parser[list[Link]]:
    if SYMBOL_TABLE in by_type:
        btree, heap = parse_symbol_table(by_type[SYMBOL_TABLE][0].data, ctx)
        links = yield from symbol_table_links(ctx, btree, heap)
        return links
    links = [parse_link(m.data, ctx) for m in by_type.get(LINK, [])]
    if LINK_INFO in by_type:
        heap, name_index = parse_link_info(by_type[LINK_INFO][0].data, ctx)
        if heap != UNDEFINED and name_index != UNDEFINED:
            raw = yield from _dense(ctx, heap, name_index, record_id=lambda r: r[4:])
            links.extend(parse_link(data, ctx) for data in raw)
    return sorted(links, key=lambda link: link.name.encode("utf-8"))


def _dense(ctx: FileContext, heap: int, name_index: int, record_id) -> Parser[list[bytes]]:  # noqa: ANN001
    """The objects a dense (fractal heap + v2 B-tree) index lists: the tree and the heap's
    header are read side by side."""
    (_, recs), header = yield from gather([records(ctx, name_index), read_header(ctx, heap)])
    objects = yield from resolve(ctx, header, [record_id(r) for r in recs])
    return objects


def has_attributes(by_type: Messages) -> bool:
    """Whether an object's messages hold or index any attribute (most datasets hold none)."""
    return ATTRIBUTE in by_type or ATTRIBUTE_INFO in by_type


def read_attributes(ctx: FileContext, by_type: Messages) -> Parser[dict[str, Any]]:
    """An object's attributes (compact and dense), decoded; references as `Ref`."""
    raws = [parse_attribute(m.data, ctx) for m in by_type.get(ATTRIBUTE, [])]
    if ATTRIBUTE_INFO in by_type:
        heap, name_index = parse_attribute_info(by_type[ATTRIBUTE_INFO][0].data, ctx)
        if heap != UNDEFINED and name_index != UNDEFINED:
            dense = yield from _dense(ctx, heap, name_index, record_id=lambda r: r[:8])
            raws.extend(parse_attribute(data, ctx) for data in dense)
    shared = [r for r in raws if r.type is None]
    if shared:
        types = yield from gather([_committed_type(ctx, r.shared_type) for r in shared])
        resolved = dict(zip((id(r) for r in shared), types))
        raws = [dataclasses.replace(r, type=resolved[id(r)]) if r.type is None else r for r in raws]
    values = yield from gather([_attribute_value(ctx, r) for r in raws])
    return {r.name: v for r, v in zip(raws, values)}


def _attribute_value(ctx: FileContext, raw: RawAttribute) -> Parser[Any]:
    assert raw.type is not None
    if raw.shape is None:
        return None
    arr = yield from decode_array(ctx, raw.type, raw.data, raw.shape, Ref, exact=False)
    return plain(arr[()] if raw.shape == () else arr)


def plain(value: Any) -> Any:
    """A decoded attribute value as plain Python data, as our h5py backend reports it."""
    if isinstance(value, Ref | str) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.void) and value.dtype.names:
        return {n: plain(value[n]) for n in value.dtype.names}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OSUV":
            return [plain(v) for v in (value.tolist() if value.dtype.kind != "V" else list(value))]
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _committed_type_bytes(ctx: FileContext, address: int) -> Parser[bytes]:
    messages = yield from read_object_header(ctx, address)
    for m in messages:
        if m.type == DATATYPE:
            return m.data
    raise FormatError("committed datatype without a datatype message")


def _committed_type(ctx: FileContext, address: int) -> Parser[H5Type]:
    data = yield from _committed_type_bytes(ctx, address)
    return parse_datatype_message(data, ctx)


def _dataset(ctx: FileContext, by_type: dict[int, list[Message]]) -> Parser[DatasetInfo]:
    if DATASPACE not in by_type or DATATYPE not in by_type:
        raise FormatError("dataset without dataspace or datatype")
    shape, maxshape = parse_dataspace(by_type[DATASPACE][0].data, ctx)
    type_message = by_type[DATATYPE][0]
    type_bytes = type_message.data
    if type_message.flags & SHARED_FLAG:
        type_bytes = yield from _committed_type_bytes(ctx, shared_address(type_bytes, ctx))
    raw = (
        by_type[DATASPACE][0].data,
        type_bytes,
        by_type[LAYOUT][0].data,
        by_type[FILTERS][0].data if FILTERS in by_type else b"",
        by_type[FILL][0].data if FILL in by_type else b"",
        by_type[EXTERNAL_FILES][0].data if EXTERNAL_FILES in by_type else b"",
    )
    return dataset_info(ctx, raw)


EXTERNAL_STORAGE = "its values are stored in other files (HDF5 external raw storage)"
VIRTUAL = "it is a virtual dataset (its values are mapped from other files)"


def dataset_info(ctx: FileContext, raw: tuple[bytes, ...]) -> DatasetInfo:
    """A dataset's description from its messages' bytes (also how a stored catalog is
    loaded back)."""
    space, type_bytes, layout_bytes, filter_bytes, fill_bytes, external = (*raw, b"")[:6]
    shape, maxshape = parse_dataspace(space, ctx)
    h5type = parse_datatype_message(type_bytes, ctx)
    layout = parse_layout(layout_bytes, ctx, len(shape or ()))
    filters = parse_filters(filter_bytes, ctx) if filter_bytes else ()
    fill = _fill_value(fill_bytes, h5type.size) if fill_bytes else None
    outside = EXTERNAL_STORAGE if external else VIRTUAL if layout.kind == "virtual" else None
    return DatasetInfo(shape, maxshape, h5type, layout, filters, fill, raw, outside)


def _fill_value(data: bytes, size: int) -> bytes | None:
    try:
        c = Cursor(data, FileContext())
        version = c.u8()
        if version in (1, 2):
            c.skip(2)
            defined = c.u8()
            if not defined:
                return None
            n = c.u32()
            return c.bytes(n) if n == size else None
        flags = c.u8()
        if not flags & 0x20:
            return None
        n = c.u32()
        return c.bytes(n) if n == size else None
    except FormatError:
        return None
