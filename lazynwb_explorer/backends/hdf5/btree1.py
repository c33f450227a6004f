"""Version-1 B-trees: the index of old-style groups (type 0) and of chunks (type 1).

Each level of the tree is fetched in one step, so a tree of depth d costs d rounds whatever
its width. Chunk trees can be walked for a row range only (`rows`), skipping subtrees whose
keys show they hold no chunk of those rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from .binary import UNDEFINED, Cursor, FileContext
from .io import FormatError, Parser, fetch_index, fetch_many
from .layout import ChunkEntry

MAX_NODES = 1 << 16
MAX_ENTRIES = 1 << 12
_NODE_GUESS = 4096  # bytes fetched per node before its entry count is known


def _node_size(ctx: FileContext, node_type: int, entries: int, rank: int) -> int:
    key = ctx.length_size if node_type == 0 else 8 + 8 * (rank + 1)
    return 8 + 2 * ctx.offset_size + entries * (key + ctx.offset_size) + key


def _parse_node(data: bytes, ctx: FileContext, node_type: int, rank: int):  # noqa: ANN202
    c = Cursor(data, ctx)
    c.signature(b"TREE")
    if c.u8() != node_type:
        raise FormatError("B-tree node of the wrong type")
    level, entries = c.u8(), c.u16()
    if entries > MAX_ENTRIES:
        raise FormatError(f"B-tree node with {entries} entries")
    c.address(), c.address()  # siblings
    keys: list[int | tuple[int, int, tuple[int, ...]]] = []  # sizes (groups) or chunk keys
    children: list[int] = []
    for i in range(entries + 1):
        if node_type == 0:
            keys.append(c.length())
        else:
            size, mask = c.u32(), c.u32()
            keys.append((size, mask, tuple(c.u64() for _ in range(rank + 1))[:rank]))
        if i < entries:
            children.append(c.address())
    return level, keys, children


def _walk(ctx: FileContext, root: int, node_type: int, rank: int, keep=None) -> Parser[list]:  # noqa: ANN001
    fetch = fetch_many if node_type == 0 else fetch_index
    """(key, child address) of every leaf-level entry, in key order."""
    level_nodes = [ctx.check_address(root, "B-tree")]
    seen: set[int] = set()
    expected_level: int | None = None
    while True:
        if len(seen) + len(level_nodes) > MAX_NODES:
            raise FormatError("B-tree too large")
        for a in level_nodes:
            if a in seen:
                raise FormatError("B-tree cycle")
            seen.add(a)
        datas = yield from fetch([(a, _NODE_GUESS) for a in level_nodes])
        # Nodes bigger than the guess: fetch their full size.
        sizes = []
        for data in datas:
            c = Cursor(data, ctx, 6)
            sizes.append(_node_size(ctx, node_type, c.u16(), rank))
        short = [i for i, (d, s) in enumerate(zip(datas, sizes)) if len(d) < s]
        if short:
            more = yield from fetch([(level_nodes[i], sizes[i]) for i in short])
            for i, d in zip(short, more):
                datas[i] = d
        parsed = [_parse_node(d, ctx, node_type, rank) for d in datas]
        levels = {p[0] for p in parsed}
        if len(levels) > 1 or (expected_level is not None and levels != {expected_level}):
            raise FormatError("B-tree levels inconsistent")
        level = levels.pop() if levels else 0
        entries = []
        for _, keys, children in parsed:
            for i, child in enumerate(children):
                if keep is None or keep(keys[i], keys[i + 1]):
                    entries.append((keys[i], child))
        if level == 0:
            return entries
        expected_level = level - 1
        level_nodes = [ctx.check_address(child, "B-tree child") for _, child in entries]
        if not level_nodes:
            return []


def group_nodes(ctx: FileContext, root: int) -> Parser[list[int]]:
    """Addresses of an old-style group's symbol table nodes (SNOD), in name order."""
    entries = yield from _walk(ctx, root, 0, 0)
    return [child for _, child in entries]


def chunk_entries(
    ctx: FileContext, root: int, chunk_shape: Sequence[int], rows: tuple[int, int] | None = None
) -> Parser[list[ChunkEntry]]:
    """The chunks of a v1-B-tree-indexed dataset; with `rows` = (start, stop), only subtrees
    that may hold chunks overlapping those rows of axis 0."""
    rank = len(chunk_shape)
    keep = None
    if rows is not None:
        start, stop = rows

        def keep(lo, hi) -> bool:  # noqa: ANN001 - keys: (size, mask, offsets)
            # A child holds chunks with offsets in [lo, hi) in row-major order.
            return lo[2][0] < stop and hi[2][0] + chunk_shape[0] > start

    if root == UNDEFINED:
        return []
    entries = yield from _walk(ctx, root, 1, rank, keep)
    out = []
    for (size, mask, offset), address in entries:
        if rows is not None and not (offset[0] < rows[1] and offset[0] + chunk_shape[0] > rows[0]):
            continue
        out.append(ChunkEntry(offset, ctx.check_address(address, "chunk"), size, mask))
    return out
