"""Byte-range readers: one small interface over local files and remote objects.

A Reader answers `size()`, `read(start, end)`, `read_many(ranges)` (one concurrent round) and
`get(key)` / `get_many(keys)` for objects below it (a Zarr store's keys). Remote readers
(transport/remote.py: http(s) through our own checked requests, s3 / gs / az through obstore)
run on a shared thread pool bounded by `config.max_concurrency`, with our retry policy and
the call's deadline, and are counted.

Keys below a source are checked before use (`checked_key`): a key that would climb out of
the source (`..`, an absolute path, a backslash) is refused, whatever its parts are.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..config import config
from ..errors import MalformedFileError, SourceError
from . import counters

T = TypeVar("T")
FIRST_READ_BLOCKS = 1
_pool_lock = threading.Lock()
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_size = 0


def shared_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The one pool that issues range requests for every file (bounded concurrency)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != config.max_concurrency:
            if _pool is not None:  # the bound changed: let the old pool finish and go
                _pool.shutdown(wait=False)
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=config.max_concurrency, thread_name_prefix="lazynwb-io"
            )
            _pool_size = config.max_concurrency
        return _pool


WAKE_EVERY = 0.1  # seconds between a waiting thread's checks for a pending Ctrl-C


def wait(future: concurrent.futures.Future[T]) -> T:
    """`future.result()`, but the waiting thread wakes every WAKE_EVERY seconds, so a Ctrl-C
    meanwhile is raised now rather than when the work ends. A plain blocking wait is not
    woken by SIGINT once polars is imported (its handler is installed with SA_RESTART, so
    the lock wait simply resumes), nor by a SIGINT the kernel delivered to another thread:
    Python raises KeyboardInterrupt only when the main thread runs Python code again."""
    while True:
        try:
            return future.result(timeout=WAKE_EVERY)
        except TimeoutError:
            if future.done():
                raise


def pool_map(call: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    """`[call(i) for i in items]` on the shared pool, in order, waited for interruptibly;
    on any exception (KeyboardInterrupt too) the calls not yet started are cancelled."""
    pool = shared_pool()  # each call runs in a copy of this context: the call's deadline
    futures = [pool.submit(contextvars.copy_context().run, call, item) for item in items]
    try:
        return [wait(f) for f in futures]
    finally:
        for future in futures:
            future.cancel()


class Reader:
    """Common behaviour: concurrency over `_read` / `_get`, which subclasses provide."""

    uri: str
    _first_block: bytes | None = None
    confirm_bytes = 1  # bytes from 0 a read must cover to confirm the object (see confirm)

    def size(self) -> int:
        raise NotImplementedError

    def _read(self, start: int, end: int) -> bytes:
        raise NotImplementedError

    def _get(self, key: str) -> bytes | None:
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """What the store said the object is (remote readers: size and ETag, or size,
        Last-Modified and a fingerprint of the first bytes)."""
        return {}

    def expect(self, identity: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Take a stored identity as known (remote readers)."""

    def matches(self, identity: dict[str, Any]) -> bool:
        """Whether the object is still the one `identity` describes (remote readers ask)."""
        return True

    def confirm(self) -> None:  # noqa: B027 - optional hook
        """Raise SourceError when the object changed since it was first read (remote
        readers: one small conditional request)."""

    def first_block(self) -> bytes:
        """Bytes [0, FIRST_READ_BLOCKS * config.block_size), read once: the format signature
        and, for HDF5, the superblock and usually the root group's metadata."""
        if self._first_block is None:
            self._first_block = self.read(0, FIRST_READ_BLOCKS * config.block_size)
        return self._first_block

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the object; one round of one request."""
        counters.record_round()
        return self._read(start, end)

    def read_many(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Several ranges in one concurrent round, results in the order asked."""
        if not ranges:
            return []
        counters.record_round()
        if len(ranges) == 1:
            return [self._read(*ranges[0])]
        return pool_map(lambda r: self._read(*r), ranges)

    def get(self, key: str) -> bytes | None:
        """The whole object `key` below this source, or None when it does not exist."""
        counters.record_round()
        return self._get(checked_key(key, self.uri))

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes | None]:
        if not keys:
            return {}
        keys = [checked_key(k, self.uri) for k in keys]
        counters.record_round()
        if len(keys) == 1:
            return {keys[0]: self._get(keys[0])}
        return dict(zip(keys, pool_map(self._get, keys)))


def checked_key(key: str, source: str) -> str:
    """`key` if it names an object below the source, else MalformedFileError: no part is
    empty, '.' or '..', none holds a backslash or NUL, and it does not start with '/'."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
        raise MalformedFileError(f"key {key!r} would leave the store", source=source)
    return key


class LocalReader(Reader):
    """A local file or directory (a Zarr store is a directory of keys)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.uri = str(path)

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError as exc:
            raise SourceError(f"cannot open: {exc.strerror}", source=self.uri) from exc

    def _read(self, start: int, end: int) -> bytes:
        try:
            with open(self.path, "rb") as f:
                data = os.pread(f.fileno(), end - start, start)
        except OSError as exc:
            raise SourceError(f"cannot read: {exc.strerror}", source=self.uri) from exc
        counters.record_request(len(data))
        return data

    def _get(self, key: str) -> bytes | None:
        try:
            data = (self.path / key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        counters.record_request(len(data))
        return data


_readers: dict[str, Reader] = {}
_readers_lock = threading.Lock()


def open_reader(uri: str) -> Reader:
    """A reader for a local path or a URL; remote readers are shared per URL."""
    if "://" not in uri or uri.startswith("file://"):
        return LocalReader(uri.removeprefix("file://"))
    from .remote import remote_reader

    with _readers_lock:
        reader = _readers.get(uri)
        if reader is None:
            reader = _readers[uri] = remote_reader(uri)
        return reader


_change_listeners: list[Any] = []


def on_source_changed(listener: Any) -> None:
    """Call `listener(uri)` when a read finds the object changed on the server (so stored
    catalogs of the old version are dropped)."""
    _change_listeners.append(listener)


def forget_reader(uri: str) -> None:
    """Drop a cached reader (its size / ETag), e.g. after the source changed."""
    with _readers_lock:
        _readers.pop(uri, None)
