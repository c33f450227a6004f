"""Running per-file work over many sources: concurrent, ordered, named failures, progress.

Files are independent, so they are read concurrently (a bounded number in flight); results
come back in the order of the sources, every time. A failure is re-raised naming its file;
with `ignore_errors=True` it becomes a warning and the file is skipped.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import gc
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from tqdm.auto import tqdm

from .config import config
from .errors import InternalPathError, LazyNWBError, get_logger, redact, safe_cause
from .sources import Source
from .transport.counters import counting
from .transport.deadline import deadline_at, until, within_deadline
from .transport.readers import wait

logger = get_logger(__name__)
T = TypeVar("T")

_executor: concurrent.futures.ThreadPoolExecutor | None = None
_executor_size = 0
_executor_lock = threading.Lock()

# While files are read together, the young generation is collected every this many new
# objects rather than every 700: reading 1,000 small files' metadata spent 10-15% of its
# time in ~360 collections (each full one walks every module's objects), and those files
# make little cyclic garbage. Collection still runs (bounded garbage), and the process's
# own thresholds come back when the last such call ends.
_FILES_GC_THRESHOLD = 100_000
_gc_lock = threading.Lock()
_gc_calls = 0
_gc_saved: tuple[int, ...] = ()


def _files_executor() -> concurrent.futures.ThreadPoolExecutor:
    """Threads doing per-file work (`config.max_files_in_flight`); their requests all go
    through the transport's one bounded pool, so many files share one bound."""
    global _executor, _executor_size
    with _executor_lock:
        if _executor is None or _executor_size != config.max_files_in_flight:
            if _executor is not None:
                _executor.shutdown(wait=False)
            _executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=config.max_files_in_flight, thread_name_prefix="lazynwb-file"
            )
            _executor_size = config.max_files_in_flight
        return _executor


class Missing:
    """Marker result: the table (or path) is not in this file."""

    def __init__(self, error: InternalPathError):
        self.error = error


def name_errors(source: Source, call: Callable[[], T]) -> T:
    """Run per-file work so that any failure names the file (within the call's deadline)."""
    try:
        with within_deadline():
            return call()
    except LazyNWBError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named, just below
        failure: BaseException = exc
    # outside the except block: no unredacted __context__ rides along
    raise LazyNWBError(f"{type(failure).__name__}: {failure}", source=source.label) from (
        safe_cause(failure)
    )


def map_sources(
    sources: Sequence[Source],
    work: Callable[[Source], T],
    *,
    parallel: bool = True,
    ignore_errors: bool = False,
    disable_progress: bool = False,
    desc: str = "Reading NWB files",
) -> Iterator[tuple[Source, T | Missing]]:
    """Yield (source, result) in source order; a missing path yields a Missing marker. All
    of it shares one deadline (config.call_deadline), from the first file's start."""
    deadline = deadline_at()

    def run(source: Source) -> T | Missing:
        try:
            with until(deadline):
                return name_errors(source, lambda: work(source))
        except InternalPathError as exc:
            return Missing(exc)

    bar = _progress(len(sources), desc, disable_progress or len(sources) < 2)
    with counting() as transferred:

        def advance() -> None:  # files done, and the bytes read so far beside them
            bar.set_postfix_str(f"{transferred.bytes / 1e6:,.1f} MB read", refresh=False)
            bar.update()

        try:
            if parallel and len(sources) > 1:
                executor = _files_executor()
                with _fewer_collections():
                    futures = [executor.submit(run, s) for s in sources]
                    try:
                        for source, future in zip(sources, futures):
                            yield source, _settle(source, functools.partial(wait, future), ignore_errors)
                            advance()
                    finally:
                        for future in futures:
                            future.cancel()
            else:
                for source in sources:
                    yield source, _settle(source, functools.partial(run, source), ignore_errors)
                    advance()
        finally:
            bar.close()


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect the young generation less often while a multi-file call runs (see
    _FILES_GC_THRESHOLD); overlapping calls share it, the last one restores the thresholds."""
    global _gc_calls, _gc_saved
    with _gc_lock:
        if _gc_calls == 0:
            _gc_saved = gc.get_threshold()
            if _gc_saved[0] and _gc_saved[0] < _FILES_GC_THRESHOLD:  # 0: the process turned it off
                gc.set_threshold(_FILES_GC_THRESHOLD, *_gc_saved[1:])
        _gc_calls += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_calls -= 1
            if _gc_calls == 0:
                gc.set_threshold(*_gc_saved)


def results_of(
    sources: Sequence[Source],
    work: Callable[[Source], T | None],
    *,
    desc: str,
    disable_progress: bool = False,
) -> list[T]:
    """`work`'s results over the sources (map_sources: concurrent, one deadline), in source
    order, those that are None left out; a path missing in a file raises that file's error."""
    results = []
    for _, result in map_sources(sources, work, disable_progress=disable_progress, desc=desc):
        if isinstance(result, Missing):
            raise result.error
        if result is not None:
            results.append(result)
    return results


class _NoProgress:
    """What a disabled bar does (nothing). tqdm builds a multiprocessing lock even for a
    disabled bar: ~20-70 ms of a one-file call's CPU (imports, a semaphore's random name)."""

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, desc: str, disable: bool) -> tqdm | _NoProgress:
    return _NoProgress() if disable else tqdm(total=total, desc=desc, unit="file")


_SKIPPED = object()


def _settle(source: Source, get: Callable[[], T], ignore_errors: bool) -> Any:  # T, or _SKIPPED (is_skipped)
    try:
        return get()
    except LazyNWBError as exc:
        if not ignore_errors:
            raise
        warnings.warn(f"skipped {redact(source.label)}: {exc}", stacklevel=4)
        return _SKIPPED


def is_skipped(result: object) -> bool:
    return result is _SKIPPED


def report_missing(missing: list[InternalPathError], total: int, raise_on_missing: bool) -> None:
    """Missing in every file is an error (naming them); in some files, a warning, or an error
    with raise_on_missing=True."""
    if not missing:
        return
    if raise_on_missing or len(missing) == total:
        raise missing[0] if len(missing) == 1 else InternalPathError(
            f"not found in {len(missing)} of {total} files: "
            + "; ".join(str(e) for e in missing[:5])
            + (" ..." if len(missing) > 5 else "")
        )
    warnings.warn(
        f"skipped {len(missing)} of {total} files without the path: "
        + "; ".join(str(e) for e in missing[:5]),
        stacklevel=3,
    )
