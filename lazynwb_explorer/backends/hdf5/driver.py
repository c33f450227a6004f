"""Answers a parser's byte ranges from a Reader, one concurrent round per step.

Small metadata ranges are served from aligned blocks kept in an LRU cache (a miss fetches
the window of blocks around it), so structures that sit close together cost one request; data ranges and large ranges are fetched
exactly (neighbours closer than `config.coalesce_gap` share a request), split into
parallel parts, and not cached.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections import OrderedDict
from typing import Any

from ...config import config
from ...transport.rangefile import coalesce, split
from ...transport.readers import Reader
from ..base import coalesce_gap
from .io import CHECK, DATA, HELD, Ranges

_MAX_CACHED = 64 * 1024 * 1024  # blocks one file keeps
_MAX_CACHED_ALL = 256 * 1024 * 1024  # blocks all open files keep together
_PART = 8 * 1024 * 1024
# Metadata misses fetch the aligned window of blocks around them: libhdf5 writes metadata
# in clusters, and 512 KiB more at 100 MB/s (5 ms) is far cheaper than the next round trip.
_WINDOW = 8


class _BlockBudget:
    """Keeps the blocks cached by every open file together under `limit` bytes: past it,
    the files that fetched longest ago give theirs up (and fetch again if used again). So many
    files can stay open (a call over hundreds of sessions reads each one once) while the
    memory they hold does not grow with their number."""

    def __init__(self, limit: int):
        self.limit = limit
        self._total = 0
        self._held: OrderedDict[int, int] = OrderedDict()  # key -> bytes, oldest first
        self._sources: dict[int, weakref.ref[ByteSource]] = {}
        self._gone: list[int] = []  # keys of collected sources, settled under the lock
        self._keys = itertools.count()  # never reused, unlike id()
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        with self._lock:
            self._settle_gone()
            return self._total

    def register(self) -> int:
        return next(self._keys)

    def update(self, source: ByteSource, nbytes: int) -> list[ByteSource]:
        """Record what `source` holds now; returns the sources that must drop their blocks."""
        key = source.budget_key
        with self._lock:
            self._settle_gone()
            if key not in self._sources:
                self._sources[key] = weakref.ref(source)
                # runs inside a garbage collection, maybe while this lock is held: it only
                # appends (atomic), the next update settles it
                weakref.finalize(source, self._gone.append, key)
            self._total += nbytes - self._held.pop(key, 0)
            self._held[key] = nbytes
            over = self._total - self.limit
            victims = []
            for other, held in self._held.items():
                if over <= 0:
                    break
                victim = self._sources[other]()
                if other != key and held and victim is not None:
                    victims.append(victim)
                    over -= held
            return victims

    def _settle_gone(self) -> None:
        while self._gone:
            key = self._gone.pop()
            self._total -= self._held.pop(key, 0)
            self._sources.pop(key, None)


_BUDGET = _BlockBudget(_MAX_CACHED_ALL)


class ByteSource:
    def __init__(self, reader: Reader, size: int, first: bytes = b"", last: bytes = b""):
        """`first`: the file's first bytes, `last`: its last ones, already read (kept as the
        whole blocks they cover)."""
        self.reader = reader
        self.size = size
        self.block = config.block_size
        self.budget_key = _BUDGET.register()
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.fetched_at = -float("inf")  # when bytes last came from the source (If-Match)
        self._keep(0, first)
        if last and len(last) <= size:
            self._keep(size - len(last), last)
        self._charge()

    def _keep(self, start: int, data: bytes) -> None:
        """The blocks wholly inside [start, start + len(data)), and the file's last block
        when the data reach the end of the file."""
        end = start + len(data)
        first = -(-start // self.block)
        for b in range(first, (end // self.block)):
            lo = b * self.block - start
            self._blocks[b] = data[lo : lo + self.block]
        if end == self.size and self.size % self.block and (self.size // self.block) * self.block >= start:
            b = self.size // self.block
            self._blocks[b] = data[b * self.block - start :]

    def _charge(self) -> None:
        """Tell the shared budget what this file holds (outside this file's lock)."""
        for victim in _BUDGET.update(self, len(self._blocks) * self.block):
            victim.drop_blocks()

    def drop_blocks(self) -> None:
        with self._lock:
            self._blocks.clear()
        _BUDGET.update(self, 0)

    def _is_small(self, start: int, end: int) -> bool:
        return end - start <= self.block // 4

    def _cached(self, start: int, end: int) -> bool:
        return all(b in self._blocks for b in range(start // self.block, (end - 1) // self.block + 1))

    def read_round(self, ranges: Ranges) -> list[Any]:
        """Bytes of each (offset, length), clipped at the end of the file; one round (none
        for a HELD probe, answered from the blocks held: bytes, or None where not held)."""
        clipped = [(max(0, r[0]), max(0, min(r[0] + r[1], self.size))) for r in ranges]
        if ranges and len(ranges[0]) > 2 and ranges[0][2] == HELD:
            return self._probe(clipped)
        with self._lock:
            held = self._held(ranges, clipped)
            if held is not None:
                return held
            missing_blocks: set[int] = set()
            direct = []
            for r, (s, e) in zip(ranges, clipped):
                if e <= s:
                    continue
                kind = r[2] if len(r) > 2 else "meta"
                if kind == CHECK:  # as many bytes as the reader needs to confirm the file
                    direct.append((s, min(self.size, max(e, s + self.reader.confirm_bytes))))
                elif self._cached(s, e) or (kind != DATA and self._is_small(s, e)):
                    window = _WINDOW if kind == "meta" else 1
                    for b in range(s // self.block, (e - 1) // self.block + 1):
                        if b not in self._blocks:  # the whole window around it
                            first = b - b % window
                            missing_blocks.update(
                                k for k in range(first, first + window)
                                if k not in self._blocks and k * self.block < self.size
                            )
                else:
                    direct.append((s, e))
            block_spans = coalesce(
                [(b * self.block, min((b + 1) * self.block, self.size)) for b in missing_blocks], 0
            )
            direct_spans = split(coalesce(direct, coalesce_gap()), _PART)
            spans = block_spans + direct_spans
            datas = self.reader.read_many(spans) if spans else []
            if spans:
                self.fetched_at = time.monotonic()
            fetched: dict[tuple[int, int], bytes] = {}
            for (s, e), data in zip(block_spans, datas):
                for b in range(s // self.block, -(-e // self.block)):
                    lo = b * self.block - s
                    self._blocks[b] = data[lo : lo + self.block]
            for span, data in zip(direct_spans, datas[len(block_spans) :]):
                fetched[span] = data
            out = [self._slice(s, e, direct_spans, fetched) for s, e in clipped]
            while len(self._blocks) * self.block > _MAX_CACHED:
                self._blocks.popitem(last=False)
        if block_spans:
            self._charge()
        return out

    def _probe(self, clipped: list[tuple[int, int]]) -> list[bytes | None]:
        """A HELD probe: each range's bytes when its blocks are held, else None; no fetch."""
        with self._lock:
            return [b"" if e <= s else self._slice(s, e, (), {}) if self._cached(s, e) else None
                    for s, e in clipped]

    def _held(self, ranges: Ranges, clipped: list[tuple[int, int]]) -> list[bytes] | None:
        """The answer when every range lies inside one block held already (most rounds of a
        walk once its first read is in), without planning a fetch; None otherwise."""
        block = self.block
        for r, (s, e) in zip(ranges, clipped):
            if e > s and ((e - 1) // block != s // block or s // block not in self._blocks
                          or (len(r) > 2 and r[2] == CHECK)):
                return None
        return [self._slice(s, e, (), {}) for s, e in clipped]

    def _slice(self, s: int, e: int, direct_spans, fetched) -> bytes:  # noqa: ANN001
        if e <= s:
            return b""
        first, last = s // self.block, (e - 1) // self.block
        if first == last and first in self._blocks:  # the common case: no copy of the block
            self._blocks.move_to_end(first)
            return self._blocks[first][s - first * self.block : e - first * self.block]
        if all(b in self._blocks for b in range(first, last + 1)):
            for b in range(first, last + 1):
                self._blocks.move_to_end(b)
            joined = b"".join(self._blocks[b] for b in range(first, last + 1))
            return joined[s - first * self.block : e - first * self.block]
        parts = []
        pos = s
        for ds, de in direct_spans:  # sorted, non-overlapping
            if de <= pos or ds >= e:
                continue
            data = fetched[(ds, de)]
            parts.append(data[pos - ds : min(e, de) - ds])
            pos = min(e, de)
        return b"".join(parts)
