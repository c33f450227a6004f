"""Datatype (0x0003) and dataspace (0x0001) messages -> numpy dtypes and shapes.

`H5Type.storage` is how one element sits in the file (numpy dtype with the file's byte
order and offsets); `H5Type.decoded` is what callers see, following h5py: strings and
references become objects, a FALSE/TRUE enum becomes bool, variable-length data objects.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from .binary import UNDEFINED, Cursor, FileContext, bytes_needed
from .io import FormatError, Unsupported

MAX_RANK = 32
MAX_MEMBERS = 4096
MAX_ELEMENTS = 1 << 48  # a dataspace bigger than this is hostile, not data


@dataclasses.dataclass(frozen=True)
class H5Type:
    """One datatype. Immutable and shared (parse_datatype_message keeps them), so what is
    derived from it is computed once (cached properties)."""

    kind: str  # int float string vlen_string vlen reference region enum compound array opaque
    size: int
    storage: np.dtype
    fields: tuple[tuple[str, int, H5Type], ...] = ()  # compound: (name, offset, type)
    base: H5Type | None = None  # enum, array, vlen
    dims: tuple[int, ...] = ()  # array
    enum: tuple[tuple[str, int], ...] = ()

    @property
    def is_string(self) -> bool:
        return self.kind in ("string", "vlen_string")

    @property
    def is_reference(self) -> bool:
        """An object or a region reference (h5py's check_ref_dtype says so for both)."""
        return self.kind in ("reference", "region")

    @functools.cached_property
    def needs_decoding(self) -> bool:
        """True when raw storage is not what callers get (heap strings, refs, compounds of those)."""
        if self.kind in ("string", "vlen_string", "vlen", "reference", "region"):
            return True
        if self.kind == "compound":
            return any(t.needs_decoding for _, _, t in self.fields)
        if self.kind == "array" and self.base is not None:
            return self.base.needs_decoding
        return False

    @functools.cached_property
    def has_references(self) -> bool:
        """References (object or region) anywhere in it."""
        if self.kind in ("reference", "region"):
            return True
        return any(m.has_references for _, _, m in self.fields) or (
            self.base is not None and self.base.has_references
        )

    @functools.cached_property
    def decoded(self) -> np.dtype:
        if self.kind in ("string", "vlen_string", "vlen", "reference", "region"):
            return np.dtype(object)
        if self.kind == "enum" and self.is_bool:
            return np.dtype(bool)
        if self.kind == "compound":
            return np.dtype({
                "names": [n for n, _, _ in self.fields],
                "formats": [t.decoded for _, _, t in self.fields],
                "offsets": [o for _, o, _ in self.fields],
                "itemsize": self.size,
            }) if not self.needs_decoding else np.dtype([(n, t.decoded) for n, _, t in self.fields])
        return self.storage

    @functools.cached_property
    def is_bool(self) -> bool:
        return self.kind == "enum" and self.size == 1 and dict(self.enum) == {"FALSE": 0, "TRUE": 1}

    @functools.cached_property
    def display(self) -> str:
        """h5py's dtype.str for this type ('vlen str' for variable-length strings)."""
        if self.kind == "vlen_string":
            return "vlen str"
        if self.kind == "string":
            return self.storage.str
        if self.kind in ("vlen", "reference", "region"):
            return "|O"
        if self.kind == "compound" and self.needs_decoding:
            return self.decoded.str
        return self.decoded.str


def parse_datatype(c: Cursor, depth: int = 0) -> H5Type:
    if depth > 8:
        raise FormatError("datatype nested too deeply")
    start = c.pos
    b0 = c.u8()
    cls, version = b0 & 0x0F, b0 >> 4
    bits = c.uint(3)
    size = c.u32()
    if size == 0 and cls not in (9,) or size > 1 << 24:
        raise FormatError(f"datatype of {size} bytes")
    order = ">" if bits & 1 else "<"
    if cls in (0, 4):  # fixed point, bitfield
        c.skip(4)
        if size not in (1, 2, 4, 8):
            raise Unsupported(f"{size}-byte integers")
        kind = "i" if (cls == 0 and bits & 8) else "u"
        return H5Type("int", size, np.dtype(f"{order}{kind}{size}"))
    if cls == 1:
        c.skip(12)
        if bits & 0x40 or size not in (2, 4, 8):
            raise Unsupported(f"{size}-byte float with flags {bits:#x}")
        return H5Type("float", size, np.dtype(f"{order}f{size}"))
    if cls == 3:
        return H5Type("string", size, np.dtype(f"S{size}"))
    if cls == 5:
        c.cstring()
        c.align(8, start + 8)
        return H5Type("opaque", size, np.dtype(f"V{size}"))
    if cls == 6:
        return _compound(c, version, bits, size, depth)
    if cls == 7:
        ref_kind = bits & 0x0F
        if version >= 4 or ref_kind not in (0, 1):
            raise Unsupported("version-4 (HDF5 1.12) references")
        if ref_kind == 0:
            if size not in (4, 8):  # an object reference is one file address
                raise FormatError(f"object reference of {size} bytes")
            return H5Type("reference", size, np.dtype(f"<u{size}"))
        return H5Type("region", size, np.dtype(f"V{size}"))
    if cls == 8:
        base = parse_datatype(c, depth + 1)
        n = bits & 0xFFFF
        if n > MAX_MEMBERS:
            raise FormatError(f"enum with {n} members")
        names = []
        for _ in range(n):
            name_start = c.pos
            names.append(c.cstring().decode("utf-8", "replace"))
            if version < 3:
                c.align(8, name_start)
        values = [int.from_bytes(c.bytes(base.size), "little", signed=base.storage.kind == "i")
                  for _ in range(n)]
        return H5Type("enum", size, base.storage, base=base, enum=tuple(zip(names, values)))
    if cls == 9:
        if size < 8 + c.ctx.offset_size:  # each element holds a length and a global heap id
            raise FormatError(f"variable-length type of {size} bytes")
        base = parse_datatype(c, depth + 1)
        if bits & 0x0F == 1:
            return H5Type("vlen_string", size, np.dtype(f"V{size}"), base=base)
        return H5Type("vlen", size, np.dtype(f"V{size}"), base=base)
    if cls == 10:
        rank = c.u8()
        if rank > MAX_RANK:
            raise FormatError(f"array type of rank {rank}")
        if version < 3:
            c.skip(3)
        dims = tuple(c.u32() for _ in range(rank))
        if version < 3:
            c.skip(4 * rank)
        base = parse_datatype(c, depth + 1)
        if math.prod(dims) * base.size != size:
            raise FormatError("array datatype size mismatch")
        return H5Type("array", size, np.dtype((base.storage, dims)), base=base, dims=dims)
    raise Unsupported(f"datatype class {cls}")


def _compound(c: Cursor, version: int, bits: int, size: int, depth: int) -> H5Type:
    n = bits & 0xFFFF
    if n > MAX_MEMBERS:
        raise FormatError(f"compound with {n} members")
    fields = []
    for _ in range(n):
        name_start = c.pos
        name = c.cstring().decode("utf-8", "replace")
        if version < 3:
            c.align(8, name_start)
            offset = c.u32()
            if version == 1:
                c.skip(28)  # dimensionality, permutation, dimension sizes (unused)
        else:
            offset = c.uint(bytes_needed(size))
        member = parse_datatype(c, depth + 1)
        if offset + member.size > size:
            raise FormatError("compound member outside its type")
        fields.append((name, offset, member))
    storage = np.dtype({
        "names": [f[0] for f in fields],
        "formats": [f[2].storage for f in fields],
        "offsets": [f[1] for f in fields],
        "itemsize": size,
    })
    return H5Type("compound", size, storage, fields=tuple(fields))


# messages up to this size are kept (types and shapes are tens of bytes; a hostile file's
# large compound types are parsed each time rather than filling the cache)
KEPT_MESSAGE_BYTES = 1024


def parse_datatype_message(data: bytes, ctx: FileContext) -> H5Type:
    """The type a datatype message's bytes describe. Kept by those bytes (and the file's
    field sizes, all a type's parsing reads of the file): a file repeats a handful of types
    across its objects, every string attribute the same one, and an H5Type is immutable."""
    if len(data) > KEPT_MESSAGE_BYTES:
        return parse_datatype(Cursor(data, ctx))
    return _datatype(bytes(data), ctx.offset_size, ctx.length_size)


@functools.lru_cache(maxsize=4096)
def _datatype(data: bytes, offset_size: int, length_size: int) -> H5Type:
    return parse_datatype(Cursor(data, FileContext(offset_size, length_size)))


Shapes = tuple[tuple[int, ...] | None, tuple[int | None, ...] | None]


def parse_dataspace(data: bytes, ctx: FileContext) -> Shapes:
    """(shape, maxshape); shape None for a null dataspace (no elements at all). Kept by the
    message's bytes, as types are: objects of a file share a few shapes."""
    if len(data) > KEPT_MESSAGE_BYTES:
        return _dataspace.__wrapped__(bytes(data), ctx.length_size)
    return _dataspace(bytes(data), ctx.length_size)


@functools.lru_cache(maxsize=4096)
def _dataspace(data: bytes, length_size: int) -> Shapes:
    ctx = FileContext(length_size=length_size)
    c = Cursor(data, ctx)
    version = c.u8()
    rank = c.u8()
    flags = c.u8()
    if rank > MAX_RANK:
        raise FormatError(f"dataspace of rank {rank}")
    if version == 1:
        c.skip(5)
        kind = 1 if rank else 0
    elif version == 2:
        kind = c.u8()
    else:
        raise FormatError(f"dataspace version {version}")
    if kind == 2:
        return None, None
    dims = tuple(c.length() for _ in range(rank))
    maxdims: tuple[int | None, ...] = dims
    if flags & 1:
        raw = tuple(c.uint(ctx.length_size) for _ in range(rank))
        unlimited = (1 << (8 * ctx.length_size)) - 1
        maxdims = tuple(None if m == unlimited else m for m in raw)
    total = 1
    for d in dims:
        total *= d
    if total > MAX_ELEMENTS:
        raise FormatError(f"dataspace of {total} elements")
    return dims, maxdims


__all__ = ["UNDEFINED", "H5Type", "parse_dataspace", "parse_datatype", "parse_datatype_message"]
