"""The reader contract (tests/reader_contract.py) run against every transport reader."""

from __future__ import annotations

from typing import Any

import pytest

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
