"""Many threads calling the API at once give the same results as one thread."""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import io
import random
import threading
import time
from typing import Any

import numpy as np
import polars as pl
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.multifile import map_sources
from lazynwb_explorer.sources import to_sources


def test_threads_on_same_and_different_files(rich_hdf5, rich_zarr, locate) -> None:
    sources = [str(rich_hdf5), str(rich_zarr), locate(rich_hdf5, "http"), locate(rich_zarr, "http")]

    def work(source: str) -> pl.DataFrame:
        return (
            lazynwb.scan_nwb(source, "/units", disable_progress=True)
            .filter(pl.col("presence_ratio") >= 0.5)
            .select("unit_id", "spike_times", "waveform_mean", "location")
            .collect()
        )

    expected = {s: work(s) for s in sources}
    lazynwb.clear_cache()
    jobs = sources * 6
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(work, jobs))
    for source, result in zip(jobs, results):
        assert result.equals(expected[source]), source


# -- many threads, many entry points -------------------------------------------------------

THREADS = 16


def _calls(sources: dict[str, str]) -> dict[str, Any]:
    """name -> call; each reads one or several of the sources."""
    h5l, h5h, zl, zh = sources["h5 local"], sources["h5 http"], sources["zarr local"], sources["zarr http"]
    s = [sources[f"session {i}"] for i in range(3)]

    def series(src: str) -> Any:
        ts = lazynwb.get_timeseries(src, "running_speed")
        return ts.data[100:900], ts.timestamps[100:900]

    return {
        "df units h5 local": lambda: lazynwb.get_df(h5l, "/units", as_polars=True, disable_progress=True),
        "df units h5 http": lambda: lazynwb.get_df(h5h, "/units", as_polars=True, disable_progress=True),
        "df trials zarr http": lambda: lazynwb.get_df(zh, "trials", as_polars=True, disable_progress=True),
        "df trials sessions": lambda: lazynwb.get_df(s, "trials", as_polars=True, disable_progress=True),
        "scan zarr local": lambda: lazynwb.scan_nwb(zl, "/units", disable_progress=True)
        .filter(pl.col("presence_ratio") >= 0.5).select("unit_id", "spike_times").collect(),
        "scan mixed": lambda: lazynwb.scan_nwb([h5l, zh, *s], "/units", disable_progress=True)
        .filter(pl.col("location") == "VISp").select("unit_id", "location").collect(),
        "series h5 http": lambda: series(h5h),
        "series zarr local": lambda: series(zl),
        "paths sessions": lambda: lazynwb.get_internal_paths(s[1]),
        "metadata": lambda: lazynwb.get_metadata_df(s + [h5h], as_polars=True, disable_progress=True)
        .drop("_nwb_path", strict=False),
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pl.DataFrame):
        return a.equals(b)
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def test_sixteen_threads_on_every_entry_point(rich_hdf5, rich_zarr, sessions, locate) -> None:
    sources = {"h5 local": str(rich_hdf5), "h5 http": locate(rich_hdf5, "http"),
               "zarr local": str(rich_zarr), "zarr http": locate(rich_zarr, "http")}
    sources |= {f"session {i}": locate(p, "http" if i % 2 else "local") for i, p in enumerate(sessions)}
    calls = _calls(sources)
    expected = {name: call() for name, call in calls.items()}
    lazynwb.clear_cache()  # the threads open every file afresh, at the same time
    jobs = [name for name in calls for _ in range(5)]
    random.Random(16).shuffle(jobs)
    start = threading.Barrier(THREADS)

    def run(name: str) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            start.wait(timeout=0.5)  # the first sixteen start together
        return calls[name]()

    with concurrent.futures.ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(run, jobs))
    wrong = [name for name, result in zip(jobs, results) if not _same(result, expected[name])]
    assert not wrong, wrong


# -- widget requests while a read is in flight ----------------------------------------------


def _page(grid: Any, gen: int, **params: Any) -> tuple[dict[str, Any], pl.DataFrame | None]:
    reply, buffers = grid.handle_message({"type": "page", "gen": gen, **params}, [])
    frame = pl.read_ipc(io.BytesIO(buffers[0])) if buffers else None
    return reply, frame


GRID_QUERIES = [
    {"offset": 0, "limit": 100},
    {"offset": 500, "limit": 100},
    {"offset": 0, "limit": 50, "filters": [{"column": "location", "op": "==", "value": "VISp"}]},
    {"offset": 50, "limit": 50, "filters": [{"column": "location", "op": "==", "value": "VISp"}]},
    {"offset": 0, "limit": 100, "sort": [{"column": "presence_ratio", "descending": True}]},
    {"offset": 0, "limit": 30, "filters": [{"column": "presence_ratio", "op": ">", "value": 0.9}],
     "sort": [{"column": "unit_id", "descending": True}]},
]


