"""Byte-range readers: one small interface over local files and remote objects.

A Reader answers `size()`, `read(start, end)`, `read_many(ranges)` (one concurrent round) and,
for objects below it (a Zarr store's keys), `get(key)` / `get_many(keys)`, `get_ranges` (parts
of several objects, suffixes included, in one round) and `list_dir` (where the store lists).
Keys are checked to stay below the source (`check_key`): no '..', '.', empty or absolute part.
Remote readers (transport/remote.py: http(s) through our own checked requests, s3 / gs / az
through obstore) run on a shared thread pool bounded by `config.max_concurrency`, with our
retry policy and the call's deadline, and are counted.

The first remote read also learns the object's size and ETag (no separate HEAD); later reads
send If-Match, so a file that changes on the server mid-session is an error, never a mix of
two versions.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..config import config
from ..errors import SourceError
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


KeyRange = tuple[str, int, int | None]  # (key, start, end): bytes [start, end); (key, -n, None): last n


class UnsafeKeyError(ValueError):
    """A key that could name something outside the source ('..', '/x', 'a//b', NUL)."""


def check_key(key: str) -> str:
    """`key` if it names an object below the source, else UnsafeKeyError."""
    if not isinstance(key, str) or not key or "\x00" in key or "\\" in key or key.startswith("/"):
        raise UnsafeKeyError(f"key {key!r} is not below the store's root")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise UnsafeKeyError(f"key {key!r} is not below the store's root")
    return key


class Reader:
    """Common behaviour: concurrency over `_read` / `_get`, which subclasses provide."""

    uri: str
    _first_block: bytes | None = None

    @property
    def confirm_bytes(self) -> int:
        """Bytes from 0 a read must cover to confirm the object (see confirm)."""
        return 1

    # keys fetched to tell the source's format (a Zarr store's root keys), kept for the open
    # that follows so that it needs no second round for them
    peeked: dict[str, bytes] | None = None

    def size(self) -> int:
        raise NotImplementedError

    def _read(self, start: int, end: int) -> bytes:
        raise NotImplementedError

    def _get(self, key: str) -> bytes | None:
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """What the store said the object is (remote readers: size and ETag)."""
        return {}

    # A store (a prefix of keys, not one object) is known by one key that changes whenever
    # the store does: a Zarr store's root metadata. Its size and content hash are the store's
    # identity, learned whenever that key is read.
    anchor: str | None = None
    _anchor_identity: dict[str, Any] | None = None

    def set_anchor(self, key: str, data: bytes | None = None) -> None:
        """Make `key` the store's identity (with its content, when just read)."""
        self.anchor = key
        self._note(key, data)

    def _note(self, key: str, data: bytes | None) -> bytes | None:
        if data is not None and key == self.anchor:
            digest = hashlib.sha256(data).hexdigest()[:40]
            self._anchor_identity = {"key": key, "size": len(data), "etag": f"sha256:{digest}"}
        return data

    def refresh_identity(self) -> dict[str, Any]:
        """The identity as the source has it now (one small request)."""
        if self.anchor:
            self.get(self.anchor)
        else:
            self.read(0, 1)
        return self.identity()

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

    def last_block(self) -> bytes:
        """The object's last bytes when the first read fetched them too (remote readers
        that can ask for a suffix: HDF5 writers put the metadata written at close there),
        else nothing. No request of its own."""
        return b""

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
        return self._note(key, self._get(key))

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes | None]:
        if not keys:
            return {}
        counters.record_round()
        if len(keys) == 1:
            return {keys[0]: self._note(keys[0], self._get(keys[0]))}
        return {k: self._note(k, v) for k, v in zip(keys, pool_map(self._get, keys))}

    def _get_range(self, key: str, start: int, end: int | None) -> bytes | None:
        raise NotImplementedError

    def get_ranges(self, requests: Sequence[KeyRange]) -> list[bytes | None]:
        """Parts of objects below this source, in one concurrent round, in the order asked:
        (key, start, end) is bytes [start, end) (fewer where the object ends sooner);
        (key, -n, None) its last n bytes; (key, 0, None) the whole object. None where the
        object does not exist."""
        if not requests:
            return []
        counters.record_round()
        if len(requests) == 1:
            return [self._get_range(*requests[0])]
        return pool_map(lambda r: self._get_range(*r), requests)

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]] | None:
        """(object names, sub-prefix names) directly below `prefix` ('' for the root), one
        request; None where the store cannot list (plain HTTP without a directory index)."""
        return None


