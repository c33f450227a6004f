"""The transport over real sockets: retries on faults, counters, If-Match, S3 regions."""

from __future__ import annotations

import time

import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.errors import SourceError, TransportError
from lazynwb_explorer.transport import counting, discover_bucket_region, forget_reader, open_reader


@pytest.fixture
def blob(served):
    path = served / "blob.bin"
    if not path.exists():
        path.write_bytes(bytes(range(256)) * 4096)  # 1 MiB of known bytes
    return path


@pytest.fixture
def fast_retries():
    saved = (lazynwb.config.max_retries, lazynwb.config.retry_deadline, lazynwb.config.request_timeout)
    lazynwb.config.max_retries, lazynwb.config.retry_deadline, lazynwb.config.request_timeout = 4, 20.0, 2.0
    lazynwb.transport.clear_stores()
    yield
    lazynwb.config.max_retries, lazynwb.config.retry_deadline, lazynwb.config.request_timeout = saved
    lazynwb.transport.clear_stores()


@pytest.mark.parametrize("fault", ["500", "503", "reset", "short", "bad_range", "stall"])
def test_faults_are_retried_to_the_right_bytes(http_server, blob, fast_retries, fault) -> None:
    url = http_server.url(blob.name)
    forget_reader(url)
    reader = open_reader(url)
    reader.size()
    expected = blob.read_bytes()[1000:5000]
    http_server.stall_seconds = 5.0
    http_server.inject(fault, count=1, method="GET")
    with counting() as counted:
        started = time.monotonic()
        data = reader.read(1000, 5000)
    assert data == expected
    assert counted.retries >= 1
    assert time.monotonic() - started < 15
    http_server.clear_faults()


def test_persistent_5xx_gives_up_within_the_deadline(http_server, blob, fast_retries) -> None:
    url = http_server.url(blob.name)
    forget_reader(url)
    reader = open_reader(url)
    reader.size()
    http_server.inject("503", count=100, method="GET")
    started = time.monotonic()
    with pytest.raises(TransportError) as info:
        reader.read(0, 100)
    assert time.monotonic() - started < 20
    assert url in str(info.value) and "attempt" in str(info.value)
    http_server.clear_faults()


def test_changed_file_is_an_error_not_a_mix(http_server, served) -> None:
    path = served / "changing.bin"
    path.write_bytes(b"a" * 100_000)
    url = http_server.url(path.name)
    forget_reader(url)
    reader = open_reader(url)
    assert reader.read(0, 10) == b"a" * 10
    path.write_bytes(b"b" * 100_001)  # new size and mtime: a new ETag
    with pytest.raises(SourceError, match="changed"):
        reader.read(10, 20)
    assert open_reader(url).read(0, 10) == b"b" * 10  # the next call starts afresh


def test_bucket_region_is_discovered_per_bucket(s3_server) -> None:
    s3_server.create_bucket("bucket-in-eu", region="eu-west-1")
    s3_server.create_bucket("bucket-in-us")
    assert discover_bucket_region("bucket-in-eu", endpoint=s3_server.endpoint_url) == "eu-west-1"
    assert discover_bucket_region("bucket-in-us", endpoint=s3_server.endpoint_url) == "us-east-1"
    s3_server.reset_stats()
    assert discover_bucket_region("bucket-in-eu", endpoint=s3_server.endpoint_url) == "eu-west-1"
    assert s3_server.stats.requests == 0  # cached per bucket


def test_nested_counting_blocks_each_count_their_own() -> None:
    """Counters compare equal by value; leaving one block must not drop another's."""
    from lazynwb_explorer.transport.counters import record_request

    with counting() as outer:
        with counting() as inner:
            record_request(5)  # both see it, so the two are equal here
        record_request(1)
    assert (outer.requests, outer.bytes) == (2, 6)
    assert (inner.requests, inner.bytes) == (1, 5)
