"""Remote readers: http(s) through our own checked requests (transport/http.py), s3 / gs / az
through obstore (Rust, releases the GIL, pools connections per bucket).

What they share (RemoteReader): the first read learns the object's size and validators (no
separate HEAD); later reads are conditional on them, and every answer is compared with them
too (a server may ignore the condition), so a file that changes on the server mid-session is
an error, never a mix of two versions. The validators are the ETag; a server that sends none
is held to its Last-Modified (If-Unmodified-Since), and to a fingerprint of the object's first
bytes, re-read to confirm it (`confirm`). A store (a prefix of keys) is known by its anchor
key's size and content hash instead (Reader.set_anchor). Retries are bounded
(transport/retry.py) and stop at the call's deadline (transport/deadline.py). Whole objects
(a Zarr store's keys) are capped at MAX_OBJECT_BYTES before any of their body is kept; keys
are checked to stay below the source (readers.check_key).

Over ~400 lines because its one job is that shared contract, validators and retries, which
both readers inherit; each reader only says how to ask (our http.py, or obstore) and the
module reads top to bottom as the contract, then its two ways of asking.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import html.parser
import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import obstore
from obstore.exceptions import NotFoundError as StoreNotFound
from obstore.exceptions import (
    NotSupportedError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
)

from ..config import config
from ..errors import (
    NotFoundError,
    SourceChangedError,
    SourceError,
    TransportError,
    get_logger,
    redact,
)
from . import counters, http
from .readers import (
    FIRST_READ_BLOCKS,
    Reader,
    _change_listeners,
    check_key,
    forget_reader,
    pool_map,
    tail_wanted,
)
from .retry import Retryable, with_retries
from .stores import get_store

if TYPE_CHECKING:  # obstore's TypedDicts exist in its stubs only
    from obstore.store import GetOptions

MAX_OBJECT_BYTES = 512 << 20  # the most a whole object below a source (a Zarr key) may hold
MAX_INDEX_BYTES = 16 << 20  # a directory index page larger than this is not read
FINGERPRINT_BYTES = 4096  # the first bytes whose hash stands in for a missing ETag

_CLIENT_ERROR = re.compile(r"status code: 4(?!08|29)\d\d")
_NOT_SATISFIABLE = re.compile(r"status code: 416\b")


class Changed(Exception):
    """The object is not the one first read (another ETag, Last-Modified, size or start)."""


def _is_not_found(exc: BaseException) -> bool:
    """obstore's HTTP store reports a 404 as a generic error with the status in the text."""
    if isinstance(exc, http.StatusError):
        return exc.status == 404
    return isinstance(exc, StoreNotFound) or "404 Not Found" in str(exc)


def _is_denied(exc: BaseException) -> bool:
    if isinstance(exc, http.StatusError):
        return exc.status in (401, 403)
    return isinstance(exc, PermissionDeniedError | UnauthenticatedError)


def _is_changed(exc: BaseException) -> bool:
    if isinstance(exc, http.StatusError):
        return exc.status == 412
    return isinstance(exc, Changed | PreconditionError)


def _is_retryable(exc: BaseException) -> bool:
    if _is_not_found(exc) or _is_denied(exc) or _is_changed(exc):
        return False
    if isinstance(exc, http.HTTPFailure):
        return exc.retryable
    if isinstance(exc, NotSupportedError):  # obstore: a 200 answer to a range request
        return False
    if _CLIENT_ERROR.search(str(exc)):  # 4xx other than 408 / 429: asking again cannot help
        return False
    return isinstance(exc, Exception)


def _fingerprint(data: bytes) -> str:
    return hashlib.blake2b(data[:FINGERPRINT_BYTES], digest_size=16).hexdigest()


log = get_logger(__name__)

TAIL_BYTES = 512 * 1024  # the object's end fetched with its first block (one metadata window)
# Objects first read at once, up to which each also fetches its tail: a few files are bound by
# round trips, while many at once share the link, where the tails would only cost bandwidth
# (filtered /units of 300 sessions, cold, with a tail each: 129 -> 150 MB, no time saved).
SPECULATE_UP_TO = 8
_first_reading = 0
_first_reading_lock = threading.Lock()


