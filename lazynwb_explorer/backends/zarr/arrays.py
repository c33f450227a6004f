"""Reading boxes of Zarr arrays: which pieces a selection needs, fetching them in as few
rounds as the format allows, and assembling the result.

A piece is what one read fetches and decodes: a stored chunk, or an inner chunk of a shard.
`Fetcher.fetch` takes the pieces of any number of arrays and gets them in at most two
concurrent rounds: the shard indexes it does not know yet (one suffix read per shard, kept
for later reads), then every piece at once; the inner chunks of one shard that lie close
together (`config.coalesce_gap`) come in one range request. Unsharded chunks are whole
objects.

A declared shape is checked against the data that exists before the result is allocated:
chunks that were never written read as the fill value, but no more than MAX_FILL_BYTES of
one read may come from them, so a column declaring 10^9 rows over no data is an error, not
an allocation. A read of many pieces goes in waves of WAVE pieces; after each, what is
missing so far, projected over the whole read, must stay under that bound too, so such a
column costs one wave of requests before it is refused, not one request per declared chunk.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ...transport import KeyRange, coalesce
from ..base import coalesce_gap
from . import chunks
from .codecs import MAX_CHUNK_BYTES
from .metadata import ArraySpec, is_missing, shard_entries
from .store import ZarrStore, join

Box = tuple[tuple[int, int], ...]  # [start, stop) along every axis
PieceId = tuple[str, tuple[int, ...]]  # (array prefix, coordinates in its read grid)
MAX_FILL_BYTES = 64 << 20  # a read may hold this much of never-written chunks
WAVE = 4096  # pieces fetched in one round by one read
SMALL_SHARD = 64 << 10  # a shard holding at most this much (decoded) is fetched whole


def _is_small(spec: ArraySpec) -> bool:
    """Whether a shard of `spec` is small enough to fetch whole rather than index first
    (variable-length elements counted at 16 bytes)."""
    itemsize = 16 if spec.dtype.hasobject else spec.dtype.itemsize
    return math.prod(spec.chunks) * itemsize <= SMALL_SHARD


class FillError(ValueError):
    """A read would be mostly made of chunks that were never written."""


@dataclasses.dataclass(frozen=True)
class ZarrArray:
    """An array of the store: where it is (`prefix`, its key below the root) and its spec."""

    prefix: str
    spec: ArraySpec

    def coords(self, box: Box) -> Iterator[tuple[int, ...]]:
        """The read-grid coordinates of the pieces `box` touches."""
        ranges = [range(a // c, (b - 1) // c + 1) if b > a else range(0)
                  for (a, b), c in zip(box, self.spec.read_chunks)]
        return itertools.product(*ranges)

    def stored_key(self, coords: tuple[int, ...]) -> str:
        """The key of the stored object (chunk or shard) holding the piece at `coords`."""
        shard = self.spec.shard
        if shard is None:
            return join(self.prefix, self.spec.key(coords))
        return join(self.prefix, self.spec.key(tuple(c // n for c, n in zip(coords, shard.per_shard))))

    def assemble(self, box: Box, pieces: dict[PieceId, np.ndarray | None]) -> np.ndarray:
        """The values in `box` from decoded pieces (None: never written, the fill value;
        read_boxes has bounded how much of a read that may be)."""
        spec = self.spec
        out = np.empty(tuple(b - a for a, b in box), dtype=spec.dtype)
        for coords in self.coords(box):
            origin = [c * n for c, n in zip(coords, spec.read_chunks)]
            src = tuple(slice(max(a, o) - o, min(b, o + n) - o)
                        for (a, b), o, n in zip(box, origin, spec.read_chunks))
            dst = tuple(slice(max(a, o) - a, min(b, o + n) - a)
                        for (a, b), o, n in zip(box, origin, spec.read_chunks))
            piece = pieces[(self.prefix, coords)]
            if piece is None:
                out[dst] = spec.fill
            else:
                out[dst] = piece[src]
        return out


class Fetcher:
    """Fetches and decodes pieces; knows the shard indexes it has read."""

    def __init__(self, store: ZarrStore):
        self.store = store
        self._indexes: dict[str, np.ndarray | None] = {}  # shard key -> entries (None: absent)
        self._lock = threading.Lock()
        self.prefetched: dict[PieceId, bytes | None] = {}  # raw pieces fetched ahead

    def fetch(self, wanted: Sequence[tuple[ZarrArray, tuple[int, ...]]]) -> dict[PieceId, bytes | None]:
        """The raw bytes of each wanted piece (None: never written), in at most two rounds:
        the unknown indexes of large shards, then everything else. A small shard (at most
        SMALL_SHARD bytes when decoded) is fetched whole, index and all, in the one round."""
        raw: dict[PieceId, bytes | None] = {}
        todo = []
        for array, coords in wanted:
            pid = (array.prefix, coords)
            if pid not in raw:
                raw[pid] = self.prefetched.get(pid)
                if pid not in self.prefetched:
                    todo.append((array, coords))
        self._read_indexes({array.stored_key(c): array for array, c in todo
                            if array.spec.shard and not _is_small(array.spec)})
        whole: dict[str, ZarrArray] = {}  # stored objects fetched whole: chunks, small shards
        spans: dict[str, list[tuple[int, int]]] = {}  # large shard key -> inner chunk ranges
        for array, coords in todo:
            key = array.stored_key(coords)
            if array.spec.shard is None or _is_small(array.spec):
                whole[key] = array
            elif (entry := self._entry(array, key, coords)) is not None:
                spans.setdefault(key, []).append(entry)
        merged = {key: coalesce(ranges, coalesce_gap()) for key, ranges in spans.items()}
        requests: list[KeyRange] = [(key, 0, None) for key in whole]
        requests.extend((key, a, b) for key, ranges in merged.items() for a, b in ranges)
        replies = dict(zip(((k, a) for k, a, _ in requests), self.store.fetch(requests)))
        for key, array in whole.items():
            if array.spec.shard is not None and (body := replies[(key, 0)]) is not None:
                self._index_from_shard(key, array, body)
        for array, coords in todo:
            key = array.stored_key(coords)
            if array.spec.shard is None:
                raw[(array.prefix, coords)] = replies[(key, 0)]
                continue
            entry = self._entry(array, key, coords)
            if entry is None:
                continue
            start, end = entry
            if key in whole:
                first, body = 0, replies[(key, 0)]
            else:
                first = next(a for a, b in merged[key] if a <= start < b)
                body = replies[(key, first)]
            piece = None if body is None else body[start - first : end - first]
            if piece is None or len(piece) != end - start:
                raise chunks.ChunkError(f"shard {key!r} ends before its inner chunk at {start}")
            raw[(array.prefix, coords)] = piece
        return raw

    def _index_from_shard(self, key: str, array: ZarrArray, body: bytes) -> None:
        layout = array.spec.shard
        assert layout is not None
        n = layout.index_nbytes
        index = body[-n:] if layout.at_end else body[:n]
        entries = self._parse_index(key, array, index)
        with self._lock:
            self._indexes[key] = entries

    def _read_indexes(self, shards: dict[str, ZarrArray]) -> None:
        with self._lock:
            needed = [(k, a) for k, a in shards.items() if k not in self._indexes]
        if not needed:
            return
        requests: list[KeyRange] = []
        for key, array in needed:
            n = array.spec.shard.index_nbytes  # type: ignore[union-attr]
            requests.append((key, -n, None) if array.spec.shard.at_end else (key, 0, n))  # type: ignore[union-attr]
        for (key, array), body in zip(needed, self.store.fetch(requests)):
            entries = None if body is None else self._parse_index(key, array, body)
            with self._lock:
                self._indexes[key] = entries

    @staticmethod
    def _parse_index(key: str, array: ZarrArray, body: bytes) -> np.ndarray:
        layout = array.spec.shard
        assert layout is not None
        if len(body) != layout.index_nbytes:
            raise chunks.ChunkError(f"shard {key!r} is shorter than its index")
        if layout.checksum:
            body = chunks.checked_crc32c(body)
        return shard_entries(body, layout)

    def _entry(self, array: ZarrArray, key: str, coords: tuple[int, ...]) -> tuple[int, int] | None:
        """(start, end) of an inner chunk in its shard; None where it was never written (or
        its shard was)."""
        entries = self._indexes.get(key)
        if entries is None:
            return None
        layout = array.spec.shard
        assert layout is not None
        entry = entries[tuple(c % n for c, n in zip(coords, layout.per_shard))]
        if is_missing(entry):
            return None
        start, size = int(entry[0]), int(entry[1])
        if size > MAX_CHUNK_BYTES or start > 1 << 62:
            raise chunks.ChunkError(f"shard {key!r} locates an inner chunk at {start} of {size} bytes")
        return start, start + size


def decode_pieces(array: ZarrArray, raw: dict[PieceId, bytes | None]) -> dict[PieceId, np.ndarray | None]:
    """The pieces of `array` in `raw`, decoded."""
    spec = array.spec
    out: dict[PieceId, Any] = {}
    for pid, body in raw.items():
        if pid[0] == array.prefix:
            out[pid] = None if body is None else chunks.decode(body, spec.codecs, spec.dtype, spec.read_chunks)
    return out


def read_boxes(fetcher: Fetcher, array: ZarrArray, boxes: Sequence[Box]) -> list[np.ndarray]:
    """The values in each box (fetched together: in one round up to WAVE pieces)."""
    spec = array.spec
    piece_bytes = math.prod(spec.read_chunks) * (8 if spec.dtype.hasobject else spec.dtype.itemsize)
    total = sum(math.prod(len(range(a // c, (b - 1) // c + 1)) if b > a else 0
                          for (a, b), c in zip(box, spec.read_chunks)) for box in boxes)
    pieces = itertools.chain.from_iterable(array.coords(box) for box in boxes)
    decoded: dict[PieceId, np.ndarray | None] = {}
    asked = missing = 0
    while wave := [(array, c) for c in itertools.islice(pieces, WAVE)]:
        raw = fetcher.fetch(wave)
        asked += len(wave)
        missing += sum(1 for body in raw.values() if body is None)
        if missing * piece_bytes > MAX_FILL_BYTES or (asked >= WAVE and missing / asked * total * piece_bytes > MAX_FILL_BYTES):
            raise FillError(f"shape {list(spec.shape)} is declared, but {missing} of the first {asked} "
                            f"chunks a read of {total} needs do not exist")
        decoded.update(decode_pieces(array, raw))
    return [array.assemble(box, decoded) for box in boxes]
