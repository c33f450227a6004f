"""fsspec's HTTP filesystem (aiohttp) kept to the rules of our own requests (transport/http.py).

fsspec reads http(s) for `use_obstore=False` and inside chained URLs (`simplecache::http://`,
`blockcache::https://`). Left as it is, aiohttp follows a redirect to any host (blind SSRF),
and fsspec reads a whole answer into memory whatever its length (one header of 50 GB). Its
session is given, through fsspec's `client_kwargs`:

- a response class that checks an answer's length before keeping any of its body: a range's
  answer may not announce or send more than the range (a 200 to a range request for more
  than the whole object is refused at once, as is a compressed range), any other answer not
  more than MAX_OBJECT_BYTES; the body is read in pieces up to that bound;
- a trace hook that refuses a redirect to another host unless `config.allowed_redirect_hosts`
  lists it (aiohttp already keeps Authorization from another host);
- `config.request_timeout` as aiohttp's connect and read timeouts, under the time fsspec's
  sync() gives each call (transport/fsspec_reader.py).

fsspec's whole-file download (a caching chain's first read) streams to its cache on disk
without `read()`: it is bounded by the call's time, not by these checks.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from ..config import config
from . import http

MAX_OBJECT_BYTES = 512 << 20  # as transport/remote.py's: the most a whole answer may hold
_PIECE = 1 << 16
_EXCERPT = 2048  # bytes of an error page kept
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class AnswerRefused(Exception):
    """An answer our rules refuse (too long, a range ignored, encoded): never retried."""


def _asked(headers: Any) -> tuple[int | None, int | None]:
    """(first byte, bytes asked for) of a request's Range header; (None, None) without one."""
    found = _RANGE.match((headers or {}).get("Range", "") or "")
    if found is None:
        return None, None
    first, last = found.groups()
    if not first:  # the last `last` bytes
        return None, int(last) if last else None
    return int(first), (int(last) - int(first) + 1) if last else None


class CappedResponse(aiohttp.ClientResponse):
    """An aiohttp response whose body is checked against what was asked before it is kept."""

    async def read(self) -> bytes:
        if self._body is not None:
            return self._body
        if self.status >= 300:  # an error page: fsspec raises for the status after reading it
            self._body = await self.content.read(_EXCERPT)
            self.close()
            return self._body
        first, asked = _asked(self.request_info.headers)
        cap = MAX_OBJECT_BYTES if asked is None else asked
        length = self.content_length
        if self.status == 200 and asked is not None and (
                first not in (0, None) or length is None or length > asked):
            self.close()
            raise AnswerRefused(f"the server ignores Range requests: asked for {asked} bytes, it "
                                f"answered 200 with {'the whole object' if length is None else length}")
        if self.headers.get("Content-Encoding", "identity").lower() not in ("identity", "") and asked:
            self.close()
            raise AnswerRefused("the server sent encoded bytes for a byte range")
        if length is not None and length > cap:
            self.close()
            raise AnswerRefused(f"the server announces {length} bytes, more than the {cap} asked "
                                "for or allowed")
        pieces, got = [], 0
        async for piece in self.content.iter_chunked(_PIECE):
            got += len(piece)
            if got > cap:
                self.close()
                raise AnswerRefused(f"the server sent more than the {cap} bytes asked for or allowed")
            pieces.append(piece)
        self._body = b"".join(pieces)
        return self._body


async def _on_redirect(session: Any, context: Any, params: Any) -> None:  # noqa: ARG001
    location = params.response.headers.get("Location")
    if location:
        try:
            http.check_redirect(str(params.url), location)
        except http.RedirectRefused as exc:
            raise AnswerRefused(str(exc)) from None


_trace = aiohttp.TraceConfig()  # one for all sessions: fsspec keys its filesystems by options
_trace.on_request_redirect.append(_on_redirect)


def client_kwargs(given: dict[str, Any] | None) -> dict[str, Any]:
    """fsspec HTTPFileSystem's `client_kwargs`: the user's, with our response class, redirect
    hook and timeout added (a user's own response class or timeout is kept)."""
    out = dict(given or {})
    out.setdefault("response_class", CappedResponse)
    # between bytes, not in all: a caching chain's first read downloads the whole file
    out.setdefault("timeout", aiohttp.ClientTimeout(
        total=None, sock_connect=config.request_timeout, sock_read=config.request_timeout))
    out["trace_configs"] = [*out.get("trace_configs", ()), _trace]
    return out