@contextlib.contextmanager
def _first_reads() -> Iterator[int]:
    """How many objects are making their first read now, this one included."""
    global _first_reading
    with _first_reading_lock:
        _first_reading += 1
        now = _first_reading
    try:
        yield now
    finally:
        with _first_reading_lock:
            _first_reading -= 1


class RemoteReader(Reader):
    """Validators, conditional reads, retries and errors; subclasses fetch."""

    def __init__(self, url: str):
        self.uri = url
        self._size: int | None = None
        self._etag: str | None = None
        self._last_modified: str | None = None
        self._fingerprint: str | None = None
        self._meta_lock = threading.Lock()
        self._tail: bytes | None = None  # the last TAIL_BYTES, fetched with the first block

    # -- what a subclass provides ----------------------------------------------------------

    def _fetch_range(self, start: int, end: int) -> tuple[dict[str, Any], bytes]:
        """(meta: size, e_tag, last_modified as the server said them; the bytes)."""
        raise NotImplementedError

    def _fetch_object(self, key: str) -> bytes | None:
        raise NotImplementedError

    def _fetch_suffix(self, n: int) -> tuple[dict[str, Any], bytes] | None:
        """(meta, the object's last n bytes: all of it when shorter); None where this
        transport asks for no suffix (the first read then fetches the first block only)."""
        return None

    def _fetch_key_range(self, key: str, start: int, end: int | None) -> bytes | None:
        """Bytes [start, end) of the object `key` ((-n, None): its last n); None if missing."""
        raise NotImplementedError

    def _fetch_meta(self) -> dict[str, Any]:
        raise NotImplementedError

    # -- errors ----------------------------------------------------------------------------

    def _error(self, exc: BaseException, attempts: int, what: str) -> BaseException:
        if _is_not_found(exc):
            return NotFoundError(f"not found (404) while reading {what}", source=self.uri)
        if _is_denied(exc):
            return NotFoundError(f"access denied while reading {what}", source=self.uri)
        if _is_changed(exc):
            forget_reader(self.uri)  # the next call starts afresh on the new version
            for listener in list(_change_listeners):
                listener(self.uri)
            return SourceChangedError("the file changed on the server while being read", source=self.uri)
        if isinstance(exc, NotSupportedError):
            detail = "the server ignores Range requests (it answers with the whole object)"
        else:
            detail = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        return TransportError(f"reading {what} failed after {attempts} attempt(s): {detail}", source=self.uri)

    def _retrying(self, attempt, what: str):  # noqa: ANN001, ANN202
        return with_retries(attempt, is_retryable=_is_retryable,
                            on_give_up=lambda e, n: self._error(e, n, what), what=what, source=self.uri)

    # -- identity ----------------------------------------------------------------------------

    def size(self) -> int:
        if self._size is None:
            meta = self._retrying(self._fetch_meta, "the file size")
            counters.record_request(0)
            self._remember(meta)
        assert self._size is not None
        return self._size

    def identity(self) -> dict[str, Any]:
        """What the server said the object is: size and ETag; without an ETag, size,
        Last-Modified and the fingerprint of its first bytes. Empty before the first read,
        and for a server that sends neither ETag nor Last-Modified: such an object cannot be
        recognised later (no catalog of it is stored). A store's: its anchor key's size and
        content hash."""
        if self.anchor:
            return dict(self._anchor_identity or {})
        if self._size is None or not (self._etag or self._last_modified):
            return {}
        if self._etag:
            return {"size": self._size, "etag": self._etag}
        if self._fingerprint is None:
            self.read(0, FINGERPRINT_BYTES)
        return {"size": self._size, "etag": None, "last_modified": self._last_modified,
                "fingerprint": self._fingerprint}

    def expect(self, identity: dict[str, Any]) -> None:
        """Take a stored identity as known, so reads need no first request to learn it and
        are conditional on it: a changed object is then an error, never mixed bytes."""
        if identity.get("key"):  # a store's identity: its anchor key's
            self.anchor = self.anchor or identity["key"]
            if self._anchor_identity is None:
                self._anchor_identity = dict(identity)
            return
        with self._meta_lock:
            if self._size is None and identity.get("size") is not None:
                self._size = int(identity["size"])
                self._etag = identity.get("etag")
                self._last_modified = identity.get("last_modified")
                self._fingerprint = identity.get("fingerprint")

    def matches(self, identity: dict[str, Any]) -> bool:
        """Whether the object is still the one `identity` describes, by what the server says
        now (one small request; without an ETag, of the first bytes, for their fingerprint;
        a store's anchor key, for its hash)."""
        if identity.get("key"):
            self.anchor = self.anchor or identity["key"]
            return self.refresh_identity() == identity
        if self._size is None:
            self.read(0, 1 if identity.get("etag") else FINGERPRINT_BYTES)
        return self.identity() == identity

    @property
    def confirm_bytes(self) -> int:
        """1 when the server gives validators (a conditional request says it all); else the
        first bytes, whose fingerprint must not have changed."""
        return 1 if (self._etag or self._last_modified) else FINGERPRINT_BYTES

    def confirm(self) -> None:
        """One conditional request (If-Match / If-Unmodified-Since, and the answer compared
        with the validators); without validators, the first bytes' fingerprint."""
        self.read(0, self.confirm_bytes)

    def _remember(self, meta: dict[str, Any]) -> None:
        with self._meta_lock:
            if self._size is None and meta.get("size") is not None:
                self._size = int(meta["size"])
                self._etag = meta.get("e_tag")
                self._last_modified = meta.get("last_modified")

    def _check(self, meta: dict[str, Any], start: int, data: bytes) -> None:
        """The answer is from the object first read (a server may ignore the condition)."""
        if self._etag:
            if meta.get("e_tag") not in (None, self._etag):
                raise Changed("ETag changed")
        elif self._last_modified and meta.get("last_modified") not in (None, self._last_modified):
            raise Changed("Last-Modified changed")
        if self._size is not None and meta.get("size") not in (None, self._size):
            raise Changed("size changed")
        if not self._etag and start == 0 and len(data) >= min(FINGERPRINT_BYTES, self._size or 0):
            found = _fingerprint(data)
            with self._meta_lock:
                if self._fingerprint is None:
                    self._fingerprint = found
                elif found != self._fingerprint:
                    raise Changed("the first bytes changed")

    # -- reads ----------------------------------------------------------------------------

    def first_block(self) -> bytes:
        """The first block and, in the same round, the last TAIL_BYTES of the object (when
        the transport can ask for a suffix before the size is known): pynwb / h5py files keep
        the B-tree nodes and heaps flushed at close at their end, which a cold walk otherwise
        reaches a round later."""
        if self._first_block is None and self._size is None and self._tail is None and tail_wanted():
            with _first_reads() as concurrent:
                if concurrent <= SPECULATE_UP_TO:
                    counters.record_round()
                    head, tail = pool_map(lambda read: read(), [
                        lambda: self._read(0, FIRST_READ_BLOCKS * config.block_size),
                        self._tail_or_nothing,
                    ])
                    self._first_block, self._tail = head, tail
        return super().first_block()

    def last_block(self) -> bytes:
        """The tail, handed over once (the engine keeps its blocks, within its memory
        budget; a reader kept for every URL ever read must not hold 512 KiB each)."""
        tail, self._tail = self._tail, b""
        return tail or b""

    def _tail_or_nothing(self) -> bytes | None:
        """The tail, or None when it cannot be had (a server that ignores suffix ranges):
        a speculation never fails the read it rides along with."""
        try:
            return self._read_tail()
        except Exception as exc:  # noqa: BLE001 - the first block's own read reports real faults
            log.debug("%s: no tail read (%s)", redact(self.uri), exc)
            return None

    def _read_tail(self) -> bytes | None:
        def attempt() -> bytes | None:
            answer = self._fetch_suffix(TAIL_BYTES)
            if answer is None:
                return None
            meta, data = answer
            counters.record_request(len(data))
            self._remember(meta)
            self._check(meta, -1, data)
            if self._size is not None and len(data) != min(TAIL_BYTES, self._size):
                raise Retryable(f"short read: {len(data)} of the last {TAIL_BYTES} bytes")
            return data

        return self._retrying(attempt, f"the last {TAIL_BYTES} bytes")

    def _read(self, start: int, end: int) -> bytes:
        if self._size is not None:
            end = min(end, self._size)
        if end <= start:
            return b""

        def attempt() -> bytes:
            meta, data = self._fetch_range(start, end)
            counters.record_request(len(data))
            self._remember(meta)
            self._check(meta, start, data)
            expected = max(0, min(end, self._size if self._size is not None else end) - start)
            if len(data) != expected:
                raise Retryable(f"short read: {len(data)} of {expected} bytes")
            return data

        return self._retrying(attempt, f"bytes {start}-{end}")

    def _get(self, key: str) -> bytes | None:
        check_key(key)

        def attempt() -> bytes | None:
            data = self._fetch_object(key)
            counters.record_request(len(data or b""))
            return data

        return self._retrying(attempt, repr(key))

    def _get_range(self, key: str, start: int, end: int | None) -> bytes | None:
        if end is None and start == 0:
            return self._get(key)
        check_key(key)

        def attempt() -> bytes | None:
            data = self._fetch_key_range(key, start, end)
            counters.record_request(len(data or b""))
            return data

        return self._retrying(attempt, f"{key!r} bytes {start}-{end}")


