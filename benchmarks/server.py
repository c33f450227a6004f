"""An HTTP Range server on 127.0.0.1 that behaves like a distant object store.

Why: the benchmarks compare readers by what a remote read costs, so the server adds a fixed
latency to every request (a round trip) and shares one bandwidth cap between all connections
(one network link: concurrent requests split it, they do not each get the full rate), and it
counts requests, body bytes and open connections (current and the high-water mark since the
last reset), independently of any reader's own counters.
"""

from __future__ import annotations

import email.utils
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")
_SUFFIX = re.compile(r"bytes=-(\d+)")
_PIECE = 64 * 1024


class Link:
    """A shared bandwidth cap: each piece of a body waits for its slot on the link."""

    def __init__(self, bandwidth: float | None) -> None:
        self.bandwidth = bandwidth
        self._lock = threading.Lock()
        self._free_at = 0.0

    def send(self, nbytes: int) -> None:
        if not self.bandwidth:
            return
        with self._lock:
            now = time.monotonic()
            self._free_at = max(self._free_at, now) + nbytes / self.bandwidth
            delay = self._free_at - now
        time.sleep(delay)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def setup(self) -> None:
        super().setup()
        self.server.owner.connection(+1)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner.connection(-1)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        owner.count(requests=1)
        if owner.latency:
            time.sleep(owner.latency)
        file = (owner.root / unquote(urlsplit(self.path).path).lstrip("/")).resolve()
        if not file.is_file() or owner.root not in file.parents:
            self._head(404, 0, {})
            return
        stat = file.stat()
        start, end, status = 0, stat.st_size, 200
        match = _RANGE.fullmatch(self.headers.get("Range", "").strip())
        suffix = _SUFFIX.fullmatch(self.headers.get("Range", "").strip())
        if suffix:  # the last n bytes, as S3, GCS and nginx answer bytes=-n
            start = max(0, stat.st_size - int(suffix[1]))
            if int(suffix[1]) == 0 or stat.st_size == 0:
                self._head(416, 0, {"Content-Range": f"bytes */{stat.st_size}"})
                return
            status = 206
        elif match:
            start = int(match[1])
            end = min(stat.st_size, int(match[2]) + 1) if match[2] else stat.st_size
            if start >= end:
                self._head(416, 0, {"Content-Range": f"bytes */{stat.st_size}"})
                return
            status = 206
        headers = {
            "Accept-Ranges": "bytes",
            "ETag": f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"',
            "Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
        }
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{stat.st_size}"
        self._head(status, end - start, headers)
        if not head:
            self._body(file, start, end)

    def _head(self, status: int, length: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _body(self, file: Path, start: int, end: int) -> None:
        owner = self.server.owner
        with open(file, "rb") as f:
            f.seek(start)
            while start < end:
                piece = f.read(min(_PIECE, end - start))
                if not piece:
                    break
                owner.link.send(len(piece))
                owner.count(bytes_sent=len(piece))
                self.wfile.write(piece)
                start += len(piece)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many files in flight open many connections at once: a short listen backlog (the default
    # is 5) would drop SYNs and add the kernel's 1 s retransmit to some of them.
    request_queue_size = 1024

    def handle_error(self, request: object, client_address: object) -> None:
        """A client hanging up mid-body (readers cancel unneeded transfers) is not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]
    owner: SlowRangeServer


class SlowRangeServer:
    """Serve ``root`` read-only with byte ranges, ``latency`` s per request, one shared link.

    Use as a context manager; ``url(name)`` gives a file's URL; ``requests`` and
    ``bytes_sent`` count what was asked and sent since the last ``reset()``;
    ``connections_peak`` is the most connections open at once since then (a connection still
    open at the reset counts from its level).
    """

    def __init__(
        self, root: str | os.PathLike[str], latency: float = 0.05, bandwidth: float | None = 100e6
    ) -> None:
        self.root = Path(root).resolve()
        self.latency = latency
        self.link = Link(bandwidth)
        self.requests = 0
        self.bytes_sent = 0
        self.connections_open = 0
        self.connections_peak = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def count(self, requests: int = 0, bytes_sent: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.bytes_sent += bytes_sent

    def connection(self, delta: int) -> None:
        with self._lock:
            self.connections_open += delta
            self.connections_peak = max(self.connections_peak, self.connections_open)

    def reset(self) -> None:
        with self._lock:
            self.requests = self.bytes_sent = 0
            self.connections_peak = self.connections_open

    def url(self, relpath: str) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/{quote(relpath)}"

    def __enter__(self) -> SlowRangeServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
