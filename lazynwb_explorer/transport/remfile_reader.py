"""remfile as the transport of an http(s) file, when `config.use_remfile` is True.

remfile is lazynwb's transport for HTTP: a file object that reads in chunks of at least
100 KiB, with read-ahead when reads run in order, and its own retries. It reads one range at
a time (one position), so a round of several ranges is sequential here: slower than ours, and
meant for comparing the two or working around a problem of ours. Only the file's bytes go
through it: its size, its identity (ETag, Last-Modified), the conditional confirmation of a
stored catalog and the keys below the URL (a Zarr store) are our own transport's
(HTTPReader), as lazynwb reads Zarr without remfile too.

remfile's requests keep our rules (transport/http.py's) through a transport adapter on its
session: a redirect is followed only to the same host (or one in
`config.allowed_redirect_hosts`); an answer longer than the range asked for is refused
before its body is read; a body is read in pieces within `config.request_timeout` in all;
nothing is asked once the call's deadline (transport/deadline.py) has passed, and that, like
a refused answer, is an error remfile does not retry. Every answer is counted.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import remfile
from remfile.RemFile import _PermanentHTTPError  # the one failure remfile does not retry
from requests.adapters import HTTPAdapter

from ..config import config
from ..errors import NotFoundError, TransportError, redact
from . import counters, http
from .deadline import deadline_at
from .remote import HTTPReader

_RANGE = re.compile(r"bytes=(\d+)-(\d+)$")
_PIECE = 1 << 16


class _Refused(_PermanentHTTPError):
    """An answer or a request our rules refuse: remfile gives up at once."""


def _range_length(header: str | None) -> int | None:
    found = _RANGE.match(header or "")
    return int(found.group(2)) - int(found.group(1)) + 1 if found else None


class _BoundedAdapter(HTTPAdapter):
    """remfile's requests, kept to our rules (see the module's docstring)."""

    deadline: float | None = None  # the current call's, set before each read

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]  # noqa: ANN401 - keywords passed on as requests gives them
        started = time.monotonic()
        left = config.request_timeout if self.deadline is None else self.deadline - started
        if left <= 0:
            raise _Refused(f"the call's deadline of {config.call_deadline:g} s (config.call_deadline) passed")
        kwargs["timeout"] = min(config.request_timeout, left)
        kwargs["stream"] = True
        response = super().send(request, **kwargs)
        if response.is_redirect:
            try:  # the rule of our own requests: same host, or one config allows
                http.check_redirect(request.url, response.headers["Location"])
            except http.RedirectRefused as exc:
                response.close()
                raise _Refused(str(exc)) from None
            counters.record_request(0)
            return response
        asked = _range_length(request.headers.get("Range"))
        length = response.headers.get("Content-Length")
        if asked is not None and response.status_code in (200, 206) and (
                length is None or not length.isdigit() or int(length) > asked):
            response.close()
            if response.status_code == 200:
                raise _Refused(f"the server ignores Range requests: asked for {asked} bytes, it "
                               f"answered 200 with {length or 'an unknown number of'} bytes")
            raise _Refused(f"an answer of {length or 'unknown'} bytes to a range of {asked}")
        response._content = self._body(response, started + kwargs["timeout"], int(length or 0))
        counters.record_request(len(response._content))
        return response

    @staticmethod
    def _body(response: Any, deadline: float, length: int) -> bytes:
        """The body in pieces, all of it within the request's time (a trickle cannot hold
        the request open), never more than its announced length."""
        pieces, got = [], 0
        while got < length:
            if time.monotonic() > deadline:
                response.close()
                raise TimeoutError(f"no complete answer within {config.request_timeout:g} s")
            piece = response.raw.read1(min(_PIECE, length - got))
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        response.close()
        return b"".join(pieces)


class RemfileReader(HTTPReader):
    """An http(s) file whose bytes are read through remfile; everything else is ours."""

    def __init__(self, url: str):
        super().__init__(url)
        self._file: Any = None
        self._adapter = _BoundedAdapter()
        self._lock = threading.Lock()

    def _remfile(self) -> Any:
        if self._file is None:
            file = remfile.File(self.uri, _size=self.size())
            file.session.mount("http://", self._adapter)
            file.session.mount("https://", self._adapter)
            self._file = file
        return self._file

    def _read(self, start: int, end: int) -> bytes:
        end = min(end, self.size())
        if end <= start:
            return b""
        with self._lock:  # one file position; remfile's threads see this call's deadline
            self._adapter.deadline = deadline_at()
            try:
                file = self._remfile()
                file.seek(start)
                data = bytes(file.read(end - start))
            except Exception as exc:  # noqa: BLE001 - remfile raises plain Exception
                failure: Exception | None = exc
            else:
                failure = None
        if failure is not None:
            text = redact(str(failure))
            if " 404 " in f" {text} ":
                raise NotFoundError(f"not found (404) while reading bytes {start}-{end}",
                                    source=self.uri) from None
            raise TransportError(f"remfile could not read bytes {start}-{end}: {text}",
                                 source=self.uri) from None
        if len(data) != end - start:
            raise TransportError(f"remfile returned {len(data)} of {end - start} bytes",
                                 source=self.uri)
        return data

    def _fetch_suffix(self, n: int) -> None:
        """No tail of our own alongside the first read: remfile reads the bytes."""
        return None

    def confirm(self) -> None:
        """One conditional request of our own: remfile sends no If-Match."""
        HTTPReader._read(self, 0, self.confirm_bytes)