class HTTPReader(RemoteReader):
    """An http(s) URL: our own requests (transport/http.py)."""

    def __init__(self, url: str):
        super().__init__(url)
        parts = urlsplit(url.split("#", 1)[0])
        self._url = parts._replace(fragment="").geturl()
        self._base = parts._replace(query="", fragment="").geturl().rstrip("/")
        self._query = parts.query

    def _conditions(self) -> dict[str, str]:
        if self._etag:
            return {"If-Match": self._etag}
        if self._last_modified:
            return {"If-Unmodified-Since": self._last_modified}
        return {}

    @staticmethod
    def _meta(answer: http.Answer) -> dict[str, Any]:
        return {"size": answer.total, "e_tag": answer.headers.get("etag"),
                "last_modified": answer.headers.get("last-modified")}

    def _fetch_range(self, start: int, end: int) -> tuple[dict[str, Any], bytes]:
        answer = http.get_range(self._url, start, end, self._conditions())
        return self._meta(answer), answer.body

    def _fetch_suffix(self, n: int) -> tuple[dict[str, Any], bytes] | None:
        answer = http.get_suffix(self._url, n, self._conditions())
        return self._meta(answer), answer.body

    def _key_url(self, key: str, directory: bool = False) -> str:
        path = f"{self._base}/{quote(key)}" if key else self._base
        return path + ("/" if directory else "") + (f"?{self._query}" if self._query else "")

    def _fetch_object(self, key: str) -> bytes | None:
        answer = http.get_object(self._key_url(key), MAX_OBJECT_BYTES)
        return None if answer is None else answer.body

    def _fetch_key_range(self, key: str, start: int, end: int | None) -> bytes | None:
        try:
            if start < 0:
                answer = http.get_suffix(self._key_url(key), -start)
            else:
                answer = http.get_range(self._key_url(key), start, end if end is not None else start)
        except http.StatusError as exc:
            if exc.status == 404:
                return None
            raise
        return answer.body

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]] | None:
        """Plain HTTP cannot list, but many servers answer a directory's URL with an HTML
        index of its entries (nginx's autoindex, Apache, python's http.server): their
        relative links, 'name/' for directories. None where the answer is not such a page."""
        url = self._key_url(check_key(prefix) if prefix else "", directory=True)

        def attempt() -> bytes | None:
            try:
                answer = http.get_object(url, MAX_INDEX_BYTES)
            except http.TooLarge:
                return None
            except http.StatusError as exc:
                if exc.retryable:
                    raise
                return None  # 404, 403, ...: no index here
            counters.record_request(len(answer.body) if answer else 0)
            return None if answer is None else answer.body

        page = self._retrying(attempt, f"the index of {prefix or 'the root'!r}")
        if page is None or not looks_html(page):
            return None
        return parse_html_index(page.decode("utf-8", errors="replace"))

    def _fetch_meta(self) -> dict[str, Any]:
        answer = http.head(self._url, self._conditions())
        return self._meta(answer)


