"""A byte-range reader over fsspec, for every URL and UPath our own transport does not serve.

That is memory://, sftp:// / ssh://, hf://, webdav, chained URLs (`simplecache::`,
`filecache::`, `blockcache::` in front of any other), and http(s) / s3 / gcs / azure through
aiohttp, s3fs, gcsfs, adlfs when asked (`config.use_obstore=False`, or a UPath carrying its
own storage options, such as a gcsfs token). transport/fsspec_chains.py builds the
filesystem and says which options reach which layer.

The rules of the other readers hold here too: every request is counted
(transport/counters.py) and retried within bounds (transport/retry.py); each call to the
filesystem is bounded in time: `config.request_timeout` per wave of requests (an async
filesystem cancels it; for another the caller stops waiting, on a daemon thread), never past
the call's deadline (transport/deadline.py), which alone bounds a caching chain's first read
(it downloads the whole file); a whole object (a Zarr key) is asked for as at most
MAX_OBJECT_BYTES + 1 bytes and refused past MAX_OBJECT_BYTES; keys are checked to stay below
the store's root; an http(s) layer keeps our requests' rules on lengths and redirects
(transport/fsspec_http.py), whose refusals are never retried; error texts are redacted (the
UPath's secrets included).

Concurrency: an async filesystem (http, s3fs, gcsfs, adlfs, sshfs) gets a round's ranges in
one `cat_ranges` call, run concurrently on fsspec's event loop; any other filesystem gets one
range per thread of the shared pool. A caching chain takes one call at a time (a lock): its
first read of a file downloads it, which must happen once, and its batch download
(`cat_ranges`) leaves an empty file in the cache for every key of the batch when one key is
missing, which a Zarr store's probe for its root keys always meets. fsspec keeps a download
cut short in its cache and answers later reads from it: a failed read drops that copy
before it is tried again.

What it cannot do: conditional reads. A file is known by its size and the validator `info()`
gives (ETag, Last-Modified, mtime, ...), learned before its first read and checked when a
stored catalog is revalidated, not on every read.
"""
from __future__ import annotations

import concurrent.futures
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from fsspec.asyn import AsyncFileSystem
from fsspec.exceptions import FSTimeoutError
from fsspec.implementations.cached import CachingFileSystem, SimpleCacheFileSystem

from ..config import config
from ..errors import NotFoundError, SourceError, TransportError, redact, remember_secrets
from . import counters
from .deadline import remaining
from .fsspec_chains import chain_protocols, open_filesystem
from .fsspec_http import AnswerRefused
from .readers import WAKE_EVERY, KeyRange, Reader, check_key, pool_map
from .remote import MAX_INDEX_BYTES, MAX_OBJECT_BYTES, looks_html, parse_html_index
from .retry import Retryable, with_retries

# what `info()` may hold that changes when the object does, most telling first
_VALIDATORS = ("ETag", "etag", "e_tag", "md5Hash", "md5", "Content-MD5", "checksum",
               "Last-Modified", "LastModified", "last_modified", "mtime", "updated", "created")
Kind = Literal["range", "key", "part"]  # bytes of the object; a whole key; part of a key
Item = tuple[str, int, int | None]  # (filesystem path, start, end)


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _not_found(exc: BaseException) -> bool:
    cause = exc.__cause__
    if isinstance(exc, FileNotFoundError) and cause is not None and (
            _status(cause) is not None or type(cause).__module__.startswith("aiohttp")
            or isinstance(cause, TimeoutError | ConnectionError | AnswerRefused)):
        return _status(cause) == 404  # fsspec's HTTP info() says "not found" for any failure
    return isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError) or (
        _status(exc) == 404)


def _denied(exc: BaseException) -> bool:
    return isinstance(exc, PermissionError) or _status(exc) in (401, 403)


class ObjectTooLarge(Exception):
    """A whole object larger than MAX_OBJECT_BYTES."""


def _refused(exc: BaseException) -> BaseException | None:
    """Our rules' refusal (fsspec_http.AnswerRefused) in `exc` or its causes: fsspec's HTTP
    info() reports any failure as FileNotFoundError, from the real one."""
    link: BaseException | None = exc
    for _ in range(8):
        if link is None or isinstance(link, AnswerRefused):
            return link
        link = link.__cause__ or link.__context__
    return None


