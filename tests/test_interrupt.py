"""Ctrl-C in the middle of a read: a KeyboardInterrupt reaches the caller at once (not
swallowed, not held until the read ends), the next call returns the right result, and the
threads and connections go back to where they were.

Where the signal lands decides how it is seen: sent to the main thread, it wakes a blocking
wait at once; delivered to another thread (the kernel picks any thread for a process-wide
SIGINT), it only sets Python's flag, which the main thread checks when it next runs Python
code. `_thread.interrupt_main()` is exactly that second case.

"At once" is asserted without clocks: one file of the read stalls on every request (the
server sleeps before answering), so the read cannot finish while that file is in flight; the
interrupt must arrive while the stalled file still has answers to wait for.
"""

from __future__ import annotations

import _thread
import gc
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from test_soak import write_copies

import lazynwb_explorer as lazynwb
from lazynwb_explorer.catalog import store as catalog_store
from lazynwb_explorer.transport import clear_stores, forget_reader

from servers import RangeHTTPServer

pytestmark = pytest.mark.timeout(120)

N_FILES = 20
STALLED = "f00.nwb"
STALL_SECONDS = 1.5


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    return write_copies(tmp_path_factory.mktemp("interrupt"), N_FILES, seed=7)


@pytest.fixture
def server(many) -> Iterator[RangeHTTPServer]:
    saved = (lazynwb.config.block_size, lazynwb.config.request_timeout)
    lazynwb.config.block_size = 8 * 1024  # several requests per file
    lazynwb.config.request_timeout = 10.0  # a stall is slow, not failed
    clear_stores()
    with RangeHTTPServer(many, nodelay=True, latency=0.02, stall_seconds=STALL_SECONDS) as srv:
        yield srv
    lazynwb.config.block_size, lazynwb.config.request_timeout = saved
    clear_stores()


def _urls(server: RangeHTTPServer) -> list[str]:
    return [server.url(f"f{i:02d}.nwb") for i in range(N_FILES)]


def _forget_everything(server: RangeHTTPServer) -> None:
    """Cold again: no catalog in memory or on disk, no reader, no client (connections close)."""
    lazynwb.clear_cache()
    catalog_store.clear()
    for url in _urls(server):
        forget_reader(url)
    clear_stores()
    gc.collect()


def _threads() -> Counter[str]:
    """Python's own threads by kind; the two bounded pools counted apart by the caller."""
    kinds: Counter[str] = Counter()
    for t in threading.enumerate():
        if not isinstance(t, threading._DummyThread):
            kinds[t.name.split("_")[0] if t.name.startswith("lazynwb-") else t.name] += 1
    return kinds


def _settle(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _answered(server: RangeHTTPServer, name: str) -> int:
    return sum(1 for e in list(server.stats.log) if e.path == f"/{name}" and e.status)


def _interrupt_when(server: RangeHTTPServer, how: str,
                    after_requests: int) -> tuple[threading.Thread, threading.Event]:
    """A thread that interrupts the main thread once the server has seen `after_requests`
    requests, unless the returned event is set first."""
    main = threading.main_thread().ident
    assert main is not None

    def fire() -> None:
        # never late: an interrupt after the read would hit whatever pytest runs next
        if not _settle(lambda: server.stats.requests >= after_requests or done.is_set()):
            return
        if done.is_set():
            return
        if how == "signal":
            signal.pthread_kill(main, signal.SIGINT)
        else:
            _thread.interrupt_main()

    done = threading.Event()  # set by the caller once the read is over
    thread = threading.Thread(target=fire, name="interrupter", daemon=True)
    thread.start()
    return thread, done


CALLS: dict[str, Callable[[list[str]], pl.DataFrame]] = {
    "get_df": lambda urls: lazynwb.get_df(urls, "/units", as_polars=True, disable_progress=True),
    "scan_nwb": lambda urls: (
        lazynwb.scan_nwb(urls, "/units", disable_progress=True)
        .filter(pl.col("presence_ratio") > 0.3).select("location", "spike_times").collect()),
    "one file": lambda urls: lazynwb.get_df(urls[0], "/intervals/trials", as_polars=True),
}


@pytest.mark.parametrize("how", ["signal", "interrupt_main"])
@pytest.mark.parametrize("call", list(CALLS))
def test_ctrl_c_mid_read_propagates_and_the_next_call_works(server, call, how) -> None:
    read = CALLS[call]
    urls = _urls(server)
    expected = read(urls)  # fault-free, and the pools' threads exist from here on
    needed = _answered(server, STALLED)  # what a full read of the stalled file asks
    assert needed >= 2
    _forget_everything(server)
    assert _settle(lambda: server.live_connections == 0)
    baseline = _threads()

    server.reset_stats()
    server.inject("stall", count=1000, path_contains=STALLED)
    interrupter, read_over = _interrupt_when(server, how, after_requests=2)
    try:
        with pytest.raises(KeyboardInterrupt):
            read(urls)
            time.sleep(5)  # a KeyboardInterrupt swallowed inside the read would arrive here
    finally:
        read_over.set()
    answered = _answered(server, STALLED)
    server.clear_faults()
    interrupter.join()
    assert answered < needed, (
        f"the interrupt waited for the stalled file ({answered} of {needed} answers)")

    # the work still in flight finishes in the background; nothing stays behind
    def quiet() -> bool:
        before = server.stats.requests
        time.sleep(0.3)
        return server.stats.requests == before
    assert _settle(quiet, seconds=60)
    assert read(urls).equals(expected)  # the next call is whole and right
    _forget_everything(server)
    assert _settle(lambda: server.live_connections == 0)

    def back() -> bool:
        now = _threads()
        pools = ("lazynwb-io", "lazynwb-file")
        return ({k: v for k, v in now.items() if k not in pools}
                == {k: v for k, v in baseline.items() if k not in pools}
                and now["lazynwb-io"] <= lazynwb.config.max_concurrency
                and now["lazynwb-file"] <= lazynwb.config.max_files_in_flight)
    assert _settle(back), (baseline, _threads())
