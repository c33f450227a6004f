"""Global heap collections: where variable-length strings and sequences keep their bytes.

Collections holding a dataset's strings are fetched exactly (they sit between data, and
a read should not pull neighbouring array bytes); those of attributes come through the
cached metadata blocks like the rest of the metadata.
"""

from __future__ import annotations

from collections.abc import Iterable

from .binary import Cursor, FileContext
from .io import FormatError, Parser, fetch_data, fetch_many

MAX_COLLECTION = 1 << 28
_GUESS = 4096  # libhdf5's minimum collection size


def _parse(data: bytes, ctx: FileContext) -> dict[int, bytes]:
    c = Cursor(data, ctx)
    c.signature(b"GCOL")
    c.skip(4)
    size = min(c.length(), len(data))
    objects: dict[int, bytes] = {}
    n = ctx.length_size
    pos = c.pos
    while pos + 8 + n <= size:  # hot loop (every string attribute): plain slicing
        index = int.from_bytes(data[pos : pos + 2], "little")
        length = int.from_bytes(data[pos + 8 : pos + 8 + n], "little")
        pos += 8 + n
        if index == 0:  # free space: the rest of the collection
            break
        if pos + length > len(data):
            raise FormatError("global heap object runs past its collection")
        objects[index] = data[pos : pos + length]
        pos += length + (-length % 8)
    return objects


def read_collections(
    ctx: FileContext, addresses: Iterable[int], exact: bool = True
) -> Parser[dict[int, dict[int, bytes]]]:
    """address -> {object index -> bytes} for every collection, all fetched together;
    `exact` for strings of data reads, cached metadata blocks for attribute strings."""
    fetch = fetch_data if exact else fetch_many
    known = ctx.heaps if not exact else dict(ctx.heaps)  # only metadata heaps are kept
    wanted = set(addresses)
    addresses = sorted(a for a in wanted if a not in known)
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
        known[a] = _parse(h, ctx)
    return {a: known[a] for a in wanted}

