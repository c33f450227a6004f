"""Issue 12's hostile servers against the other routes to an http(s) file (issue 20): fsspec's
HTTP filesystem (config.use_obstore=False), a cache chained in front of it
(`simplecache::http://...`, whose first read downloads the whole file) and remfile
(config.use_remfile=True). Each keeps the guarantees of our own requests: a length beyond
what was asked is refused before it is allocated, redirects stay on the host, one call has a
total deadline, a 200 to a range request is refused at once, credentials never follow
another host nor reach anything stored. Victims run in a child process (tests/hostile.py).
"""

from __future__ import annotations

import base64
import gzip
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_attacks_servers import QUICK, _lying_length

import hostile_files as hf
from hostile import run_victim
from servers import RangeHTTPServer

ROUTES = {  # how a URL reaches the route: settings, and the URL as passed
    "fsspec": ({"use_obstore": False}, lambda url: url),
    "simplecache": ({}, lambda url: "simplecache::" + url),
    "remfile": ({"use_remfile": True}, lambda url: url),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("routes")
    hf.small_hdf5(directory / "file.nwb")
    hf.nested_groups(directory / "deep.nwb", depth=40, padding=600_000)
    return directory


@pytest.fixture
def server(root: Path) -> Iterator[RangeHTTPServer]:
    with RangeHTTPServer(root, nodelay=True) as srv:
        yield srv


def _victim(route: str, body: str, url: str, settings: dict | None = None, **kwargs):  # noqa: ANN202
    extra, form = ROUTES[route]
    return run_victim(body, URL=form(url), settings={**QUICK, **extra, **(settings or {})}, **kwargs)


def _lying_whole(length: int):  # noqa: ANN202 - an override
    """A 200 with a Content-Length of `length` to a GET without Range (a cache's download of
    the whole file), two pieces of a body, then a hang-up; a range's answer as _lying_length's."""
    ranged = _lying_length(length, whole=False)

    def override(handler, method: str, path: str) -> bool:  # noqa: ANN001
        if method != "GET" or handler.headers.get("Range"):
            return ranged(handler, method, path)
        handler.send_response(200)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        for _ in range(2):
            handler.wfile.write(b"{" * 4096)
            handler.wfile.flush()
            time.sleep(0.2)
        handler.close_connection = True
        return True
    return override


@pytest.mark.parametrize("route", ["fsspec", "remfile"])  # a cache asks for the whole file
def test_a_body_longer_than_the_range_is_not_read(server: RangeHTTPServer, route: str) -> None:
    """A range's answer that announces and sends 256 MiB: refused at its header, so the
    server gets little of it onto the wire (a reader that took it would hold it all, and
    retry)."""
    sent = [0]

    def flood(handler, method: str, path: str) -> bool:  # noqa: ANN001
        if path != "/file.nwb" or not handler.headers.get("Range"):
            return False
        handler.send_response(206)
        first, last = handler.headers["Range"].split("=")[1].split("-")
        handler.send_header("Content-Range", f"bytes {first}-{last}/{1 << 30}")
        handler.send_header("Content-Length", str(256 << 20))
        handler.end_headers()
        try:
            for _ in range(256):
                handler.wfile.write(b"\0" * (1 << 20))
                sent[0] += 1 << 20
        except OSError:
            pass
        handler.close_connection = True
        return True

    server.override = flood
    victim = _victim(route, "return lazynwb.get_internal_paths(URL)", server.url("file.nwb"))
    victim.refused("SourceError", within=20)
    assert sent[0] <= 16 << 20, sent


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_content_length_of_50_gb_is_refused(server: RangeHTTPServer, route: str) -> None:
    server.override = _lying_whole(50_000_000_000)
    victim = _victim(route, "return lazynwb.get_internal_paths(URL)", server.url("file.nwb"),
                     headroom_mb=2048, timeout=180)
    victim.refused("SourceError", within=20)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_redirects_stay_on_the_same_host(root: Path, server: RangeHTTPServer, route: str) -> None:
    with RangeHTTPServer(root, nodelay=True) as elsewhere:
        def redirect(handler, method: str, path: str) -> bool:  # noqa: ANN001
            """GETs redirected; a HEAD answered in place (remfile's route learns the size by
            our own HEAD, so only its GETs, remfile's, meet the redirect)."""
            if method == "HEAD" and path.startswith(("/same/", "/away/")):
                handler.send_response(200)
                handler.send_header("Content-Length", str((root / path.split("/")[-1]).stat().st_size))
                handler.send_header("Accept-Ranges", "bytes")
                handler.end_headers()
                return True
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
        away = _victim(route, body, server.url("away/file.nwb"))
        away.refused("SourceError", "redirect", f"127.0.0.1:{elsewhere.port}", within=20)
        assert elsewhere.stats.requests == 0
        same = _victim(route, body, server.url("same/file.nwb"))
        assert same.value > 5, same.describe()
        allowed = _victim(route, body, server.url("away/file.nwb"),
                          settings={"allowed_redirect_hosts": [f"127.0.0.1:{elsewhere.port}"]})
        assert allowed.value == same.value and elsewhere.stats.requests > 0, allowed.describe()


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_one_call_has_a_total_deadline(server: RangeHTTPServer, route: str) -> None:
    """Answers just inside the request timeout (many rounds), or, for the cache's one
    download of the whole file (24 MB), bytes trickling at 1 MB/s: the call ends by its
    deadline either way."""
    server.latency = 0.8
    if route == "simplecache":
        server.latency, server.bandwidth = 0.0, 1e6
    victim = _victim(route, "return len(lazynwb.get_internal_paths(URL))", server.url("deep.nwb"),
                     settings={"request_timeout": 1.0, "call_deadline": 6.0}, timeout=150)
    victim.refused("TransportError", "deadline", within=12)


@pytest.mark.parametrize("route", ["fsspec", "remfile"])  # a cache asks for the whole file
def test_200_to_a_range_request_fails_at_once(server: RangeHTTPServer, route: str) -> None:
    def whole(handler, method: str, path: str) -> bool:  # noqa: ANN001
        file = Path(server.root) / path.lstrip("/")
        if not file.is_file() or not handler.headers.get("Range"):
            return False
        data = file.read_bytes()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        return True

    def counted(handler, method: str, path: str) -> bool:  # noqa: ANN001
        if path.endswith("file.nwb") and handler.headers.get("Range"):
            ranged.append(handler.headers["Range"])
        return whole(handler, method, path)

    ranged: list[str] = []
    server.override = counted
    victim = _victim(route, "return lazynwb.get_internal_paths(URL)", server.url("file.nwb"))
    message = victim.refused("SourceError", within=10)
    assert "byte ranges" in message or "ignores Range" in message, message
    assert len(ranged) == 1, ranged  # never retried


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_userinfo_becomes_basic_auth_and_is_never_stored(
    server: RangeHTTPServer, route: str, tmp_path: Path
) -> None:
    secret = "PaSsWoRd0xE5F6"
    server.required_auth = f"reader:{secret}"
    url = server.url("file.nwb").replace("http://", f"http://reader:{secret}@")
    out = tmp_path / "out"
    cache = {"LAZYNWB_CACHE_DIR": str(tmp_path / "cache")}
    body = """
    paths = lazynwb.get_internal_paths(URL)
    lazynwb.convert_nwb_tables([URL], OUT, output_format="parquet", disable_progress=True)
    html = lazynwb.LazyNWB(URL)._repr_html_()
    __import__("lazynwb_explorer.catalog.store", fromlist=["x"]).flush()
    return [len(paths), html]
    """
    victim = _victim(route, body, url, OUT=str(out), env=cache)
    count, html = victim.value
    assert count > 5 and secret not in html, victim.describe()
    expected = "Basic " + base64.b64encode(f"reader:{secret}".encode()).decode()
    assert set(server.stats.authorizations) == {expected}
    found = []
    for path in [*(tmp_path / "cache").rglob("*"), *out.rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            for decode in (lambda d: d, zlib.decompress, gzip.decompress):
                try:
                    text = decode(data)
                except Exception:  # noqa: BLE001 - not in that encoding
                    continue
                if secret.encode() in text:
                    found.append(path.name)
    assert not found, found


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_failing_server_is_a_transport_error_not_a_missing_file(server: RangeHTTPServer, route: str) -> None:
    """fsspec's HTTP info() reports any failure as FileNotFoundError: 500s must still be
    retried, and reported as what they are."""
    server.inject("500", count=1000)
    victim = _victim(route, "return lazynwb.get_internal_paths(URL)", server.url("file.nwb"),
                     settings={"max_retries": 1})
    message = victim.refused("TransportError", "500")
    assert server.stats.requests >= 2, server.stats.log  # retried
    assert "no such file" not in message
