"""A total deadline per call, on top of the per-request timeout.

A server that answers every request just inside `config.request_timeout` would otherwise
make a call of many rounds take that long per round: 62 rounds of 1.8 s answers made one
`get_internal_paths` take 112 s with a 2 s timeout (half an hour at the default 30 s). Per-file
work of a call (multifile.map_sources, name_errors) runs `within_deadline()`: its requests,
on any thread of the shared pool, stop being made (and retried) once `config.call_deadline`
seconds have passed since the call began; a request already in flight ends within its own
timeout. A lazy scan's clock starts when it is collected.

Calls nest: work done inside a call keeps the call's deadline.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ..config import config
from ..errors import TransportError

F = TypeVar("F", bound=Callable[..., Any])
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("lazynwb_deadline", default=None)


@contextlib.contextmanager
def within_deadline() -> Iterator[None]:
    """Requests made in this block (and in pool threads it starts) end by the deadline:
    the current call's, else one starting now."""
    with until(deadline_at()):
        yield


def deadline_at() -> float:
    """The current call's deadline (time.monotonic), or one starting now."""
    current = _deadline.get()
    return time.monotonic() + config.call_deadline if current is None else current


@contextlib.contextmanager
def until(deadline: float) -> Iterator[None]:
    """Requests made in this block end by `deadline` (work handed to another thread)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def bounded(function: F) -> F:
    """`function` runs within_deadline()."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with within_deadline():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def remaining() -> float | None:
    """Seconds left before the current call's deadline (None: no call is timing)."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def check(what: str, source: str | None = None) -> None:
    """Raise TransportError when the current call's deadline has passed."""
    left = remaining()
    if left is not None and left <= 0:
        raise TransportError(
            f"the call's deadline of {config.call_deadline:g} s (config.call_deadline) passed "
            f"before reading {what}", source=source,
        )
