"""Global heap collections: where variable-length strings and sequences keep their bytes.

Collections holding a dataset's strings are fetched exactly (they sit between data, and
a read should not pull neighbouring array bytes); those of attributes come through the
cached metadata blocks like the rest of the metadata.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from .binary import Cursor, FileContext
from .io import FormatError, Parser, fetch_data, fetch_many

MAX_COLLECTION = 1 << 28
_GUESS = 4096  # libhdf5's minimum collection size


class Collection:
    """One collection's objects, found on demand: a walk needs one or two strings of a
    collection holding ~150 (pynwb writes each attribute's strings to the current one), so
    objects are scanned only as far as the one asked for, and that scan is kept."""

    __slots__ = ("_data", "_size", "_head", "_pos", "_found")

    def __init__(self, data: bytes, ctx: FileContext):
        c = Cursor(data, ctx)
        c.signature(b"GCOL")
        c.skip(4)
        self._size = min(c.length(), len(data))
        self._data = data
        # an object's header: index (2 bytes), reference count (2), reserved (4), length
        head = _HEADS.get(ctx.length_size)
        if head is None:
            raise FormatError(f"lengths of {ctx.length_size} bytes")
        self._head = head
        self._pos: int | None = c.pos  # None: every object found
        self._found: dict[int, int] = {}  # object index -> where its data start

    def get(self, index: int, default: bytes | None = None) -> bytes | None:
        """Object `index`'s bytes, scanning on from where the last scan stopped (one
        struct unpack per object header, and only its position kept: a units table's
        string columns scan tens of thousands)."""
        found = self._found
        at = found.get(index)
        if at is None and self._pos is not None:
            at = self._scan(index)
        if at is None:
            return default
        return self._data[at : at + self._head.unpack_from(self._data, at - self._head.size)[1]]

    def _scan(self, index: int) -> int | None:
        """Objects' data positions up to `index`'s (or the end); `index`'s, if found."""
        found, pos = self._found, self._pos
        assert pos is not None  # get() scans only while objects remain
        data, size, unpack = self._data, self._size, self._head.unpack_from
        step, end = self._head.size, len(data)
        at = None
        more = True  # objects may follow where the scan stopped
        while True:
            if pos + step > size:
                more = False
                break
            number, length = unpack(data, pos)
            pos += step
            if number == 0:  # free space: the rest of the collection
                more = False
                break
            if pos + length > end:
                self._pos = None
                raise FormatError("global heap object runs past its collection")
            found[number] = pos
            pos += length + (-length % 8)
            if number == index:
                at = found[number]
                break
        self._pos = pos if more else None
        return at


_HEADS = {n: struct.Struct(f"<H6x{code}") for n, code in ((2, "H"), (4, "I"), (8, "Q"))}


def read_collections(
    ctx: FileContext, addresses: Iterable[int], exact: bool = True
) -> Parser[dict[int, Collection]]:
    """address -> its Collection (object index -> bytes) for every one, all fetched together;
    `exact` for strings of data reads, cached metadata blocks for attribute strings."""
    fetch = fetch_data if exact else fetch_many
    kept = ctx.heaps  # only metadata heaps are kept; a data read's are its own
    known = kept if not exact else {}
    wanted = set(addresses)
    addresses = sorted(a for a in wanted if a not in kept and a not in known)
    for a in addresses:
        ctx.check_address(a, "global heap")
    heads = yield from fetch([(a, _GUESS) for a in addresses])
    sizes = []
    for a, head in zip(addresses, heads):
        c = Cursor(head, ctx)
        c.signature(b"GCOL")
        c.skip(4)
        size = c.length()
        if not 16 <= size <= MAX_COLLECTION:
            raise FormatError(f"global heap collection of {size} bytes at {a}")
        sizes.append(size)
    short = [i for i, (h, s) in enumerate(zip(heads, sizes)) if len(h) < s]
    if short:
        more = yield from fetch([(addresses[i], sizes[i]) for i in short])
        for i, d in zip(short, more):
            heads[i] = d
    for a, h in zip(addresses, heads):
        known[a] = Collection(h, ctx)
    return {a: known[a] if a in known else kept[a] for a in wanted}

