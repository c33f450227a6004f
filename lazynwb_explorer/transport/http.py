"""HTTP(S) requests for http(s):// sources: every answer checked against what was asked.

obstore's HTTP store (reqwest) served these before; it follows redirects to any host and port
(a URL taken from a user becomes a request to anywhere: blind SSRF), drops `user:password@`
silently, retries a 200 answer to a Range request as if it were a glitch, and sizes its buffer
from the Content-Length a server announces (one header of 50 GB aborted the process). So
http(s) goes through the standard library's http.client, kept to a few rules:

- before a byte of a body is kept, its length is checked against what was asked: a range's
  answer must be that range (Content-Range and Content-Length), a whole object's must fit its
  cap; bodies are read in pieces up to that bound, never sized from a header alone;
- a 200 answer to a Range request for more than the whole object is an error at once
  (`RangeIgnored`), as is a compressed range (Content-Encoding);
- redirects are followed (at most 5) only to the URL's own scheme, host and port, or to a
  host listed in `config.allowed_redirect_hosts`; credentials never follow to another host;
- `user:password@` in a URL becomes HTTP Basic authorization;
- each request has a total deadline (`config.request_timeout`), enforced by a watchdog that
  shuts the socket down, so a server trickling bytes cannot hold a request for longer;
- connections are kept alive per origin (scheme, host, port) and shared by every reader;
  proxies come from the usual environment variables (HTTP_PROXY, HTTPS_PROXY, NO_PROXY)
  (transport/http_connections.py).
"""

from __future__ import annotations

import dataclasses
import http.client
import re
import time
from collections.abc import Mapping
from urllib.parse import urljoin

from ..config import config
from . import counters
from .http_connections import (
    Target,
    close_connections,
    give_back,
    new_connection,
    proxy_for,
    take,
    target,
    watchdog,
)

__all__ = ["Answer", "HTTPFailure", "RangeIgnored", "RedirectRefused", "StatusError", "TooLarge",
           "WrongAnswer", "check_redirect", "close_connections", "exchange", "get_object", "get_range", "get_suffix", "head"]

MAX_REDIRECTS = 5
_EXCERPT = 2048  # bytes of an error body kept for the message
_PIECE = 1 << 20  # bytes read from a socket at a time
USER_AGENT = "lazynwb_explorer"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes \*/(\d+)")


class HTTPFailure(Exception):
    """A request that did not get the answer asked for; `retryable` says whether another
    try can help."""

    retryable = True
    status: int | None = None


class StatusError(HTTPFailure):
    status: int  # a status answer always has one

    def __init__(self, status: int, reason: str, excerpt: str, headers: Mapping[str, str] | None = None):
        super().__init__(f"HTTP {status} {reason}: {excerpt}".strip().rstrip(":"))
        self.status = status
        self.headers = dict(headers or {})
        self.retryable = status >= 500 or status in (408, 429)


class TooLarge(HTTPFailure):
    retryable = False


class RangeIgnored(HTTPFailure):
    retryable = False


class RedirectRefused(HTTPFailure):
    retryable = False


class WrongAnswer(HTTPFailure):
    """An answer for other bytes than asked (a shifted range, a short body): try again."""


@dataclasses.dataclass
class Answer:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    total: int | None = None  # the object's size, when the answer says it


# -- one exchange --------------------------------------------------------------------------


def _headers(t: Target, extra: Mapping[str, str]) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **extra}
    if t.authorization:
        headers["Authorization"] = t.authorization
    return headers