def _is_retryable(exc: BaseException) -> bool:
    if _refused(exc) is not None:
        return False
    if _not_found(exc) or _denied(exc) or isinstance(exc, ObjectTooLarge):
        return False
    status = _status(exc)
    if status is not None and 400 <= status < 500 and status not in (408, 429):
        return False  # asking again cannot help
    # a bad option or an operation the filesystem lacks: the same answer every time
    return not isinstance(exc, ValueError | TypeError | NotImplementedError | ImportError
                          | AttributeError | KeyError)


def _wait_at_most(call: Callable[[], Any], seconds: float) -> Any:
    """`call()` on a daemon thread of its own, waited for at most `seconds` (waking for a
    Ctrl-C meanwhile): a filesystem without timeouts of its own cannot hang the caller, nor
    the interpreter's exit (a pool's threads are joined then)."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            future.set_exception(exc)

    threading.Thread(target=run, name="lazynwb-fsspec", daemon=True).start()
    waited = 0.0
    while True:
        try:
            return future.result(timeout=WAKE_EVERY)
        except concurrent.futures.TimeoutError:
            waited += WAKE_EVERY
            if waited >= seconds:
                raise TimeoutError(f"no answer within {seconds:g} s") from None


class FsspecReader(Reader):
    """An object, or a Zarr store's prefix, behind any fsspec filesystem."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None):
        self.uri = url
        remember_secrets(dict(storage_options or {}))
        self.fs, path = open_filesystem(url, storage_options)
        self.path = path.rstrip("/") or path
        self._async = isinstance(self.fs, AsyncFileSystem)
        self._caching = isinstance(self.fs, CachingFileSystem)
        self._cache_lock = threading.Lock()
        protocols = chain_protocols(url)
        self._in_process = protocols[-1] == "memory"  # nothing a later process could recognise
        self._lists_by_index = protocols[-1] in ("http", "https")
        self._size: int | None = None
        self._validator: str | None = None
        self._meta_lock = threading.Lock()

    # -- one call, bounded in time ---------------------------------------------------------

    def _call(self, method: Callable[..., Any], *args: Any, waves: int = 1, **kwargs: Any) -> Any:
        """`method(...)`, given request_timeout per wave of requests, never past the call's
        deadline. A caching chain's call may download a whole file: the call's time alone."""
        left = remaining()
        if self._caching:
            def locked() -> Any:
                with self._cache_lock:
                    return method(*args, **kwargs)

            seconds, call = (config.call_deadline if left is None else max(0.0, left)), locked
        else:
            seconds = config.request_timeout * waves
            seconds = seconds if left is None else max(0.0, min(seconds, left))
            call = lambda: method(*args, **kwargs)  # noqa: E731
        try:
            if self._async:  # fsspec's sync() cancels the coroutine after `timeout`
                return method(*args, timeout=seconds, **kwargs)
            return _wait_at_most(call, seconds)
        except (TimeoutError, FSTimeoutError):
            if left is not None and seconds >= left:
                raise TimeoutError(f"the call's deadline of {config.call_deadline:g} s "
                                   "(config.call_deadline) passed") from None
            raise TimeoutError(f"no answer within {seconds:g} s") from None

    def _error(self, exc: BaseException, attempts: int, what: str) -> BaseException:
        refused = _refused(exc)
        if refused is not None:
            return SourceError(f"{what}: {redact(str(refused))}", source=self.uri)
        if _not_found(exc):
            return NotFoundError(f"no such file (reading {what})", source=self.uri)
        if _denied(exc):
            return NotFoundError(f"access denied while reading {what}", source=self.uri)
        if isinstance(exc, ObjectTooLarge):
            return SourceError(f"{what}: {exc}", source=self.uri)
        if isinstance(exc, FileNotFoundError) and exc.__cause__ is not None:
            exc = exc.__cause__  # what fsspec's HTTP info() met
        text = str(exc).strip()
        detail = redact(text.splitlines()[0] if text else type(exc).__name__)
        return TransportError(
            f"reading {what} failed after {attempts} attempt(s): {detail}", source=self.uri)

    def _retrying(self, attempt: Callable[[], Any], what: str) -> Any:
        """`attempt()` with our retries, within the call's deadline."""
        return with_retries(attempt, is_retryable=_is_retryable, what=what, source=self.uri,
                            on_give_up=lambda e, n: self._error(e, n, what))

    # -- size and identity -----------------------------------------------------------------

    def _stat(self, fresh: bool = False) -> tuple[int, str | None]:
        """(size, validator) from the filesystem's info(), one request."""
        # a cache in a chain keeps data, not metadata: its target answers (blockcache's own
        # info() cannot, over http)
        target = self.fs.fs if self._caching else self.fs
        if fresh:
            target.invalidate_cache(self.path)

        def attempt() -> dict[str, Any]:
            info = self._call(target.info, self.path)
            counters.record_request(0)
            return info

        info = self._retrying(attempt, "the file size")
        if info.get("type") == "directory":
            raise SourceError("a directory, not a file", source=self.uri)
        if info.get("size") is None:
            raise SourceError("the filesystem does not tell the file's size", source=self.uri)
        validator = next((str(info[k]) for k in _VALIDATORS if info.get(k) is not None), None)
        return int(info["size"]), validator

    def size(self) -> int:
        if self._size is None:
            size, validator = self._stat()
            with self._meta_lock:
                if self._size is None:
                    self._size, self._validator = size, validator
        assert self._size is not None
        return self._size

    def identity(self) -> dict[str, Any]:
        """Size and validator once known (a store: its anchor key's size and hash); nothing
        for an in-process filesystem (memory://), whose catalogs must not be stored."""
        if self._in_process:
            return {}
        if self.anchor:
            return dict(self._anchor_identity or {})
        return {"size": self._size, "etag": self._validator} if self._size is not None else {}

    def refresh_identity(self) -> dict[str, Any]:
        if self.anchor or self._in_process:
            return super().refresh_identity()
        size, validator = self._stat(fresh=True)
        return {"size": size, "etag": validator}

    def expect(self, identity: dict[str, Any]) -> None:
        """Take a stored identity as known: the first read then needs no info() first."""
        if identity.get("key"):
            self.anchor = self.anchor or identity["key"]
            if self._anchor_identity is None:
                self._anchor_identity = dict(identity)
            return
        with self._meta_lock:
            if self._size is None and identity.get("size") is not None:
                self._size, self._validator = int(identity["size"]), identity.get("etag")

    # -- fetching --------------------------------------------------------------------------

    def _key_path(self, key: str) -> str:
        return f"{self.path.rstrip('/')}/{check_key(key)}"

    def _settle(self, kind: Kind, item: Item, result: Any) -> bytes | None:
        """What one fetched result means: the bytes, None for a missing key, b'' for an
        empty one; raises for a failure (Retryable for a result of the wrong length)."""
        _, start, end = item
        if isinstance(result, BaseException):
            if kind != "range" and _not_found(result) and _refused(result) is None:
                counters.record_request(0)  # a lookup, as a remote store's 404
                return None
            if kind == "key" and _status(result) == 416:  # an empty object has no byte 0
                counters.record_request(0)
                return b""
            raise result
        data = bytes(result)
        counters.record_request(len(data))
        if kind == "key" and len(data) > MAX_OBJECT_BYTES:
            raise ObjectTooLarge(f"larger than {MAX_OBJECT_BYTES} bytes")
        if kind == "range" and end is not None and len(data) != end - start:
            raise Retryable(f"short read: {len(data)} of {end - start} bytes")
        return data

    def _fetch_one(self, item: Item) -> Any:
        path, start, end = item
        try:
            if self._caching and start < 0:  # a cached copy is a plain file: no .size
                return self._call(self._cached_suffix, path, -start)
            return self._call(self.fs.cat_file, path, start=start, end=end)
        except Exception as exc:  # noqa: BLE001 - settled by the caller
            return exc

    def _cached_suffix(self, path: str, n: int) -> bytes:
        with self.fs.open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - n))
            return f.read()

    def _one(self, kind: Kind, item: Item, what: str) -> bytes | None:
        def attempt() -> bytes | None:
            result = self._fetch_one(item)
            try:
                return self._settle(kind, item, result)
            except Exception:
                self._drop_cached(item[0])
                raise

        return self._retrying(attempt, what)

    def _drop_cached(self, path: str) -> None:
        """Forget a caching chain's copy of `path` after a failure: fsspec keeps a download
        cut short, and would answer every later read from it."""
        if not self._caching:
            return
        try:
            if isinstance(self.fs, SimpleCacheFileSystem):
                copy = self.fs._check_file(self.fs._strip_protocol(path))
                if copy:
                    os.remove(copy)
            else:
                self.fs.pop_from_cache(path)
        except (OSError, KeyError, ValueError):
            pass  # nothing cached, or a read-only cache

    def _round(self, asked: Sequence[tuple[Kind, Item]], whats: Sequence[str]) -> list[bytes | None]:
        """Several fetches in one concurrent round, in the order asked; a failure worth
        another try is tried again on its own."""
        one_by_one = lambda i: self._one(*asked[i], whats[i])  # noqa: E731
        if not self._async:
            return pool_map(one_by_one, range(len(asked)))
        paths, starts, ends = (list(column) for column in zip(*(item for _, item in asked)))
        try:  # fsspec runs the batch concurrently (its own batch size: 128 by default)
            results = self._call(self.fs.cat_ranges, paths, starts, ends, on_error="return",
                                 waves=-(-len(asked) // max(1, config.max_concurrency)))
        except Exception:  # noqa: BLE001 - the whole call failed: each item on its own
            return pool_map(one_by_one, range(len(asked)))
        out = []
        for (kind, item), what, result in zip(asked, whats, results):
            try:
                out.append(self._settle(kind, item, result))
            except Exception as exc:  # noqa: BLE001 - classified just below
                if not (isinstance(exc, Retryable) or _is_retryable(exc)):
                    raise self._error(exc, 1, what) from None
                counters.record_retry()
                out.append(self._one(kind, item, what))
        return out

    def _range_item(self, start: int, end: int) -> Item:
        return (self.path, start, max(start, min(end, self.size())))

    def _read(self, start: int, end: int) -> bytes:
        item = self._range_item(start, end)
        if item[2] == start:
            return b""
        return self._one("range", item, f"bytes {start}-{end}") or b""

    def read_many(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        if not ranges:
            return []
        counters.record_round()
        items = [self._range_item(a, b) for a, b in ranges]
        wanted = [i for i, item in enumerate(items) if item[2] != item[1]]
        got = self._round([("range", items[i]) for i in wanted],
                          [f"bytes {ranges[i][0]}-{ranges[i][1]}" for i in wanted])
        out = [b""] * len(ranges)
        for i, data in zip(wanted, got):
            out[i] = data or b""
        return out

    def _key_item(self, key: str, start: int, end: int | None) -> tuple[Kind, Item]:
        path = self._key_path(key)
        if start == 0 and end is None:  # a whole key, asked for as a bounded range
            return "key", (path, 0, MAX_OBJECT_BYTES + 1)
        return "part", (path, start, end)

    def _get(self, key: str) -> bytes | None:
        return self._one(*self._key_item(key, 0, None), repr(key))

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes | None]:
        if not keys:
            return {}
        counters.record_round()
        found = self._round([self._key_item(k, 0, None) for k in keys], [repr(k) for k in keys])
        return {k: self._note(k, v) for k, v in zip(keys, found)}

    def _get_range(self, key: str, start: int, end: int | None) -> bytes | None:
        return self._one(*self._key_item(key, start, end), f"{key!r} bytes {start}-{end}")

    def get_ranges(self, requests: Sequence[KeyRange]) -> list[bytes | None]:
        if not requests:
            return []
        counters.record_round()
        return self._round([self._key_item(*r) for r in requests],
                           [f"{k!r} bytes {a}-{b}" for k, a, b in requests])

    # -- listing ---------------------------------------------------------------------------

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]] | None:
        base = self._key_path(prefix) if prefix else self.path.rstrip("/")
        if self._lists_by_index:  # plain HTTP lists only through a directory's index page
            page = self._one("key", (base + "/", 0, MAX_INDEX_BYTES + 1), f"the index of {base}")
            if page is None or len(page) > MAX_INDEX_BYTES or not looks_html(page):
                return None
            return parse_html_index(page.decode("utf-8", errors="replace"))

        def attempt() -> list[dict[str, Any]]:
            try:
                entries = self._call(self.fs.ls, base, detail=True)
            except Exception as exc:
                if not _not_found(exc):
                    raise
                entries = []
            counters.record_request(0)
            return entries

        entries = self._retrying(attempt, f"the listing of {base}")
        files: set[str] = set()
        dirs: set[str] = set()
        for entry in entries:
            full = str(entry.get("name", "")).rstrip("/")
            name = full.rsplit("/", 1)[-1]
            if full == base or name in ("", ".", "..") or "\x00" in name:
                continue
            (dirs if entry.get("type") == "directory" else files).add(name)
        return sorted(files), sorted(dirs)
