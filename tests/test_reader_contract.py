"""The reader contract (tests/reader_contract.py) run against every transport reader."""

from __future__ import annotations

from typing import Any

import pytest

from lazynwb_explorer import config

from reader_contract import ReaderContract


class TestLocalReader(ReaderContract):
    where = "local"


class TestHTTPReader(ReaderContract):
    where = "http"
    lists = False  # plain HTTP: no listing

    def server_stats(self, request: pytest.FixtureRequest) -> Any:
        return request.getfixturevalue("http_server")


class TestHTTPIndexReader(ReaderContract):
    """A server that answers a directory with an HTML index: the reader lists through it."""

    where = "http-index"

    def server_stats(self, request: pytest.FixtureRequest) -> Any:
        return request.getfixturevalue("http_index_server")


class TestS3Reader(ReaderContract):
    where = "s3"

    def server_stats(self, request: pytest.FixtureRequest) -> Any:
        return request.getfixturevalue("s3_server")


class TestFsspecMemoryReader(ReaderContract):
    """fsspec's in-memory filesystem (memory://), which our own transport does not serve."""

    where = "memory"
    reader_class = "FsspecReader"


class TestFsspecSimplecacheHTTPReader(ReaderContract):
    """A chained URL, simplecache::http://...: fsspec's whole-file cache in front of the HTTP
    server (the server sends the file once, whole: see test_fsspec.py), so the server's
    counts are not the reader's."""

    where = "simplecache-http"
    lists = False
    reader_class = "FsspecReader"


class TestFsspecHTTPReader(ReaderContract):
    """http:// through fsspec's HTTP filesystem (aiohttp), as config.use_obstore=False asks:
    what the reader counts is what the server sent."""

    where = "http"
    lists = False
    reader_class = "FsspecReader"

    @pytest.fixture(autouse=True)
    def _transport(self, monkeypatch) -> Any:
        monkeypatch.setattr(config, "use_obstore", False)
        yield

    def server_stats(self, request: pytest.FixtureRequest) -> Any:
        return request.getfixturevalue("http_server")


class TestFsspecHTTPIndexReader(TestFsspecHTTPReader):
    """... and listing a store through a server's HTML directory index."""

    where = "http-index"
    lists = True

    def server_stats(self, request: pytest.FixtureRequest) -> Any:
        return request.getfixturevalue("http_index_server")
