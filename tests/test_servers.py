"""Tests for the test infrastructure in ``tests/servers.py`` (real sockets, no mocks)."""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

try:
    from tests.servers import MotoS3Server, RangeHTTPServer
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from servers import MotoS3Server, RangeHTTPServer

DATA = bytes(range(256)) * 4 + b"tail!"  # 1029 bytes
SIZE = len(DATA)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "sub dir").mkdir(parents=True)
    (r / "sub dir" / "f.bin").write_bytes(DATA)
    (r / "empty.bin").write_bytes(b"")
    (r / "z.zarr" / "a").mkdir(parents=True)
    (r / "z.zarr" / "a" / ".zattrs").write_text('{"x": 1}')
    (tmp_path / "secret.txt").write_text("top secret")
    return r


@pytest.fixture
def srv(root: Path):
    with RangeHTTPServer(root) as s:
        yield s


def fetch(
    srv: RangeHTTPServer,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    conn: http.client.HTTPConnection | None = None,
    timeout: float = 5,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request with http.client; ``path`` is sent verbatim."""
    c = conn or http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.headers, r.read()
    finally:
        if conn is None:
            c.close()


F = "/sub%20dir/f.bin"


# --------------------------------------------------------------------------- HTTP
def test_full_get_headers_and_url(srv: RangeHTTPServer) -> None:
    assert srv.url("sub dir/f.bin") == f"http://127.0.0.1:{srv.port}/sub%20dir/f.bin"
    with urllib.request.urlopen(srv.url("sub dir/f.bin"), timeout=5) as r:
        assert r.status == 200
        assert r.read() == DATA
        h = r.headers
    assert h["Content-Length"] == str(SIZE)
    assert h["Accept-Ranges"] == "bytes"
    assert h["Content-Type"] == "application/octet-stream"
    assert h["ETag"].startswith('"') and h["Last-Modified"].endswith("GMT")
    assert "Content-Range" not in h
    # zarr-style keys are plain files
    assert fetch(srv, "/z.zarr/a/.zattrs")[2] == b'{"x": 1}'


@pytest.mark.parametrize(
    ("rng", "start", "end", "logged"),
    [
        ("bytes=0-9", 0, 10, (0, 10)),
        ("bytes=1000-", 1000, SIZE, (1000, None)),
        ("bytes=-10", SIZE - 10, SIZE, (-10, None)),
        ("bytes=1020-5000", 1020, SIZE, (1020, 5001)),  # clipped to EOF
        ("bytes=-5000", 0, SIZE, (-5000, None)),  # suffix longer than file
    ],
)
def test_range_206(srv: RangeHTTPServer, rng: str, start: int, end: int, logged: tuple) -> None:
    status, h, body = fetch(srv, F, headers={"Range": rng})
    assert status == 206
    assert body == DATA[start:end]
    assert h["Content-Range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert h["Content-Length"] == str(end - start)
    assert srv.stats.log[-1] == ("GET", "/sub dir/f.bin", *logged, 206)


@pytest.mark.parametrize("rng", ["bytes=1029-", "bytes=5000-6000", "bytes=-0"])
def test_range_416(srv: RangeHTTPServer, rng: str) -> None:
    status, h, _ = fetch(srv, F, headers={"Range": rng})
    assert status == 416
    assert h["Content-Range"] == f"bytes */{SIZE}"
    assert fetch(srv, "/empty.bin", headers={"Range": "bytes=0-"})[0] == 416


@pytest.mark.parametrize("rng", ["bytes=5-2", "items=0-1", "bytes=0-1,5-6", "garbage"])
def test_invalid_range_ignored(srv: RangeHTTPServer, rng: str) -> None:
    status, h, body = fetch(srv, F, headers={"Range": rng})
    assert (status, body) == (200, DATA)
    assert srv.stats.log[-1][2:4] == (None, None)


def test_head(srv: RangeHTTPServer) -> None:
    status, h, body = fetch(srv, F, method="HEAD")
    assert (status, body, h["Content-Length"]) == (200, b"", str(SIZE))
    status, h, body = fetch(srv, F, method="HEAD", headers={"Range": "bytes=10-19"})
    assert (status, body, h["Content-Length"], h["Content-Range"]) == (
        206,
        b"",
        "10",
        f"bytes 10-19/{SIZE}",
    )
    assert (srv.stats.requests, srv.stats.heads, srv.stats.bytes_sent) == (2, 2, 0)


def test_404_and_traversal(srv: RangeHTTPServer, root: Path) -> None:
    (root / "escape").symlink_to(root.parent / "secret.txt")
    for p in [
        "/missing.bin",
        "/sub%20dir",
        "/sub%20dir/",
        "/",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub%20dir/%2E%2E/%2E%2E/secret.txt",
        "/escape",
        "//etc/passwd",
    ]:
        status, _, body = fetch(srv, p)
        assert status == 404, p
        assert b"secret" not in body
    assert fetch(srv, "/missing.bin", method="HEAD")[0] == 404


def test_counters_exact_keepalive(srv: RangeHTTPServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        fetch(srv, F, headers={"Range": "bytes=0-99"}, conn=conn)
        fetch(srv, F, conn=conn)
        fetch(srv, F, method="HEAD", conn=conn)
        fetch(srv, "/nope", conn=conn)
    finally:
        conn.close()
    s = srv.stats
    assert (s.requests, s.gets, s.heads, s.faults) == (4, 3, 1, 0)
    assert s.bytes_sent == 100 + SIZE + len(b"not found\n")
    assert s.log == [
        ("GET", "/sub dir/f.bin", 0, 100, 206),
        ("GET", "/sub dir/f.bin", None, None, 200),
        ("HEAD", "/sub dir/f.bin", None, None, 200),
        ("GET", "/nope", None, None, 404),
    ]
    held = srv.stats
    srv.reset_stats()
    assert (held.requests, held.bytes_sent, held.log) == (0, 0, [])


def test_latency_and_bandwidth(srv: RangeHTTPServer) -> None:
    srv.latency = 0.2
    t0 = time.monotonic()
    fetch(srv, F, headers={"Range": "bytes=0-0"})
    assert time.monotonic() - t0 >= 0.2
    srv.latency = 0.0
    srv.bandwidth = 5000  # 1029 bytes -> ~0.2 s
    t0 = time.monotonic()
    assert fetch(srv, F)[2] == DATA
    assert time.monotonic() - t0 >= 0.18


# ------------------------------------------------------------------ HTTP faults
@pytest.mark.parametrize("code", [500, 503])
def test_fault_status(srv: RangeHTTPServer, code: int) -> None:
    srv.inject(str(code), count=2)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        assert fetch(srv, F, conn=conn)[0] == code
        assert fetch(srv, F, conn=conn)[0] == code
        assert fetch(srv, F, conn=conn)[0] == 200  # consumed; keep-alive survived
    finally:
        conn.close()
    assert (srv.stats.requests, srv.stats.faults, srv.pending_faults) == (3, 2, 0)


def test_fault_path_and_method_filter(srv: RangeHTTPServer) -> None:
    srv.inject("503", path_contains=".zattrs", method="GET")
    assert fetch(srv, F)[0] == 200
    assert fetch(srv, "/z.zarr/a/.zattrs", method="HEAD")[0] == 200
    assert srv.pending_faults == 1
    assert fetch(srv, "/z.zarr/a/.zattrs")[0] == 503
    with pytest.raises(ValueError):
        srv.inject("teapot")


def test_fault_reset(srv: RangeHTTPServer) -> None:
    srv.inject("reset")
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        fetch(srv, F)
    assert srv.stats.log[-1] == ("GET", "/sub dir/f.bin", None, None, None)
    assert fetch(srv, F)[0] == 200
    assert srv.stats.faults == 1


def test_fault_short(srv: RangeHTTPServer) -> None:
    srv.inject("short")
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        c.request("GET", F, headers={"Range": "bytes=0-99"})
        r = c.getresponse()
        assert (r.status, r.headers["Content-Length"]) == (206, "100")
        with pytest.raises(http.client.IncompleteRead) as ei:
            r.read()
        assert len(ei.value.partial) == 50
    finally:
        c.close()
    assert srv.stats.bytes_sent == 50


def test_fault_bad_range(srv: RangeHTTPServer) -> None:
    srv.inject("bad_range", count=2)
    status, h, body = fetch(srv, F, headers={"Range": "bytes=10-19"})
    assert status == 206 and h["Content-Range"] != f"bytes 10-19/{SIZE}"
    assert len(body) == 10 and body != DATA[10:20]
    status, h, _ = fetch(srv, F)  # even without Range
    assert status == 206 and h["Content-Range"] != f"bytes 0-{SIZE - 1}/{SIZE}"


def test_fault_stall_times_out_and_stop_is_prompt(root: Path) -> None:
    before = set(threading.enumerate())
    srv = RangeHTTPServer(root, stall_seconds=0.3).start()
    srv.inject("stall")
    with pytest.raises((TimeoutError, socket.timeout)):
        fetch(srv, F, timeout=0.1)
    t0 = time.monotonic()
    assert fetch(srv, F)[0] == 200  # stall is consumed
    assert time.monotonic() - t0 < 0.2
    # A 30 s stall in flight must not hang stop().
    srv.stall_seconds = 30
    srv.inject("stall")
    errors: list[BaseException] = []

    def client() -> None:
        try:
            fetch(srv, F, timeout=10)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=client)
    t.start()
    deadline = time.monotonic() + 2
    while srv.stats.faults < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 1.5
    t.join(5)
    assert errors and not t.is_alive()
    assert set(threading.enumerate()) - before == set()


def test_start_stop_fast_no_leaks(root: Path) -> None:
    before = set(threading.enumerate())
    t0 = time.monotonic()
    srv = RangeHTTPServer(root).start()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    fetch(srv, F, conn=conn)  # leave an idle keep-alive connection open
    srv.stop()
    conn.close()
    assert time.monotonic() - t0 < 2
    assert set(threading.enumerate()) - before == set()
    srv.stop()  # idempotent


# --------------------------------------------------------------------------- S3
@pytest.fixture(scope="module")
def s3():
    with MotoS3Server() as server:
        yield server


def test_s3_upload_and_ranged_get(s3: MotoS3Server, root: Path) -> None:
    s3.create_bucket("infra-test-bucket")
    s3.upload_file(root / "sub dir" / "f.bin", "infra-test-bucket", "data/f.bin")
    keys = s3.upload_dir(root / "z.zarr", "infra-test-bucket", "store.zarr/")
    assert keys == ["store.zarr/a/.zattrs"]
    s3.reset_stats()
    c = s3.client()
    r = c.get_object(Bucket="infra-test-bucket", Key="data/f.bin", Range="bytes=10-29")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert r["ContentRange"] == f"bytes 10-29/{SIZE}"
    assert r["Body"].read() == DATA[10:30]
    obj = c.get_object(Bucket="infra-test-bucket", Key="store.zarr/a/.zattrs")
    assert obj["Body"].read() == b'{"x": 1}'
    assert (s3.stats.requests, s3.stats.gets, s3.stats.bytes_sent) == (2, 2, 28)
    assert s3.stats.log[0][:4] == ("GET", "/infra-test-bucket/data/f.bin", "bytes=10-29", 206)


def test_s3_anonymous_range_needs_public(s3: MotoS3Server, root: Path) -> None:
    s3.create_bucket("infra-public-bucket")
    s3.upload_file(root / "sub dir" / "f.bin", "infra-public-bucket", "f.bin")
    url = f"{s3.endpoint_url}/infra-public-bucket/f.bin"
    req = urllib.request.Request(url, headers={"Range": "bytes=-5"})
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(req, timeout=5)
    assert ei.value.code == 403
    s3.make_public("infra-public-bucket")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert (r.status, r.headers["Content-Range"], r.read()) == (
            206,
            f"bytes {SIZE - 5}-{SIZE - 1}/{SIZE}",
            DATA[-5:],
        )


def test_s3_bucket_region(s3: MotoS3Server) -> None:
    s3.create_bucket("infra-eu-bucket", region="eu-west-1")
    s3.reset_stats()
    h = s3.client().head_bucket(Bucket="infra-eu-bucket")["ResponseMetadata"]["HTTPHeaders"]
    assert h["x-amz-bucket-region"] == "eu-west-1"
    assert s3.stats.heads == 1
    assert s3.stats.log[-1][:4] == ("HEAD", "/infra-eu-bucket", None, 200)
    assert set(s3.env_vars()) >= {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"}
    assert os.environ.get("AWS_ENDPOINT_URL") != s3.endpoint_url  # nothing set globally


def test_s3_start_stop_fast_no_leaks() -> None:
    before = set(threading.enumerate())
    t0 = time.monotonic()
    with MotoS3Server() as server:
        server.client().list_buckets()
    assert time.monotonic() - t0 < 2
    assert set(threading.enumerate()) - before == set()
