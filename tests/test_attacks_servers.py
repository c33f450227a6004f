"""Hostile servers on 127.0.0.1, each an attack on a victim call run in a child process under
an address-space cap and a timeout (tests/hostile.py): a Content-Length of 50 GB, redirects
to another host, answers slow enough to take half an hour in all, a 200 to a Range request,
credentials in the URL, failures reported as the wrong request.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import hostile_files as hf
from hostile import run_victim
from servers import RangeHTTPServer

QUICK = {"max_retries": 5, "retry_deadline": 20.0, "request_timeout": 2.0}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("servers")
    hf.small_hdf5(directory / "file.nwb")
    hf.small_zarr(directory / "store.nwb.zarr")
    hf.nested_groups(directory / "deep.nwb", depth=40, padding=600_000)
    return directory


@pytest.fixture
def server(root: Path) -> Iterator[RangeHTTPServer]:
    with RangeHTTPServer(root, nodelay=True) as srv:
        yield srv


def _lying_length(length: int, whole: bool):  # noqa: ANN202 - an override
    """Answers with a length of `length` bytes (whole: the object's, as a range from 0 and
    in Content-Length; else in Content-Length only) and two pieces of a body, then hangs up."""
    def override(handler, method: str, path: str) -> bool:  # noqa: ANN001
        if (whole and not path.endswith(".zmetadata")) or (not whole and not handler.headers.get("Range")):
            return False
        handler.send_response(206)
        if whole:
            handler.send_header("Content-Range", f"bytes 0-{length - 1}/{length}")
        else:  # the range asked for, with a Content-Length far beyond it
            first, last = handler.headers["Range"].split("=")[1].split("-")
            handler.send_header("Content-Range", f"bytes {first}-{last}/{1 << 40}")
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        for _ in range(2):
            handler.wfile.write(b"{" * 4096)
            handler.wfile.flush()
            time.sleep(0.2)
        handler.close_connection = True
        return True
    return override


@pytest.mark.parametrize("whole", [True, False], ids=["whole-object GET", "range GET"])
def test_content_length_of_50_gb_is_refused(server: RangeHTTPServer, whole: bool) -> None:
    """Item 2: `memory allocation of 50000000000 bytes failed`, exit 134, from one header."""
    server.override = _lying_length(50_000_000_000, whole)
    url = server.url("store.nwb.zarr" if whole else "file.nwb")
    victim = run_victim("return lazynwb.get_internal_paths(URL)", URL=url, settings=QUICK,
                        headroom_mb=2048, timeout=180)
    victim.refused("SourceError", "50000000000", within=10)


def test_redirects_stay_on_the_same_host(root: Path, server: RangeHTTPServer) -> None:
    """Item 10: a redirect to another host and port was followed (blind SSRF); one to the
    same host still is, and one elsewhere is followed when config allows that host."""
    with RangeHTTPServer(root, nodelay=True) as elsewhere:
        def redirect(handler, method: str, path: str) -> bool:  # noqa: ANN001
            if path.startswith("/same/"):
                target = server.url(path.removeprefix("/same/"))
            elif path.startswith("/away/"):
                target = elsewhere.url(path.removeprefix("/away/"))
            else:
                return False
            handler.send_response(302)
            handler.send_header("Location", target)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return True

        server.override = redirect
        body = "return len(lazynwb.get_internal_paths(URL))"
        away = run_victim(body, URL=server.url("away/file.nwb"), settings=QUICK)
        away.refused("SourceError", "redirect", f"127.0.0.1:{elsewhere.port}", within=10)
        assert elsewhere.stats.requests == 0
        same = run_victim(body, URL=server.url("same/file.nwb"), settings=QUICK)
        assert same.value > 5, same.describe()
        with_password = server.url("away/file.nwb").replace("http://", "http://reader:Pa55word@")
        allowed = run_victim(body, URL=with_password,
                             settings={**QUICK, "allowed_redirect_hosts": [f"127.0.0.1:{elsewhere.port}"]})
        assert allowed.value == same.value and elsewhere.stats.requests > 0, allowed.describe()
        assert set(elsewhere.stats.authorizations) == {None}  # credentials stay with their host


def test_one_call_has_a_total_deadline(server: RangeHTTPServer) -> None:
    """Item 11: every answer arrives just inside the request timeout; a file needing many
    rounds made one call take minutes. With config.call_deadline = 6 s it ends by then."""
    server.latency = 0.8
    victim = run_victim("return len(lazynwb.get_internal_paths(URL))", URL=server.url("deep.nwb"),
                        settings={**QUICK, "request_timeout": 1.0, "call_deadline": 6.0}, timeout=150)
    victim.refused("TransportError", "deadline", within=9)


def test_200_to_a_range_request_fails_at_once(server: RangeHTTPServer) -> None:
    """Item 15: a server that ignores Range (200, the whole file) was asked 6 times."""
    def whole(handler, method: str, path: str) -> bool:  # noqa: ANN001
        file = Path(server.root) / path.lstrip("/")
        if not file.is_file():
            return False  # 404, as the server would
        data = file.read_bytes()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        return True

    server.override = whole
    victim = run_victim("return lazynwb.get_internal_paths(URL)", URL=server.url("file.nwb"), settings=QUICK)
    victim.refused("SourceError", "without byte ranges", within=5)
    # the range, then the Zarr root keys (is the URL a store's directory index?): none retried
    paths = [entry.path for entry in server.stats.log]
    assert len(paths) <= 5 and len(set(paths)) == len(paths), paths


def test_http_failure_names_the_request_that_failed(server: RangeHTTPServer) -> None:
    """Item 15: 500s on an .nwb URL were reported as "reading '.zmetadata' failed"."""
    server.inject("500", count=1000)
    victim = run_victim("return lazynwb.get_internal_paths(URL)", URL=server.url("file.nwb"),
                        settings={**QUICK, "max_retries": 1})
    message = victim.refused("TransportError", "bytes 0-", "500")
    assert ".zmetadata" not in message


def test_userinfo_in_an_object_store_url_is_an_error() -> None:
    """Item 15: user:password@ where it cannot be used (s3://) is an error, never dropped."""
    victim = run_victim('return lazynwb.get_internal_paths("s3://reader:Pa55word@bucket/file.nwb")')
    message = victim.refused("SourceError", "user:password@", "storage_options")
    assert "Pa55word" not in message


def test_userinfo_becomes_basic_auth(server: RangeHTTPServer) -> None:
    """Item 15: `user:pass@` URLs sent no Authorization header, silently."""
    server.required_auth = "reader:Pa55word"
    url = server.url("file.nwb").replace("http://", "http://reader:Pa55word@")
    victim = run_victim("return len(lazynwb.get_internal_paths(URL))", URL=url, settings=QUICK)
    assert victim.value > 5, victim.describe()
    expected = "Basic " + base64.b64encode(b"reader:Pa55word").decode()
    assert set(server.stats.authorizations) == {expected}