class LocalReader(Reader):
    """A local file or directory (a Zarr store is a directory of keys). Several keys are
    read one after another in the calling thread: a local read has no latency to hide, and
    a read of many chunks would otherwise start a thread (and its stack) per chunk."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.uri = str(path)

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes | None]:
        if not keys:
            return {}
        counters.record_round()
        return {k: self._note(k, self._get(k)) for k in keys}

    def get_ranges(self, requests: Sequence[KeyRange]) -> list[bytes | None]:
        if not requests:
            return []
        counters.record_round()
        return [self._get_range(*r) for r in requests]

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
            data = (self.path / check_key(key)).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            counters.record_request(0)  # a lookup, as a remote store's 404
            return None
        counters.record_request(len(data))
        return data

    def _get_range(self, key: str, start: int, end: int | None) -> bytes | None:
        if end is None and start == 0:
            return self._get(key)
        try:
            with open(self.path / check_key(key), "rb") as f:
                if start < 0:
                    size = os.fstat(f.fileno()).st_size
                    start, end = max(0, size + start), size
                assert end is not None
                data = os.pread(f.fileno(), max(0, end - start), start)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            counters.record_request(0)  # a lookup, as a remote store's 404
            return None
        counters.record_request(len(data))
        return data

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]] | None:
        directory = self.path / check_key(prefix) if prefix else self.path
        files: list[str] = []
        dirs: list[str] = []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    (dirs if entry.is_dir(follow_symlinks=False) else files).append(entry.name)
        except (FileNotFoundError, NotADirectoryError):
            pass
        counters.record_request(0)
        return sorted(files), sorted(dirs)


_TAIL_WANTED: contextvars.ContextVar[bool] = contextvars.ContextVar("tail_wanted", default=True)


def tail_wanted() -> bool:
    """Whether a remote object's first read also asks for its tail (see first_read_alone)."""
    return _TAIL_WANTED.get()


@contextlib.contextmanager
def first_read_alone() -> Iterator[None]:
    """Remote objects first read inside the block are asked for their first block only,
    not their tail too: for calls that need only what writers put at a file's start
    (session metadata of many files, where the tail would be most of the bytes read)."""
    token = _TAIL_WANTED.set(False)
    try:
        yield
    finally:
        _TAIL_WANTED.reset(token)


_readers: dict[tuple[str, str, str], Reader] = {}
_readers_lock = threading.Lock()


def open_reader(uri: str, storage_options: dict[str, Any] | None = None) -> Reader:
    """A reader for a local path or a URL, by the transport that serves it (routes.py);
    remote readers are shared per URL, transport and storage options."""
    from .routes import options_key, remote_reader, route

    transport = route(uri, storage_options)
    if transport == "local":
        return LocalReader(uri.removeprefix("file://"))
    key = (uri, transport, options_key(storage_options))
    with _readers_lock:
        reader = _readers.get(key)
        if reader is None:
            reader = _readers[key] = remote_reader(transport, uri, storage_options)
        return reader


_change_listeners: list[Any] = []


def on_source_changed(listener: Any) -> None:
    """Call `listener(uri)` when a read finds the object changed on the server (so stored
    catalogs of the old version are dropped)."""
    _change_listeners.append(listener)


def forget_reader(uri: str) -> None:
    """Drop a cached reader (its size / ETag), e.g. after the source changed."""
    with _readers_lock:
        for key in [k for k in _readers if k[0] == uri]:
            del _readers[key]
