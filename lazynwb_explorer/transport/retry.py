"""Bounded retries with exponential backoff and full jitter.

What is retried: errors that a second try can fix (5xx, resets, timeouts, short or wrong
reads). What is not: a missing object, a refused permission, a bad URL. Both the number of
tries (`config.max_retries`) and the total time (`config.retry_deadline`) are bounded.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from ..config import config
from ..errors import safe_cause
from . import counters
from .deadline import check, remaining

T = TypeVar("T")


class Retryable(Exception):
    """Raised inside a read to ask for another try (e.g. fewer bytes than asked for)."""


def with_retries(
    call: Callable[[], T],
    *,
    is_retryable: Callable[[BaseException], bool],
    on_give_up: Callable[[BaseException, int], BaseException],
    what: str = "",
    source: str | None = None,
) -> T:
    """Run `call`, retrying retryable failures within the configured bounds; no attempt
    starts once the call's deadline (transport/deadline.py) has passed."""
    deadline = time.monotonic() + config.retry_deadline
    call_left = remaining()
    if call_left is not None:
        deadline = min(deadline, time.monotonic() + call_left)
    attempt = 0
    while True:
        check(what, source)
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classified just below
            attempt += 1
            retry = isinstance(exc, Retryable) or is_retryable(exc)
            delay = random.uniform(0, min(8.0, 0.1 * 2**attempt))
            if not retry or attempt > config.max_retries or time.monotonic() + delay > deadline:
                failure: BaseException = exc
                break
            counters.record_retry()
            time.sleep(delay)
    # Raised outside the except block, so the library's exception (whose text may hold a
    # URL's credentials) is not kept as __context__; the cause is a redacted stand-in then.
    raise on_give_up(failure, attempt) from safe_cause(failure)
