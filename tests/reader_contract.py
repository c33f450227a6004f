"""What every range reader of the transport answers the same way: a contract suite.

As zarr-python does for its stores, the tests live in one class; each reader (local file,
HTTP, S3, and any later one) runs them by subclassing `ReaderContract` and saying how to
reach a file (`locate`) and, where the server can count, what it saw (`server_stats`).
The oracle is the file's own bytes on disk.
"""

from __future__ import annotations

import concurrent.futures
import random
from pathlib import Path
from typing import Any

import pytest

from lazynwb_explorer.errors import SourceError
from lazynwb_explorer.transport import UnsafeKeyError, counting, forget_reader, open_reader

BLOB_SIZE = 1 << 20


def blob_bytes() -> bytes:
    """1 MiB where every position's value depends on the position (a misplaced range shows)."""
    rng = random.Random(7)
    return bytes(rng.getrandbits(8) for _ in range(BLOB_SIZE))


class ReaderContract:
    """Subclasses provide `where` (the `locate` kind) and may override `server_stats`;
    `lists` says whether the reader can list a store's keys."""

    where: str
    lists: bool = True
    reader_class: str | None = None  # the transport's reader, where `where` alone does not say

    @pytest.fixture(autouse=True)
    def _transport(self) -> Any:
        """Settings that choose the transport under test (none by default)."""
        yield

    def server_stats(self, request: pytest.FixtureRequest) -> Any | None:
        """The serving side's counters (gets, bytes_sent), or None when it has none."""
        return None

    @pytest.fixture
    def blob(self, served: Path) -> Path:
        path = served / "contract" / "blob.bin"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(blob_bytes())
        return path

    @pytest.fixture
    def store(self, served: Path) -> Path:
        """A directory of keys, as a Zarr store is."""
        path = served / "contract" / "store.zarr"
        if not path.exists():
            (path / "a" / "b").mkdir(parents=True)
            (path / ".zgroup").write_bytes(b'{"zarr_format": 2}')
            (path / "a" / "b" / "0.0").write_bytes(bytes(range(200)))
        return path

    def open(self, locate, path: Path):  # noqa: ANN001, ANN201 - fixtures
        url = locate(path, self.where)
        forget_reader(url)
        return url, open_reader(url)

    def test_the_transport_is_the_one_under_test(self, locate, blob: Path) -> None:
        _, reader = self.open(locate, blob)
        if self.reader_class is not None:
            assert type(reader).__name__ == self.reader_class

    def test_size_is_the_file_size(self, locate, blob: Path) -> None:
        _, reader = self.open(locate, blob)
        assert reader.size() == BLOB_SIZE

    def test_reads_return_exactly_the_bytes_asked(self, locate, blob: Path) -> None:
        _, reader = self.open(locate, blob)
        truth = blob.read_bytes()
        rng = random.Random(1)
        ranges = [(0, 1), (0, 8), (BLOB_SIZE - 1, BLOB_SIZE), (4095, 4097)]
        ranges += [tuple(sorted(rng.sample(range(BLOB_SIZE + 1), 2))) for _ in range(20)]
        for start, end in ranges:
            assert reader.read(start, end) == truth[start:end], (start, end)

    def test_read_many_is_one_round_in_the_order_asked(self, request, locate, blob: Path) -> None:
        _, reader = self.open(locate, blob)
        truth = blob.read_bytes()
        reader.size()
        ranges = [(500_000, 500_100), (0, 10), (1000, 70_000), (BLOB_SIZE - 5, BLOB_SIZE)]
        stats = self.server_stats(request)
        if stats is not None:
            stats_before = (stats.stats.gets, stats.stats.bytes_sent)
        with counting() as counted:
            parts = reader.read_many(ranges)
        assert parts == [truth[a:b] for a, b in ranges]
        assert counted.rounds == 1
        assert counted.requests == len(ranges)
        assert counted.bytes == sum(b - a for a, b in ranges)
        if stats is not None:  # what we counted is what the server sent
            assert stats.stats.gets - stats_before[0] == counted.requests
            assert stats.stats.bytes_sent - stats_before[1] == counted.bytes

    def test_first_block_is_read_once(self, locate, blob: Path) -> None:
        _, reader = self.open(locate, blob)
        first = reader.first_block()
        with counting() as counted:
            again = reader.first_block()
        assert again == first == blob.read_bytes()[: len(first)]
        assert counted.requests == 0

    def test_keys_of_a_store_and_a_missing_key(self, locate, store: Path) -> None:
        _, reader = self.open(locate, store)
        found = reader.get_many([".zgroup", "a/b/0.0", "a/b/1.0", ".zmetadata"])
        assert found[".zgroup"] == b'{"zarr_format": 2}', found
        assert found["a/b/0.0"] == bytes(range(200))
        assert found["a/b/1.0"] is None and found[".zmetadata"] is None
        assert reader.get(".zgroup") == b'{"zarr_format": 2}'

    def test_parts_of_keys_are_one_round_in_the_order_asked(self, locate, store: Path) -> None:
        _, reader = self.open(locate, store)
        with counting() as counted:
            parts = reader.get_ranges([("a/b/0.0", 10, 20), ("a/b/0.0", -7, None), (".zgroup", 0, None),
                                       ("a/b/1.0", 0, 5), ("a/b/0.0", 150, 400)])
        data = bytes(range(200))
        assert parts == [data[10:20], data[-7:], b'{"zarr_format": 2}', None, data[150:200]]
        assert counted.rounds == 1 and counted.requests == 5

    def test_keys_that_leave_the_store_are_refused(self, locate, store: Path) -> None:
        _, reader = self.open(locate, store)
        for key in ("../blob.bin", "/etc/passwd", "a/../../blob.bin", "a//b/0.0", "a/./b/0.0", ""):
            with pytest.raises(UnsafeKeyError):
                reader.get(key)
            with pytest.raises(UnsafeKeyError):
                reader.get_ranges([(key, 0, 4)])

    def test_a_store_lists_its_keys_where_it_can(self, locate, store: Path) -> None:
        _, reader = self.open(locate, store)
        listing = reader.list_dir("")
        if not self.lists:
            assert listing is None
            return
        assert listing == ([".zgroup"], ["a"])
        assert reader.list_dir("a") == ([], ["b"])
        assert reader.list_dir("a/b") == (["0.0"], [])
        assert reader.list_dir("a/b/nothing") in (([], []), None)  # None: a 404 index page

    def test_a_missing_file_is_an_error_naming_it(self, locate, blob: Path) -> None:
        url = locate(blob, self.where).replace("blob.bin", "no-such-blob.bin")
        forget_reader(url)
        with pytest.raises(SourceError) as info:
            open_reader(url).read(0, 10)
        assert "no-such-blob.bin" in str(info.value)

    def test_threads_reading_at_once_agree(self, locate, blob: Path) -> None:
        _, reader = self.open(locate, blob)
        truth = blob.read_bytes()
        starts = list(range(0, BLOB_SIZE - 10_000, 37_000))
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            parts = list(pool.map(lambda s: reader.read(s, s + 10_000), starts))
        assert parts == [truth[s : s + 10_000] for s in starts]
