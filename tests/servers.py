"""Real-socket test servers for exercising remote reads without mocks.

Two servers live here, both bound to ``127.0.0.1`` on an ephemeral port and
both running in background threads of the test process:

``RangeHTTPServer``
    A small, strict HTTP/1.1 file server with byte-range support, request and
    byte counters, and knobs for latency, bandwidth and fault injection.  It is
    what the HTTP code path of the reader is tested against: we need to know
    *exactly* how many requests and bytes a lazy read costs, and how the reader
    copes with flaky servers.

``MotoS3Server``
    moto's S3 implementation served over a real socket (werkzeug), wrapped in a
    WSGI middleware that counts requests and body bytes.  It is what the S3 code
    path (obstore / boto3) is tested against, including per-bucket region
    discovery via ``HEAD bucket`` -> ``x-amz-bucket-region``.

Nothing here touches global state on import: no environment variables are set
and moto is only imported when a ``MotoS3Server`` is started.
"""

from __future__ import annotations

import base64
import email.utils
import html
import os
import random
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "ETAG_CHANGE",
    "FAULTS",
    "HTTPLogEntry",
    "HTTPStats",
    "MotoS3Server",
    "RangeHTTPServer",
    "S3LogEntry",
    "S3Stats",
]

HOST = "127.0.0.1"
#: Fault kinds accepted by :meth:`RangeHTTPServer.inject`.
FAULTS = frozenset({"500", "503", "reset", "short", "stall", "bad_range"})
#: Extra kind for :meth:`RangeHTTPServer.random_faults`: the file's ETag changes from this
#: request on (as if it were replaced by an upload with the same bytes); the request itself is
#: answered normally, with the new ETag.
ETAG_CHANGE = "etag"
_JOIN_TIMEOUT = 2.0
_CHUNK = 64 * 1024


