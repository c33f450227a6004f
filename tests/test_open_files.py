"""Many remote files open at once: each is read once per call, memory stays bounded.

A multi-file scan passes over its files twice (the schema, then the rows). Catalogs of
remote files read by our engine hold no OS handle, so they stay open between the passes
even past the cap on catalogs that hold a file; what they cache shares one memory budget,
and the files that fetched longest ago give their blocks up first.
"""

from __future__ import annotations

import gc
from pathlib import Path

import polars as pl
import pytest
from test_soak import write_copies

import lazynwb_explorer as lazynwb
from lazynwb_explorer.backends.hdf5 import driver as h5source
from lazynwb_explorer.catalog import cache as catalog
from lazynwb_explorer.catalog import store as catalog_store
from lazynwb_explorer.transport import LocalReader, clear_stores, counters, forget_reader

from servers import RangeHTTPServer

N_FILES = 6


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> Path:
    return write_copies(tmp_path_factory.mktemp("open-files"), N_FILES, seed=11)


def _cold(urls: list[str]) -> None:
    lazynwb.clear_cache()
    catalog_store.clear()
    for url in urls:
        forget_reader(url)
    clear_stores()


def test_remote_catalogs_stay_open_past_the_file_handle_cap(sessions, monkeypatch) -> None:
    """With room for only 2 catalogs that hold a file, a scan of 6 remote files still
    fetches no byte of any file twice (the bytes fetched are at most the files' sizes)."""
    monkeypatch.setattr(catalog, "_MAX_OPEN", 2)
    with RangeHTTPServer(sessions) as server:
        urls = [server.url(f"f{i:02d}.nwb") for i in range(N_FILES)]
        _cold(urls)
        scan = (lazynwb.scan_nwb(urls, "/units", disable_progress=True)
                .filter(pl.col("presence_ratio") > 0.5).select("location", "spike_times"))
        df = scan.collect()
        assert df.height > 0
        asked: dict[str, list[tuple[int, int]]] = {}
        tails: dict[str, tuple[int, int]] = {}
        for entry in server.stats.log:
            if entry.range_start is not None and entry.range_start < 0:
                # the tail, asked for beside the first block before the size is known (a
                # file this small: all of it): that one overlap is by design
                size = (sessions / entry.path.lstrip("/")).stat().st_size
                tails[entry.path] = (max(0, size + entry.range_start), size)
            else:
                asked.setdefault(entry.path, []).append((entry.range_start, entry.range_end))
        for path, ranges in asked.items():
            ranges.sort()
            overlaps = [(a, b) for a, b in zip(ranges, ranges[1:]) if b[0] < a[1]]
            assert not overlaps, (path, ranges)
            lo, hi = tails.get(path, (0, 0))
            assert not [(a, b) for a, b in ranges[1:] if a < hi and lo < b], (path, ranges, lo)
        opened = {**catalog._cache, **catalog._scoped}  # whole or one-table catalogs
        assert all(url in opened for url in urls)  # none was evicted between the passes
        _cold(urls)


def test_open_remote_catalogs_are_bounded_by_their_nodes(sessions, monkeypatch) -> None:
    """Open remote catalogs are also bounded by the size of their trees together: with room
    for two files' nodes, a read of six keeps the two most recent open."""
    with RangeHTTPServer(sessions) as server:
        urls = [server.url(f"f{i:02d}.nwb") for i in range(N_FILES)]
        _cold(urls)
        lazynwb.get_internal_paths(urls[0])
        per_file = len(catalog._cache[urls[0]][1].nodes)  # the files are copies of one
        _cold(urls)
        monkeypatch.setattr(catalog, "_MAX_OPEN_NODES", 2 * per_file + 2)
        for url in urls:
            lazynwb.get_internal_paths(url)
        assert [u for u in urls if u in catalog._cache] == urls[-2:]
        assert sum(len(c.nodes) for _, c in catalog._cache.values()) <= catalog._MAX_OPEN_NODES
        _cold(urls)


def test_cached_blocks_of_all_files_share_one_budget(sessions, monkeypatch) -> None:
    """Past the budget, the file that fetched longest ago drops its blocks: the total
    stays bounded by the budget, not by the number of files, and a dropped file fetches
    again when it is read again."""
    block = lazynwb.config.block_size
    per_file = min(8, -(-(sessions / "f00.nwb").stat().st_size // block))  # one window
    budget = h5source._BlockBudget(2 * per_file * block)  # room for two files' windows
    monkeypatch.setattr(h5source, "_BUDGET", budget)
    sources = []
    for i in range(N_FILES):
        reader = LocalReader(sessions / f"f{i:02d}.nwb")
        src = h5source.ByteSource(reader, reader.size())
        src.read_round([(0, 64)])  # a metadata read: fetches the window around it
        sources.append(src)
        assert budget.total <= budget.limit + per_file * block
    held = [len(s._blocks) for s in sources]
    assert held[0] == 0 and held[-1] > 0, held  # the oldest gave its blocks up
    assert budget.total == sum(held) * block
    with counters.counting() as c:
        sources[-1].read_round([(0, 64)])  # still cached: nothing fetched
        assert c.requests == 0
        sources[0].read_round([(0, 64)])  # dropped: fetched again
        assert c.requests == 1
    del sources, src
    gc.collect()
    assert budget.total == 0  # files that are gone release their share
