"""Where an http(s) request goes and on what: URL targets (user:password@ as Basic
authorization), connections kept alive per origin and shared by every reader (proxies from
HTTP_PROXY / HTTPS_PROXY / NO_PROXY; TLS with the system's roots, certifi's where it has
none), and the watchdog that gives each request a total deadline by shutting its socket
down (a server trickling bytes cannot hold one longer than config.request_timeout).
"""

from __future__ import annotations

import base64
import dataclasses

# socket.getaddrinfo encodes host names with the idna codec, whose first use imports it
# (~3 ms, inside a call's first request): it is imported with the package instead
import encodings.idna  # noqa: F401
import functools
import heapq
import http.client
import os
import socket
import ssl
import threading
import time
import urllib.request
from urllib.parse import unquote, urlsplit

from ..config import config


@dataclasses.dataclass(frozen=True)
class Target:
    """A URL split for requests: where to connect, what to ask, how to authorize."""

    scheme: str
    host: str
    port: int
    path: str  # with its query
    authorization: str | None = None

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host.lower(), self.port)

    @property
    def netloc(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"

    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path}"


def target(url: str) -> Target:
    """A Target for `url`; its user:password@ becomes Basic authorization."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    auth = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    port = parts.port or (443 if scheme == "https" else 80)
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return Target(scheme, host, port, path, auth)


# -- the watchdog: a total deadline per request ------------------------------------------


class _Watchdog:
    """Shuts a socket down when its request's deadline passes (one thread for all)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Watch]] = []
        self._count = 0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, sock: socket.socket, deadline: float) -> _Watch:
        watch = _Watch(sock)
        with self._wake:
            self._count += 1
            heapq.heappush(self._heap, (deadline, self._count, watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lazynwb-http-watchdog", daemon=True)
                self._thread.start()
            self._wake.notify()
        return watch

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    if not self._wake.wait(timeout=30.0) and not self._heap:
                        self._thread = None
                        return
                    continue
                deadline, _, watch = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wake.wait(timeout=wait)
                    continue
                heapq.heappop(self._heap)
            watch.fire()


class _Watch:
    def __init__(self, sock: socket.socket):
        self.sock, self.done, self.fired = sock, False, False
        self._lock = threading.Lock()

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def disarm(self) -> None:
        with self._lock:
            self.done = True


watchdog = _Watchdog()


# -- connections ---------------------------------------------------------------------------


_idle: dict[tuple, list[http.client.HTTPConnection]] = {}
_idle_lock = threading.Lock()
_generation = 0  # close_connections() calls so far
_GENERATION = "lazynwb_generation"  # a connection's attribute: _generation when it was opened
_tls: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    """The system's trusted roots; certifi's where the system has none."""
    global _tls
    if _tls is None:
        context = ssl.create_default_context()
        if not context.cert_store_stats().get("x509_ca"):
            try:
                import certifi

                context.load_verify_locations(certifi.where())
            except ImportError:
                pass
        _tls = context
    return _tls


_PROXY_VARIABLES = tuple(f"{name}_{suffix}" for name in ("http", "https", "all", "no")
                         for suffix in ("proxy", "PROXY"))


def proxy_for(t: Target) -> Target | None:
    """The proxy the environment names for this target (None: connect directly). Looked up
    once per target and proxy settings: urllib decodes every environment variable on each
    call, and a metadata read of 1,000 files asked ~3 times per request."""
    return _proxy(t.scheme, t.host, tuple(os.environ.get(v) for v in _PROXY_VARIABLES))


@functools.lru_cache(maxsize=256)
def _proxy(scheme: str, host: str, settings: tuple[str | None, ...]) -> Target | None:
    del settings  # part of the cache key only: a changed proxy variable is a new entry
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return target(proxy if "://" in proxy else f"http://{proxy}")


def _key(t: Target) -> tuple:
    proxy = proxy_for(t)
    return (*t.origin, proxy.origin if proxy else None)


def new_connection(t: Target) -> http.client.HTTPConnection:
    conn = _connect(t)
    setattr(conn, _GENERATION, _generation)
    return conn


def _connect(t: Target) -> http.client.HTTPConnection:
    timeout = min(10.0, config.request_timeout)
    proxy = proxy_for(t)
    if proxy is None:
        if t.scheme == "https":
            return http.client.HTTPSConnection(t.host.strip("[]"), t.port, timeout=timeout, context=_tls_context())
        return http.client.HTTPConnection(t.host.strip("[]"), t.port, timeout=timeout)
    headers = {"Proxy-Authorization": proxy.authorization} if proxy.authorization else {}
    if t.scheme == "https":
        conn = http.client.HTTPSConnection(proxy.host.strip("[]"), proxy.port, timeout=timeout,
                                           context=_tls_context())
        conn.set_tunnel(t.host.strip("[]"), t.port, headers=headers)
        return conn
    return http.client.HTTPConnection(proxy.host.strip("[]"), proxy.port, timeout=timeout)


def take(t: Target) -> http.client.HTTPConnection | None:
    key = _key(t)
    with _idle_lock:
        idle = _idle.get(key)
        return idle.pop() if idle else None


def give_back(t: Target, conn: http.client.HTTPConnection) -> None:
    """Keep a connection for the next request, unless close_connections ran while it was
    out (a request still in flight then, e.g. one an interrupted call left behind)."""
    key = _key(t)
    with _idle_lock:
        idle = _idle.setdefault(key, [])
        if len(idle) < config.max_concurrency and getattr(conn, _GENERATION, None) == _generation:
            idle.append(conn)
            return
    conn.close()


def close_connections() -> None:
    """Close every idle connection (after changing proxies or certificates), and those in
    use as they come back."""
    global _tls, _generation
    with _idle_lock:
        conns = [c for idle in _idle.values() for c in idle]
        _idle.clear()
        _generation += 1
        _tls = None
    for conn in conns:
        conn.close()