class _Exchange:
    """One request on a kept-alive (or new) connection, its response, and its watch."""

    def __init__(self, method: str, t: Target, headers: Mapping[str, str]):
        self.t = t
        deadline = time.monotonic() + config.request_timeout
        for attempt in (0, 1):  # a kept-alive connection the server closed meanwhile: once more
            conn = take(t) if attempt == 0 else None
            reused = conn is not None
            conn = conn or new_connection(t)
            try:
                if conn.sock is None:
                    conn.connect()
                conn.sock.settimeout(max(0.01, min(config.request_timeout, deadline - time.monotonic())))
                self.watch = watchdog.arm(conn.sock, deadline)
                proxied = proxy_for(t) is not None and t.scheme == "http"
                conn.request(method, t.url() if proxied else t.path, headers=_headers(t, headers))
                self.response = conn.getresponse()
                self.conn = conn
                return
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop(conn)
                if not reused:
                    raise
                counters.record_retry()
            except BaseException:
                self._drop(conn)
                raise

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        watch = getattr(self, "watch", None)
        if watch is not None:
            watch.disarm()
            if watch.fired:
                conn.close()
                raise TimeoutError(f"no complete answer within {config.request_timeout} s")
        conn.close()

    @property
    def headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.response.getheaders()}

    def read(self, cap: int) -> bytes:
        """The body, at most `cap` bytes (more is TooLarge), read in pieces."""
        parts: list[bytes] = []
        got = 0
        try:
            while True:
                piece = self.response.read(min(_PIECE, cap + 1 - got))
                if not piece:
                    break
                parts.append(piece)
                got += len(piece)
                if got > cap:
                    self.finish(keep=False)
                    raise TooLarge(f"the answer holds more than the {cap} bytes asked for")
        except (OSError, http.client.HTTPException) as exc:
            self.finish(keep=False)
            if self.watch.fired:
                raise TimeoutError(f"no complete answer within {config.request_timeout} s") from exc
            raise
        self.finish(keep=True)
        return b"".join(parts)

    def finish(self, keep: bool) -> None:
        """Release the connection: back to the pool when its answer was read to the end."""
        self.watch.disarm()
        if keep and not self.watch.fired and not self.response.will_close and self.response.isclosed():
            give_back(self.t, self.conn)
        else:
            self.conn.close()


def _redirected(t: Target, location: str) -> Target:
    """Where a redirect leads, if it may be followed; credentials stay with their host."""
    new = target(urljoin(t.url(), location))
    if new.origin == t.origin:
        return dataclasses.replace(new, authorization=new.authorization or t.authorization)
    allowed = {h.lower() for h in config.allowed_redirect_hosts or ()}
    if "*" in allowed or new.host.lower() in allowed or f"{new.host}:{new.port}".lower() in allowed:
        return new
    raise RedirectRefused(
        f"the server redirected to another host ({new.scheme}://{new.netloc}), which is not "
        "followed (config.allowed_redirect_hosts lists hosts that may be)"
    )


def check_redirect(url: str, location: str) -> None:
    """Raise RedirectRefused unless a redirect from `url` to `location` may be followed (the
    rule above, for requests made by another library: fsspec's aiohttp, remfile's requests)."""
    _redirected(target(url), location)


def exchange(method: str, url: str, headers: Mapping[str, str] | None = None) -> _Exchange:
    """A request whose redirects are followed as allowed; its response's headers read, its
    body not yet. Error statuses raise StatusError."""
    t = target(url)
    for _ in range(MAX_REDIRECTS + 1):
        ex = _Exchange(method, t, headers or {})
        status = ex.response.status
        if status in (301, 302, 303, 307, 308) and ex.response.getheader("Location"):
            location = ex.response.getheader("Location", "")
            _discard(ex)
            t = _redirected(t, location)
            continue
        if status >= 400:
            found = ex.headers
            excerpt = _discard(ex).decode("utf-8", "replace").strip()
            raise StatusError(status, ex.response.reason, excerpt[:300], found)
        encoding = ex.headers.get("content-encoding", "identity").lower()
        if encoding not in ("identity", ""):
            ex.finish(keep=False)
            raise WrongAnswer(f"the server sent {encoding}-encoded bytes for a byte range")
        return ex
    raise RedirectRefused(f"more than {MAX_REDIRECTS} redirects")


def _discard(ex: _Exchange) -> bytes:
    """Read a body that is not wanted (an error page, a redirect's): its first bytes."""
    try:
        return ex.read(_EXCERPT)
    except TooLarge:
        return b""


def _length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _partial(ex: _Exchange, first: int, last: int, total: int | None) -> Answer:
    """The body of a 206 whose Content-Range (bytes first-last) was checked against the
    request: its Content-Length must be that range, and all of it must arrive."""
    size = last - first + 1
    length = _length(ex.headers)
    if length is not None and length != size:
        ex.finish(keep=False)
        raise TooLarge(f"the server announces {length} bytes for the {size} bytes of range {first}-{last}")
    body = ex.read(size)
    if len(body) != size:
        raise WrongAnswer(f"short read: {len(body)} of {size} bytes")
    return Answer(206, ex.headers, body, total)


