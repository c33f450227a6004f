"""A read-only file object over a Reader, for h5py: block cache plus planned prefetches.

libhdf5 asks for metadata in many small reads, one after another. Serving them from
aligned blocks (`config.block_size`, LRU-bounded) turns hundreds of tiny reads into a few
requests. For data, the caller knows the byte ranges it will need (chunk offsets, contiguous
row spans): `prefetched(ranges)` fetches them all in one concurrent round first, so h5py's
sequential reads are then answered from memory.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from ..config import config
from .readers import Reader

_MAX_CACHED_BYTES = 64 * 1024 * 1024
_DIRECT_PART = 8 * 1024 * 1024  # large reads bypass the cache, fetched as parallel parts


def coalesce(ranges: Sequence[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Merge ranges closer than `gap` bytes; sorted, non-overlapping."""
    merged: list[list[int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1] + gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def split(ranges: Sequence[tuple[int, int]], part: int) -> list[tuple[int, int]]:
    """Cut long ranges into parts of at most `part` bytes so they download in parallel."""
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        out.extend((s, min(s + part, end)) for s in range(start, end, part))
    return out


class RangeFile(io.RawIOBase):
    def __init__(self, reader: Reader):
        super().__init__()
        self.reader = reader
        self.block = config.block_size
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._extents: list[tuple[int, bytes]] = []  # sorted by start
        self._lock = threading.RLock()
        # One read at 0 learns the size (no HEAD) and usually holds the root metadata.
        first = reader.first_block()
        self._size = reader.size()
        for i in range(0, len(first), self.block):  # whole blocks only
            if i + self.block <= len(first) or len(first) == self._size:
                self._blocks[i // self.block] = first[i : i + self.block]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:  # any writable buffer (io.RawIOBase's)
        view = memoryview(buffer).cast("B")
        data = self.pread(self._pos, len(view))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def pread(self, start: int, length: int) -> bytes:
        end = min(start + length, self._size)
        if end <= start:
            return b""
        with self._lock:
            hit = self._from_extents(start, end)
            if hit is not None:
                return hit
            first, last = start // self.block, (end - 1) // self.block
            if last - first + 1 > 4:
                parts = split([(start, end)], _DIRECT_PART)
                return b"".join(self.reader.read_many(parts))
            self._fill_blocks(range(first, last + 1))
            chunks = [self._blocks[i] for i in range(first, last + 1)]
        joined = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        offset = start - first * self.block
        return joined[offset : offset + (end - start)]

    def _fill_blocks(self, indices: range) -> None:
        missing = [i for i in indices if i not in self._blocks]
        for i in indices:
            if i in self._blocks:
                self._blocks.move_to_end(i)
        if not missing:
            return
        spans = coalesce([(i * self.block, (i + 1) * self.block) for i in missing], 0)
        for (s, e), data in zip(spans, self.reader.read_many(spans)):
            for k in range(s // self.block, -(-e // self.block)):
                lo = k * self.block - s
                self._blocks[k] = data[lo : lo + self.block]
        while len(self._blocks) * self.block > _MAX_CACHED_BYTES:
            self._blocks.popitem(last=False)

    def _from_extents(self, start: int, end: int) -> bytes | None:
        i = bisect.bisect_right(self._extents, start, key=lambda e: e[0]) - 1
        if i >= 0:
            s, data = self._extents[i]
            if start >= s and end <= s + len(data):
                return data[start - s : end - s]
        return None

    @contextlib.contextmanager
    def prefetched(self, ranges: Sequence[tuple[int, int]], gap: int | None = None) -> Iterator[None]:
        """Fetch `ranges` in one concurrent round; reads inside the block are served from them."""
        gap = self.block // 4 if gap is None else gap
        wanted = [
            r for r in coalesce(ranges, gap) if self._from_extents(*r) is None
        ]
        parts = split(wanted, _DIRECT_PART)
        datas = self.reader.read_many(parts)
        extents: list[tuple[int, bytes]] = []
        for (s, _e), data in zip(parts, datas):
            if extents and extents[-1][0] + len(extents[-1][1]) == s:
                extents[-1] = (extents[-1][0], extents[-1][1] + data)
            else:
                extents.append((s, data))
        with self._lock:
            added = extents
            self._extents = sorted(self._extents + added, key=lambda e: e[0])
        try:
            yield
        finally:
            with self._lock:
                self._extents = [e for e in self._extents if not any(e is a for a in added)]