def test_grid_answers_concurrent_requests_like_one_thread(pushdown_file, locate) -> None:
    pytest.importorskip("anywidget")
    from lazynwb_explorer.widgets import TableGrid

    url = locate(pushdown_file, "http")
    single = TableGrid(url, "/units")
    expected = [_page(single, gen, **q) for gen, q in enumerate(GRID_QUERIES, 1)]
    lazynwb.clear_cache()
    grid = TableGrid(url, "/units")
    requests = [(gen, GRID_QUERIES[gen % len(GRID_QUERIES)]) for gen in range(100, 148)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda r: _page(grid, r[0], **r[1]), requests))
    for (gen, query), (reply, frame) in zip(requests, replies):
        want_reply, want_frame = expected[GRID_QUERIES.index(query)]
        assert reply["type"] == "page" and reply["gen"] == gen, reply  # its own generation
        assert {k: v for k, v in reply.items() if k not in ("gen", "cached")} == {
            k: v for k, v in want_reply.items() if k not in ("gen", "cached")}
        assert frame is not None and frame.equals(want_frame), query
    # stale generations are the front end's to drop: the kernel answers each as asked
    old, _ = _page(grid, 3, offset=0, limit=10)
    assert old["gen"] == 3 and old["count"] == 10


FILTER = [{"column": "presence_ratio", "op": ">", "value": 0.1}]


def test_table_switch_while_a_page_is_read(served, rich_hdf5) -> None:
    """The browser selects another table while a page of the first is still being read: the
    late reply describes the rows it carries (or is an error reply), and the page cache
    serves each table its own rows afterwards."""
    pytest.importorskip("anywidget")
    from lazynwb_explorer.widgets import TableGrid

    from servers import RangeHTTPServer

    with RangeHTTPServer(served, nodelay=True) as server:
        url = server.url(rich_hdf5.relative_to(served).as_posix())
        columns = {t: set(lazynwb.get_table_schema(url, t)) for t in ("/units", "/intervals/trials")}
        lazynwb.clear_cache()  # the grid opens the file itself, slowly
        grid = TableGrid(url, "/units")
        server.latency = 0.2
        seen = server.stats.requests
        in_flight = concurrent.futures.ThreadPoolExecutor(1).submit(
            _page, grid, 2, offset=10, limit=20, filters=FILTER)
        deadline = time.monotonic() + 30
        while server.stats.requests == seen:  # the page's first request is at the server now
            assert time.monotonic() < deadline and not in_flight.done(), "the page read no bytes"
            time.sleep(0.01)
        grid.table_path = "/intervals/trials"
        late, late_frame = in_flight.result(timeout=60)
        server.latency = 0.0
        assert server.stats.requests - seen > 1
        if late["type"] == "page":
            shown = set(late["columns"]) - {"_table_index"}
            assert shown <= columns[late["table_path"]], (late["table_path"], shown)
            assert late_frame is not None and set(late_frame.columns) == set(late["columns"])
        else:
            assert late["type"] == "error" and late["gen"] == 2
        trials, frame = _page(grid, 3, offset=0, limit=20)
        assert trials["table_path"] == "/intervals/trials"
        assert set(frame.columns) - {"_table_index"} <= columns["/intervals/trials"]
        grid.table_path = "/units"  # and back: units rows, never a stale mix
        units, frame = _page(grid, 4, offset=10, limit=20, filters=FILTER)
        assert units["table_path"] == "/units" and units["columns"] == list(frame.columns)
        assert set(frame.columns) - {"_table_index"} <= columns["/units"]


# -- the collector's settings around multi-file calls ----------------------------------------


def test_multi_file_calls_give_back_the_collectors_thresholds(sessions, locate, served) -> None:
    """While files are read together the young generation is collected less often; the
    thresholds the process set come back after overlapping calls, a failing one included,
    and a process that turned automatic collection off keeps it off throughout."""
    urls = [locate(p, "http") for p in sessions]
    missing = locate(served / "sessions", "http") + "/no-such-file.nwb"
    saved = gc.get_threshold()
    try:
        gc.set_threshold(500, 7, 9)
        seen: list[tuple[int, ...]] = []

        def observe(source: Any) -> str:
            seen.append(gc.get_threshold())
            return source.label

        assert [r for _, r in map_sources(to_sources(urls), observe, disable_progress=True)] == \
            [s.label for s in to_sources(urls)]
        assert seen and all(t[0] > 500 and t[1:] == (7, 9) for t in seen)
        assert gc.get_threshold() == (500, 7, 9)

        def call(i: int) -> Any:
            if i % 4 == 3:
                with pytest.raises(lazynwb.LazyNWBError):
                    lazynwb.get_metadata_df([*urls, missing], disable_progress=True)
                return None
            return lazynwb.get_metadata_df(urls, disable_progress=True, as_polars=True).height

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            heights = list(pool.map(call, range(12)))
        assert [h for h in heights if h is not None] == [len(urls)] * 9
        assert gc.get_threshold() == (500, 7, 9)

        gc.set_threshold(0)
        seen.clear()
        list(map_sources(to_sources(urls), observe, disable_progress=True))
        assert seen and all(t[0] == 0 for t in seen)
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*saved)