def get_range(url: str, start: int, end: int, headers: Mapping[str, str] | None = None) -> Answer:
    """Bytes [start, end) of the object (fewer at its end), checked against what was asked
    before any of the body is kept."""
    try:
        ex = exchange("GET", url, {**(headers or {}), "Range": f"bytes={start}-{end - 1}"})
    except StatusError as exc:
        if exc.status == 416:  # nothing at `start`: the object ends before it
            unsatisfied = _UNSATISFIED_RANGE.fullmatch(exc.headers.get("content-range", "").strip())
            return Answer(416, exc.headers, b"", int(unsatisfied.group(1)) if unsatisfied else None)
        raise
    found = ex.headers
    length = _length(found)
    if ex.response.status == 200:  # the whole object: fine only when it is within the range
        ignored = RangeIgnored(
            f"the server ignores Range requests: asked for bytes {start}-{end - 1}, it answered "
            f"200 with {'the whole object' if length is None else f'all {length} bytes'}"
        )
        if start != 0 or (length is not None and length > end - start):
            ex.finish(keep=False)
            raise ignored
        try:
            body = ex.read(end - start if length is None else length)
        except TooLarge:
            raise ignored from None
        if length is not None and len(body) != length:
            raise WrongAnswer(f"short read: {len(body)} of {length} bytes")
        return Answer(200, found, body, len(body))
    match = _CONTENT_RANGE.fullmatch(found.get("content-range", "").strip())
    if ex.response.status != 206 or match is None:
        ex.finish(keep=False)
        raise WrongAnswer(f"answer {ex.response.status} without a Content-Range to bytes {start}-{end - 1}")
    first, last = int(match.group(1)), int(match.group(2))
    total = None if match.group(3) == "*" else int(match.group(3))
    want_last = min(end, total) - 1 if total is not None else end - 1
    if first != start or last != want_last:
        ex.finish(keep=False)
        raise WrongAnswer(f"asked for bytes {start}-{end - 1}, got {first}-{last}")
    return _partial(ex, first, last, total)


def get_suffix(url: str, n: int, headers: Mapping[str, str] | None = None) -> Answer:
    """The last `n` bytes of the object (all of it when shorter), checked as get_range's."""
    try:
        ex = exchange("GET", url, {**(headers or {}), "Range": f"bytes=-{n}"})
    except StatusError as exc:
        if exc.status == 416:  # an empty object
            return Answer(416, exc.headers, b"", 0)
        raise
    found = ex.headers
    length = _length(found)
    if ex.response.status == 200:  # the whole object: fine when it is no longer than n
        if length is not None and length > n:
            ex.finish(keep=False)
            raise RangeIgnored(f"the server ignores Range requests: asked for the last {n} bytes, "
                               f"it answered 200 with all {length}")
        try:
            body = ex.read(n if length is None else length)
        except TooLarge:
            raise RangeIgnored(f"the server ignores Range requests (asked for the last {n} bytes)") from None
        return Answer(200, found, body, len(body))
    match = _CONTENT_RANGE.fullmatch(found.get("content-range", "").strip())
    if ex.response.status != 206 or match is None or match.group(3) == "*":
        ex.finish(keep=False)
        raise WrongAnswer(f"answer {ex.response.status} without a Content-Range to the last {n} bytes")
    first, last, total = int(match.group(1)), int(match.group(2)), int(match.group(3))
    if last != total - 1 or first != max(0, total - n):
        ex.finish(keep=False)
        raise WrongAnswer(f"asked for the last {n} bytes of {total}, got {first}-{last}")
    return _partial(ex, first, last, total)


def get_object(url: str, cap: int, headers: Mapping[str, str] | None = None) -> Answer | None:
    """A whole object of at most `cap` bytes (None when it does not exist)."""
    try:
        ex = exchange("GET", url, headers)
    except StatusError as exc:
        if exc.status == 404:
            return None
        raise
    length = _length(ex.headers)
    if length is not None and length > cap:
        ex.finish(keep=False)
        raise TooLarge(f"the server announces {length} bytes, more than the {cap} an object may hold here")
    if ex.response.status != 200:
        ex.finish(keep=False)
        raise WrongAnswer(f"answer {ex.response.status} to a request for a whole object")
    body = ex.read(cap if length is None else length)
    if length is not None and len(body) != length:
        raise WrongAnswer(f"short read: {len(body)} of {length} bytes")
    return Answer(ex.response.status, ex.headers, body, len(body))


def head(url: str, headers: Mapping[str, str] | None = None) -> Answer:
    ex = exchange("HEAD", url, headers)
    ex.read(0)
    return Answer(ex.response.status, ex.headers, b"", _length(ex.headers))
