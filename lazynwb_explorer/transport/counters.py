"""Counters of requests, bytes and rounds, so tests and benchmarks can see what a call cost.

A read is one request. A round is one batch of requests issued together (a critical-path
step): a lone read is a round of one, `read_many` of N ranges is a round of N.

`with counting() as c:` collects everything transferred by any thread while the block runs;
blocks may nest. A process-wide total (`totals`) is always kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator


@dataclasses.dataclass
class Counters:
    requests: int = 0
    bytes: int = 0
    rounds: int = 0
    retries: int = 0

    def snapshot(self) -> Counters:
        return dataclasses.replace(self)


_lock = threading.Lock()
_active: list[Counters] = []
totals = Counters()


def _apply(**deltas: int) -> None:
    with _lock:
        for counters in (totals, *_active):
            for name, delta in deltas.items():
                setattr(counters, name, getattr(counters, name) + delta)


def record_request(nbytes: int) -> None:
    _apply(requests=1, bytes=nbytes)


def record_round() -> None:
    _apply(rounds=1)


def record_retry() -> None:
    _apply(retries=1)


@contextlib.contextmanager
def counting() -> Iterator[Counters]:
    """Count what is transferred while the block runs (all threads)."""
    counters = Counters()
    with _lock:
        _active.append(counters)
    try:
        yield counters
    finally:
        with _lock:  # by identity: Counters compare equal by value (dataclass)
            _active[:] = [c for c in _active if c is not counters]
