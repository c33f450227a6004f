"""The reader contract (tests/reader_contract.py) run against every transport reader."""

from __future__ import annotations

from typing import Any

import pytest

from reader_contract import ReaderContract


class TestLocalReader(ReaderContract):
    where = "local"


class TestHTTPReader(ReaderContract):
    where = "http"

    def server_stats(self, request: pytest.FixtureRequest) -> Any:
        return request.getfixturevalue("http_server")


class TestS3Reader(ReaderContract):
    where = "s3"

    def server_stats(self, request: pytest.FixtureRequest) -> Any:
        return request.getfixturevalue("s3_server")