class ObjectReader(RemoteReader):
    """An object (or a Zarr store's prefix) in S3, GCS or Azure, through obstore."""

    def __init__(self, url: str):
        super().__init__(url)
        self.store, self.key = get_store(url)

    @staticmethod
    def _meta(meta: Any) -> dict[str, Any]:
        modified = meta.get("last_modified")
        return {"size": meta.get("size"), "e_tag": meta.get("e_tag"),
                "last_modified": email.utils.format_datetime(modified, usegmt=True) if modified else None}

    def _options(self) -> GetOptions:
        if self._etag:
            return {"if_match": self._etag}
        if self._last_modified:
            return {"if_unmodified_since": email.utils.parsedate_to_datetime(self._last_modified)}
        return {}

    def _fetch_range(self, start: int, end: int) -> tuple[dict[str, Any], bytes]:
        # obstore checks the answer's Content-Range against the range asked, and sizes its
        # buffer from that range: what a server announces cannot make it allocate more
        result = obstore.get(self.store, self.key, options={"range": (start, end), **self._options()})
        return self._meta(result.meta), bytes(result.bytes())

    def _fetch_suffix(self, n: int) -> tuple[dict[str, Any], bytes]:
        result = obstore.get(self.store, self.key, options={"range": {"suffix": n}, **self._options()})
        return self._meta(result.meta), bytes(result.bytes())

    def _fetch_object(self, key: str) -> bytes | None:
        """A whole object, asked for as the range from byte 0 (object_store checks the
        answer's range only for ranged requests); its announced size is checked against
        MAX_OBJECT_BYTES before the body is read (obstore would allocate what it claims)."""
        try:
            result = obstore.get(self.store, self._full(key), options={"range": {"offset": 0}})
        except Exception as exc:
            if _is_not_found(exc):
                return None
            if _NOT_SATISFIABLE.search(str(exc)):
                return b""  # an empty object has no byte 0
            raise
        size = int(result.meta.get("size") or 0)
        if size > MAX_OBJECT_BYTES:
            raise http.TooLarge(f"the server announces {size} bytes, more than the {MAX_OBJECT_BYTES} "
                                "an object may hold here")
        return bytes(result.bytes())

    def _full(self, key: str) -> str:
        return f"{self.key.rstrip('/')}/{key}" if self.key else key

    def _fetch_key_range(self, key: str, start: int, end: int | None) -> bytes | None:
        if start < 0:
            options: GetOptions = {"range": {"suffix": -start}}
        else:
            assert end is not None, "(0, None), the whole object, is read by _get"
            options = {"range": (start, end)}
        try:  # a range: obstore sizes its buffer from the range asked (checked in the answer)
            return bytes(obstore.get(self.store, self._full(key), options=options).bytes())
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]] | None:
        base = self._full(check_key(prefix)) if prefix else self.key.rstrip("/")

        def attempt() -> Any:
            result = obstore.list_with_delimiter(self.store, base or None)
            counters.record_request(0)
            return result

        result = self._retrying(attempt, f"the listing of {prefix or 'the root'!r}")
        strip = len(base) + 1 if base else 0
        files = sorted(meta["path"][strip:] for meta in result["objects"])
        dirs = sorted(p[strip:].rstrip("/") for p in result["common_prefixes"])
        return files, dirs

    def _fetch_meta(self) -> dict[str, Any]:
        return self._meta(obstore.head(self.store, self.key))


def looks_html(page: bytes) -> bool:
    return page.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def parse_html_index(page: str) -> tuple[list[str], list[str]]:
    """(files, directories) an HTML directory index links to, below the page only: relative
    links of one name ('name' or 'name/'); parents, queries and other hosts are ignored."""
    parser = _Links()
    parser.feed(page)
    files: set[str] = set()
    dirs: set[str] = set()
    for href in parser.hrefs:
        if "?" in href or "#" in href or "://" in href or href.startswith("/"):
            continue
        name = unquote(href)
        is_dir = name.endswith("/")
        name = name.rstrip("/")
        if not name or "/" in name or name in (".", "..") or "\x00" in name:
            continue
        (dirs if is_dir else files).add(name)
    return sorted(files), sorted(dirs)


def remote_reader(url: str) -> RemoteReader:
    """The reader for a remote URL: our own requests for http(s), obstore for the rest."""
    if urlsplit(url).scheme.lower() in ("http", "https"):
        return HTTPReader(url)
    if urlsplit(url).username and urlsplit(url).scheme.lower() not in ("az", "abfs", "abfss", "azure"):
        raise SourceError("user:password@ in an object-store URL is not used: give credentials in "
                          "config.storage_options", source=url)
    return ObjectReader(url)