# --------------------------------------------------------------------------- #
# Connection-tracking socketserver mix-in (shared by both servers)
# --------------------------------------------------------------------------- #
class _TrackingMixIn:
    """Run each connection in a daemon thread *and* remember it.

    The stdlib/werkzeug threading servers use daemon threads that are never
    joined, and idle keep-alive connections (e.g. from a boto3 or urllib3 pool)
    keep those threads blocked in ``recv`` forever.  To stop without leaking
    threads we remember every live connection, shut its socket down on stop
    (which unblocks the reader) and join the threads with a timeout.
    """

    daemon_threads = True
    block_on_close = False

    def _init_tracking(self) -> None:
        self._conn_lock = threading.Lock()
        self._conns: dict[socket.socket, threading.Thread] = {}

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,  # type: ignore[attr-defined]
            args=(request, client_address),
            name=f"{type(self).__name__}-conn",
            daemon=True,
        )
        with self._conn_lock:
            self._conns[request] = thread
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        try:
            super().shutdown_request(request)  # type: ignore[misc]
        finally:
            with self._conn_lock:
                self._conns.pop(request, None)

    def close_connections(self, timeout: float = _JOIN_TIMEOUT) -> None:
        """Force-close every open connection and join its handler thread."""
        with self._conn_lock:
            items = list(self._conns.items())
        for sock, _ in items:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for _, thread in items:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response (timeouts, cancelled reads, our own
        # faults, stop()) are expected in these tests: stay quiet about them.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)  # type: ignore[misc]


# --------------------------------------------------------------------------- #
# RangeHTTPServer
# --------------------------------------------------------------------------- #
class HTTPLogEntry(NamedTuple):
    """One answered (or faulted) request of :class:`RangeHTTPServer`.

    ``range_start``/``range_end`` describe the *requested* range using Python
    slice semantics: ``bytes=a-b`` -> ``(a, b + 1)``, ``bytes=a-`` ->
    ``(a, None)``, suffix ``bytes=-n`` -> ``(-n, None)``, no (or an ignored,
    unparsable) Range header -> ``(None, None)``.  ``status`` is the HTTP status
    sent, or ``None`` when no response was sent (``reset`` fault, or a stalled
    request aborted by ``stop()``).
    """

    method: str
    path: str  # URL path, unquoted, with leading "/" and without query string
    range_start: int | None
    range_end: int | None
    status: int | None


@dataclass
class HTTPStats:
    """Counters of :class:`RangeHTTPServer` (mutated under the server's lock).

    ``requests`` counts GET+HEAD requests when they arrive (so stalled ones
    count); ``log`` gets an entry once the status is decided, *before* the body
    is written, and ``bytes_sent`` is bumped before each body chunk is written,
    so a client that has read a response always sees it accounted for.
    """

    requests: int = 0
    gets: int = 0
    heads: int = 0
    bytes_sent: int = 0
    faults: int = 0
    log: list[HTTPLogEntry] = field(default_factory=list)
    #: faults by kind (explicit and random ones; ``"etag"`` for ETag changes)
    faults_by_kind: Counter[str] = field(default_factory=Counter)
    #: TCP connections accepted
    connections: int = 0
    #: the Authorization header of every request (None when absent)
    authorizations: list[str | None] = field(default_factory=list)


@dataclass
class _Fault:
    kind: str
    remaining: int
    path_contains: str | None
    method: str | None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path_contains is None or self.path_contains in path


class _HTTPServer(_TrackingMixIn, ThreadingHTTPServer):
    owner: RangeHTTPServer

    def __init__(self, owner: RangeHTTPServer, address: tuple[str, int]) -> None:
        self.owner = owner
        self._init_tracking()
        super().__init__(address, _RangeHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.owner._lock:
            self.owner.stats.connections += 1
        super().process_request(request, client_address)

    @property
    def live_connections(self) -> int:
        with self._conn_lock:
            return len(self._conns)


class _Range(NamedTuple):
    start: int | None  # requested, slice semantics (see HTTPLogEntry)
    end: int | None
    served: tuple[int, int] | None  # resolved [start, end) or None = unsatisfiable


def _parse_range(header: str | None, size: int) -> _Range | None:
    """Parse a single ``bytes=`` range.  ``None`` means "ignore the header"."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # multi-range / other units: ignored, full 200 (RFC 9110 allows)
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (first.isdigit() or (not first and last.isdigit())):
        return None
    if last and not last.isdigit():
        return None
    if not first:  # suffix: bytes=-n
        n = int(last)
        if n == 0 or size == 0:
            return _Range(-n, None, None)
        return _Range(-n, None, (max(0, size - n), size))
    a = int(first)
    if last:
        b = int(last)
        if b < a:
            return None  # invalid byte-range-spec: ignored
        req = _Range(a, b + 1, None)
        if a >= size:
            return req
        return req._replace(served=(a, min(b + 1, size)))
    if a >= size:
        return _Range(a, None, None)
    return _Range(a, None, (a, size))


class _RangeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "RangeHTTPServer/1.0"
    # Idle keep-alive connections are dropped after this many seconds.
    timeout = 60
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep pytest output clean

    def setup(self) -> None:
        super().setup()
        if self.server.owner.nodelay:
            # Headers and body go out as separate writes: without TCP_NODELAY, Nagle holds
            # the body until the client's (delayed, ~40 ms) ACK of the headers.
            try:
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    # -- helpers ------------------------------------------------------------ #
    def _resolve(self, urlpath: str) -> Path | None:
        """Map a URL path to a regular file under the root, or ``None``."""
        root = self.server.owner.root
        if "\x00" in urlpath:
            return None
        rel = urlpath.lstrip("/")
        candidate = os.path.realpath(os.path.join(root, rel))
        try:
            if os.path.commonpath([root, candidate]) != str(root):
                return None
        except ValueError:
            return None
        return Path(candidate) if os.path.isfile(candidate) else None

    def _directory_index(self, urlpath: str) -> bytes | None:
        """An HTML page linking a directory's entries (as python's http.server writes them:
        'name/' for directories), or None when `urlpath` is not a directory under the root."""
        root = self.server.owner.root
        candidate = os.path.realpath(os.path.join(root, urlpath.lstrip("/")))
        if os.path.commonpath([root, candidate]) != str(root) or not os.path.isdir(candidate):
            return None
        items = []
        for name in sorted(os.listdir(candidate)):
            shown = name + "/" if os.path.isdir(os.path.join(candidate, name)) else name
            items.append(f'<li><a href="{urllib.parse.quote(shown)}">{html.escape(shown)}</a></li>')
        title = html.escape(f"Directory listing for {urlpath}")
        return (f"<!DOCTYPE HTML>\n<html><head><title>{title}</title></head><body><h1>{title}</h1>"
                f"<ul><li><a href=\"../\">../</a></li>{''.join(items)}</ul></body></html>\n").encode()

    def _simple(
        self, status: int, body: bytes, head: bool, extra: dict[str, str] | None = None
    ) -> None:
        owner = self.server.owner
        self.send_response(status)
        if "Content-Type" not in (extra or {}):
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            owner._add_bytes(len(body))
            self.wfile.write(body)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0) and no response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        method = "HEAD" if head else "GET"
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        owner._count_request(method)
        stopping = owner._stopping
        with owner._lock:
            owner.stats.authorizations.append(self.headers.get("Authorization"))
        if owner.override is not None and owner.override(self, method, path):
            return

        if owner.latency > 0 and stopping.wait(owner.latency):
            self._reset()
            return

        if owner.required_query is not None and owner.required_query not in (
            urllib.parse.urlsplit(self.path).query
        ):
            owner._log(HTTPLogEntry(method, path, None, None, 403))
            self._simple(403, b"signature required\n", head)
            return
        if owner.required_auth is not None and self.headers.get("Authorization") != (
            "Basic " + base64.b64encode(owner.required_auth.encode()).decode()
        ):
            owner._log(HTTPLogEntry(method, path, None, None, 401))
            self._simple(401, b"authorization required\n", head)
            return

        fault = owner._take_fault(method, path)
        range_header = self.headers.get("Range")

        if fault == "reset":
            rng = _parse_range(range_header, 1 << 62)
            owner._log(
                HTTPLogEntry(
                    method, path, rng.start if rng else None, rng.end if rng else None, None
                )
            )
            self._reset()
            return
        if fault == "stall" and stopping.wait(owner.stall_seconds):
            owner._log(HTTPLogEntry(method, path, None, None, None))
            self._reset()
            return
        if fault in ("500", "503"):
            rng = _parse_range(range_header, 1 << 62)
            status = int(fault)
            owner._log(
                HTTPLogEntry(
                    method, path, rng.start if rng else None, rng.end if rng else None, status
                )
            )
            self._simple(status, f"injected {status}\n".encode(), head)
            return

        file = self._resolve(path)
        if file is None and owner.directory_index:
            listing = self._directory_index(path)
            if listing is not None:
                owner._log(HTTPLogEntry(method, path, None, None, 200))
                self._simple(200, listing, head, {"Content-Type": "text/html; charset=utf-8"})
                return
        if file is None:
            rng = _parse_range(range_header, 1 << 62)
            owner._log(
                HTTPLogEntry(
                    method, path, rng.start if rng else None, rng.end if rng else None, 404
                )
            )
            self._simple(404, b"not found\n", head)
            return

        st = file.stat()
        size = st.st_size
        rng = _parse_range(range_header, size)
        req_start, req_end = (rng.start, rng.end) if rng else (None, None)
        headers = {
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "ETag": owner._etag(path, size, st.st_mtime_ns),
            "Last-Modified": email.utils.formatdate(st.st_mtime, usegmt=True),
        }
        if not owner.etag:
            del headers["ETag"]
        if not owner.last_modified:
            del headers["Last-Modified"]

        if rng is not None and rng.served is None:
            owner._log(HTTPLogEntry(method, path, req_start, req_end, 416))
            self._simple(
                416, b"range not satisfiable\n", head, {"Content-Range": f"bytes */{size}"}
            )
            return

        start, end = rng.served if rng is not None and rng.served else (0, size)
        status = 206 if rng is not None else 200
        if fault == "bad_range":
            status = 206
            if end < size:
                start, end = start + 1, end + 1
            elif start > 0:
                start, end = start - 1, end - 1
            elif end - start > 1:
                end -= 1
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{max(start, end - 1)}/{size}"
        length = end - start
        headers["Content-Length"] = str(length)

        owner._log(HTTPLogEntry(method, path, req_start, req_end, status))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if head:
            return

        to_send = length
        if fault == "short":
            to_send = length // 2
            self.close_connection = True
        self._send_body(file, start, to_send)
        if fault == "short":
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _send_body(self, file: Path, start: int, length: int) -> None:
        owner = self.server.owner
        bandwidth = owner.bandwidth
        chunk = _CHUNK if not bandwidth else max(1, min(_CHUNK, int(bandwidth / 20)))
        t0 = time.monotonic()
        sent = 0
        with open(file, "rb") as f:
            f.seek(start)
            while sent < length:
                data = f.read(min(chunk, length - sent))
                if not data:
                    break
                owner._add_bytes(len(data))
                self.wfile.write(data)
                sent += len(data)
                if bandwidth:
                    delay = sent / bandwidth - (time.monotonic() - t0)
                    if delay > 0 and owner._stopping.wait(delay):
                        self.close_connection = True
                        return


class RangeHTTPServer:
    """Threaded HTTP/1.1 static file server with byte ranges, counters and faults.

    Why: the reader's HTTP path must be tested against a real socket so that
    request counts, keep-alive, retries and timeouts behave as in production.

    Usage::

        with RangeHTTPServer(tmp_path) as srv:
            url = srv.url("data/file.nwb")
            ...
            assert srv.stats.requests == 3

    Behaviour: GET/HEAD only (other methods -> 501).  A single
    ``Range: bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` is answered with 206,
    ``Content-Range`` and ``Content-Length``; an unsatisfiable one with 416 and
    ``Content-Range: bytes */size``; an absent, multi-range or syntactically
    invalid one (e.g. ``b < a``) is ignored -> 200 with the whole body.
    Missing files, directories and paths escaping ``root`` (``..``, symlinks)
    -> 404 (a directory: an HTML index of its entries when ``directory_index`` is set).  Every file response carries ``ETag`` (size+mtime),
    ``Last-Modified``, ``Accept-Ranges: bytes`` and
    ``Content-Type: application/octet-stream``.  Files are only ever read.

    Knobs (plain attributes, may be changed at any time, read per request):
    ``latency`` seconds slept before answering, ``bandwidth`` bytes/s cap per
    response body (``None`` = unlimited), ``stall_seconds`` for the ``stall``
    fault.  Sleeps are interruptible so ``stop()`` never hangs.  ``nodelay=True``
    sets TCP_NODELAY on accepted connections (set before start; off by default,
    which costs ~40 ms per response on loopback: Nagle vs. delayed ACK).
    ``live_connections`` counts open connections; :meth:`random_faults` faults
    a seeded random share of requests.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        latency: float = 0.0,
        bandwidth: float | None = None,
        stall_seconds: float = 30.0,
        nodelay: bool = False,
    ) -> None:
        self.root: str = os.path.realpath(os.fspath(root))
        self.nodelay = nodelay
        #: when set, a request whose raw query string lacks it is answered 403 (as a
        #: presigned URL's host refuses a request without the signature)
        self.required_query: str | None = None
        #: when set ("user:password"), a request without that Basic authorization is
        #: answered 401
        self.required_auth: str | None = None
        #: False: responses carry no ETag / no Last-Modified (servers that send none)
        self.etag = True
        self.last_modified = True
        #: a hostile server's own answers: ``override(handler, method, path)`` is called
        #: first for every request; returning True means it answered (the handler's
        #: send_response / send_header / end_headers / wfile), False serves as usual
        self.override: Callable[[Any, str, str], bool] | None = None
        self._random: tuple[random.Random, float, tuple[str, ...], str | None, str | None] | None = None
        self._etag_versions: dict[str, int] = {}
        if not os.path.isdir(self.root):
            raise NotADirectoryError(self.root)
        self.latency = latency
        self.bandwidth = bandwidth
        #: when set, a directory is answered with an HTML index of its entries (as nginx's
        #: autoindex or python's http.server do) instead of 404
        self.directory_index = False
        self.stall_seconds = stall_seconds
        self.stats = HTTPStats()
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------- #
    def start(self) -> RangeHTTPServer:
        """Bind an ephemeral port on 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(self, (HOST, 0))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="RangeHTTPServer",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, abort open connections, join all threads, close the socket."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()  # wakes latency/stall/bandwidth sleeps
        httpd.shutdown()
        if thread is not None:
            thread.join(_JOIN_TIMEOUT)
        httpd.close_connections()
        httpd.server_close()
        self._httpd = self._thread = None

    def __enter__(self) -> RangeHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addressing --------------------------------------------------------- #
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{HOST}:{self.port}"

    def url(self, relpath: str | os.PathLike[str] = "") -> str:
        """URL of ``relpath`` (relative to root, ``/`` separated), URL-quoted."""
        rel = os.fspath(relpath).replace(os.sep, "/").lstrip("/")
        return f"{self.base_url}/{urllib.parse.quote(rel)}"

    @property
    def live_connections(self) -> int:
        """TCP connections open right now (accepted and not yet closed by either side)."""
        return self._httpd.live_connections if self._httpd is not None else 0

    # -- counters ----------------------------------------------------------- #
    def reset_stats(self) -> None:
        """Zero all counters and clear the log (pending faults are kept)."""
        with self._lock:
            self.stats.__init__()  # in place: references held by tests stay valid

    def _count_request(self, method: str) -> None:
        with self._lock:
            self.stats.requests += 1
            if method == "HEAD":
                self.stats.heads += 1
            else:
                self.stats.gets += 1

    def _add_bytes(self, n: int) -> None:
        with self._lock:
            self.stats.bytes_sent += n

    def _log(self, entry: HTTPLogEntry) -> None:
        with self._lock:
            self.stats.log.append(entry)

    # -- faults ------------------------------------------------------------- #
    def inject(
        self,
        fault: str,
        count: int = 1,
        path_contains: str | None = None,
        method: str | None = None,
    ) -> None:
        """Make the next ``count`` matching requests fail with ``fault``.

        ``fault`` is one of :data:`FAULTS`:

        * ``"500"``/``"503"`` - that status with a tiny text body (keep-alive kept);
        * ``"reset"`` - the socket is closed with a TCP RST, no response at all;
        * ``"short"`` - full headers (Content-Length of the whole answer) but only
          half the body, then the connection is closed;
        * ``"stall"`` - sleep ``stall_seconds`` then answer normally (aborted,
          without a response, if the server stops meanwhile);
        * ``"bad_range"`` - 206 whose Content-Range/body is for a different range
          of the same length (shifted by one byte; a whole-file answer is
          truncated by one byte instead).

        A request matches when ``path_contains`` is ``None`` or a substring of
        the unquoted URL path, and ``method`` (``"GET"``/``"HEAD"``) is ``None``
        or equal.  Faults are consumed in injection order; faulted requests are
        counted in ``stats.faults`` as well as ``stats.requests``.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {sorted(FAULTS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._faults.append(_Fault(fault, count, path_contains, method))

    def clear_faults(self) -> None:
        """Drop all not-yet-consumed faults (and stop random faults)."""
        with self._lock:
            self._faults.clear()
            self._random = None

    def random_faults(
        self,
        rate: float,
        kinds: Iterable[str],
        *,
        seed: int,
        path_contains: str | None = None,
        method: str | None = None,
    ) -> None:
        """From now on, fault each matching request with probability ``rate``, the kind drawn
        uniformly from ``kinds`` (:data:`FAULTS` and :data:`ETAG_CHANGE`), both from one
        ``random.Random(seed)`` (the sequence of draws is reproducible; which concurrent
        request gets which draw is up to the scheduler). Explicitly injected faults are taken
        first. ``clear_faults()`` stops it."""
        kinds = tuple(kinds)
        unknown = set(kinds) - FAULTS - {ETAG_CHANGE}
        if unknown or not kinds:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        if not 0 <= rate <= 1:
            raise ValueError("rate must be within [0, 1]")
        with self._lock:
            self._random = (random.Random(seed), rate, kinds, path_contains, method)

    def change_etag(self, urlpath: str) -> None:
        """Serve ``urlpath`` (unquoted, with leading "/") with a new ETag from now on."""
        with self._lock:
            self._etag_versions[urlpath] = self._etag_versions.get(urlpath, 0) + 1

    def _etag(self, path: str, size: int, mtime_ns: int) -> str:
        with self._lock:
            version = self._etag_versions.get(path, 0)
        return f'"{size:x}-{mtime_ns:x}"' if not version else f'"{size:x}-{mtime_ns:x}-{version}"'

    @property
    def pending_faults(self) -> int:
        """Number of fault activations still waiting for a matching request."""
        with self._lock:
            return sum(f.remaining for f in self._faults)

    def _take_fault(self, method: str, path: str) -> str | None:
        with self._lock:
            for i, f in enumerate(self._faults):
                if f.matches(method, path):
                    f.remaining -= 1
                    if f.remaining <= 0:
                        del self._faults[i]
                    self.stats.faults += 1
                    self.stats.faults_by_kind[f.kind] += 1
                    return f.kind
            if self._random is not None:
                rng, rate, kinds, path_contains, only = self._random
                if (only is None or only == method) and (
                    path_contains is None or path_contains in path
                ):
                    if rng.random() < rate:
                        kind = kinds[rng.randrange(len(kinds))]
                        self.stats.faults += 1
                        self.stats.faults_by_kind[kind] += 1
                        if kind == ETAG_CHANGE:
                            self._etag_versions[path] = self._etag_versions.get(path, 0) + 1
                            return None
                        return kind
        return None


# --------------------------------------------------------------------------- #
# MotoS3Server
# --------------------------------------------------------------------------- #
class S3LogEntry(NamedTuple):
    """One request seen by :class:`MotoS3Server`.

    ``path`` is the unquoted WSGI ``PATH_INFO`` (path-style: ``/bucket/key``),
    ``range`` the raw ``Range`` header or ``None``, ``query`` the raw query
    string (``""`` if none; e.g. ``list-type=2&prefix=...`` for ListObjectsV2).
    """

    method: str
    path: str
    range: str | None
    status: int
    query: str


@dataclass
class S3Stats:
    """Counters of :class:`MotoS3Server` (mutated under the server's lock).

    ``bytes_sent`` sums the body bytes of GET responses (errors included);
    it is bumped as each chunk is handed to the HTTP layer and the log entry
    is appended before the body is sent.  ``by_method`` counts every method.
    """

    requests: int = 0
    gets: int = 0
    heads: int = 0
    bytes_sent: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    log: list[S3LogEntry] = field(default_factory=list)


class _CountingMiddleware:
    """WSGI middleware in front of moto that feeds :class:`S3Stats`."""

    def __init__(self, app: Callable[..., Iterable[bytes]], owner: MotoS3Server) -> None:
        self.app = app
        self.owner = owner

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        owner = self.owner
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        rng = environ.get("HTTP_RANGE")
        owner._count_request(method)
        status_box: list[int] = []

        def _start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            status_box.append(int(status.split(" ", 1)[0]))
            return (
                start_response(status, headers, exc_info)
                if exc_info
                else start_response(status, headers)
            )

        result = self.app(environ, _start_response)
        logged = False

        def _log_once() -> None:
            nonlocal logged
            if not logged:
                logged = True
                owner._log(
                    S3LogEntry(method, path, rng, status_box[-1] if status_box else 0, query)
                )

        def _iter() -> Iterator[bytes]:
            try:
                for chunk in result:
                    _log_once()
                    if method == "GET":
                        owner._add_bytes(len(chunk))
                    yield chunk
                _log_once()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

        if status_box:  # Flask has called start_response already: log before the body
            _log_once()
        return _iter()


class MotoS3Server:
    """moto's S3 served on a real 127.0.0.1 socket, with request/byte counters.

    Why: the reader talks to S3 through obstore (Rust HTTP client) and boto3;
    only a real endpoint exercises those stacks end-to-end, and counting
    requests/bytes at the server proves laziness.

    We do not use ``moto.server.ThreadedMotoServer`` because it offers no hook
    for counting and its stop() leaks keep-alive handler threads; instead we run
    ``moto.server.DomainDispatcherApplication(create_backend_app)`` behind a
    counting WSGI middleware on a werkzeug threaded server ourselves.

    Client configuration (nothing is set globally; use :meth:`env_vars` with
    ``monkeypatch.setenv`` or pass options explicitly)::

        AWS_ACCESS_KEY_ID=testing
        AWS_SECRET_ACCESS_KEY=testing
        AWS_DEFAULT_REGION=us-east-1   (AWS_REGION for obstore / object_store)
        AWS_ENDPOINT_URL=<endpoint_url>  (AWS_ENDPOINT_URL_S3 also honoured by boto3)
        AWS_ALLOW_HTTP=true            (obstore / object_store: endpoint is plain http)
        AWS_EC2_METADATA_DISABLED=true (don't probe IMDS for credentials/region)

    Use path-style addressing (``http://127.0.0.1:PORT/bucket/key``); boto3
    and obstore both do so by default for an IP endpoint.

    Caveat: moto's backends are process-global, so every ``MotoS3Server`` in a
    process (and any ``moto.mock_aws`` context) shares the same buckets;
    :meth:`reset` wipes them all.  Use unique bucket names per test.
    """

    ACCESS_KEY = "testing"
    SECRET_KEY = "testing"

    def __init__(self, *, region: str = "us-east-1") -> None:
        self.region = region
        self.stats = S3Stats()
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------- #
    def start(self) -> MotoS3Server:
        """Bind an ephemeral port on 127.0.0.1 and serve moto in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("server already started")
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import ThreadedWSGIServer

        class _Handler(MotoRequestHandler):
            protocol_version = "HTTP/1.1"

            def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
                if type == "error":
                    super().log(type, message, *args)

        class _Server(_TrackingMixIn, ThreadedWSGIServer):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self._init_tracking()
                super().__init__(*args, **kwargs)

        app = _CountingMiddleware(DomainDispatcherApplication(create_backend_app), self)
        self._server = _Server(HOST, 0, app, handler=_Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="MotoS3Server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, abort keep-alive connections, join threads, close the socket."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        if thread is not None:
            thread.join(_JOIN_TIMEOUT)
        server.close_connections()
        server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> MotoS3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addressing / clients ---------------------------------------------- #
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{HOST}:{self.port}"

    def env_vars(self, region: str | None = None) -> dict[str, str]:
        """Environment for SDKs (boto3, obstore) pointing at this server."""
        region = region or self.region
        return {
            "AWS_ACCESS_KEY_ID": self.ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": self.SECRET_KEY,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "AWS_ALLOW_HTTP": "true",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, region: str | None = None, **kwargs: Any) -> Any:
        """A boto3 S3 client for this server (dummy credentials, path-style)."""
        import boto3
        from botocore.config import Config

        kwargs.setdefault("config", Config(s3={"addressing_style": "path"}))
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=region or self.region,
            aws_access_key_id=self.ACCESS_KEY,
            aws_secret_access_key=self.SECRET_KEY,
            **kwargs,
        )

    # -- fixtures helpers --------------------------------------------------- #
    def create_bucket(self, name: str, region: str | None = None) -> None:
        """Create ``name``; a non-us-east-1 ``region`` sets a LocationConstraint."""
        region = region or self.region
        if region == "us-east-1":
            self.client(region).create_bucket(Bucket=name)
        else:
            self.client(region).create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": region}
            )

    def upload_file(self, local_path: str | os.PathLike[str], bucket: str, key: str) -> None:
        """Upload one file (single PUT; fine for test-sized files)."""
        with open(local_path, "rb") as f:
            self.client().put_object(Bucket=bucket, Key=key, Body=f.read())

    def upload_dir(
        self, local_dir: str | os.PathLike[str], bucket: str, prefix: str = ""
    ) -> list[str]:
        """Recursively upload ``local_dir`` (e.g. a zarr store) under ``prefix``.

        Keys are ``prefix/relative/posix/path``; returns them sorted.
        """
        base = Path(local_dir)
        pre = prefix.strip("/")
        cl = self.client()
        keys: list[str] = []
        for p in sorted(base.rglob("*")):
            if not p.is_file():
                continue
            rel = p.relative_to(base).as_posix()
            key = f"{pre}/{rel}" if pre else rel
            cl.put_object(Bucket=bucket, Key=key, Body=p.read_bytes())
            keys.append(key)
        return keys

    def make_public(self, bucket: str) -> None:
        """Attach a bucket policy allowing anonymous GetObject/ListBucket.

        moto enforces ACLs/policies for *unsigned* requests (e.g. obstore with
        ``skip_signature``): without this (or ``ACL="public-read"`` per object)
        an anonymous GET gets 403, like real S3.
        """
        import json

        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
        self.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    def reset(self) -> None:
        """Wipe ALL moto state in this process (``POST /moto-api/reset``)."""
        import urllib.request

        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    # -- counters ----------------------------------------------------------- #
    def reset_stats(self) -> None:
        """Zero all counters and clear the log."""
        with self._lock:
            self.stats.__init__()  # in place: references held by tests stay valid

    def _count_request(self, method: str) -> None:
        with self._lock:
            self.stats.requests += 1
            self.stats.by_method[method] += 1
            if method == "GET":
                self.stats.gets += 1
            elif method == "HEAD":
                self.stats.heads += 1

    def _add_bytes(self, n: int) -> None:
        with self._lock:
            self.stats.bytes_sent += n

    def _log(self, entry: S3LogEntry) -> None:
        with self._lock:
            self.stats.log.append(entry)
