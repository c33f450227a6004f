"""Cold reads of one table open only that table (issue 16), on files we did not write.

A cold `get_df(f, "/intervals/trials")` parses the superblock, the root, the path's groups
and the table; it used to walk every group of the file first. Counted on real sockets (the
counting range server of tests/servers.py), on several layouts: hdmf's default (chunked
table columns), the legacy contiguous one, gzip-compressed columns, and real files from
../shared/data written by other tools and versions. Every result is compared with pynwb's.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pytest
from conftest import SHARED_DATA, run_in_fresh_process
from hdmf.backends.hdf5.h5_utils import H5DataIO
from polars.testing import assert_frame_equal
from test_tables import _assert_table_matches

import lazynwb_explorer as lazynwb
from lazynwb_explorer.catalog import open_catalog, open_scoped_catalog
from lazynwb_explorer.catalog import store as catalog_store
from lazynwb_explorer.sources import to_source
from lazynwb_explorer.transport import counting
from lazynwb_explorer.transport.readers import first_read_alone, forget_reader
from lazynwb_explorer.transport.remote import SPECULATE_UP_TO, TAIL_BYTES

import nwb_factory as nf
from pynwb_reference import reference_columns

# Rounds of a cold one-table read: the first read (superblock and root, in the one block
# that opens the file), then one per level of groups below the root, the table's column
# headers, and for compressed columns their chunk indexes; the columns' bytes come with
# the last. A whole-tree walk first (the old way) cost 5-6 on the files below.
MAX_COLD_ROUNDS = 4
# Bytes of a cold one-table read beyond its columns' own: metadata, in windows of 512 KiB
# (libhdf5 writes metadata in clusters; a window is cheaper than the next round trip), and
# whatever lies between it. A whole-tree walk fetched 2.3 MB and more.
MAX_COLD_BYTES = 1_700_000


# Sessions big enough (~20 MB) that their metadata is spread between data, as in real
# recordings: a whole-tree walk then costs rounds a one-table read need not pay.
BIG = dict(n_units=300, max_spikes_per_unit=3000, n_raw_samples=150_000,
           n_running_samples=200_000, n_lick_samples=100_000)


def _big_session(path: Path, layout: str) -> Path:
    nwbfile = nf.make_rich_nwbfile(seed=3, **BIG)
    if layout == "gzip":  # every table column compressed, chunked as hdmf chooses
        for table in (nwbfile.units, nwbfile.trials):
            for column in (*table.columns, table.id):
                column.set_data_io(H5DataIO, {"compression": "gzip"})
    return nf.write_hdf5(path, nwbfile, contiguous=layout == "contiguous")


@pytest.fixture(scope="session")
def big_default(served: Path) -> Path:
    """hdmf's default layout: table columns chunked (~4 MB chunks), series contiguous."""
    return _big_session(served / "big_default.nwb", "default")


@pytest.fixture(scope="session")
def big_contiguous(served: Path) -> Path:
    """The legacy layout: table columns contiguous too."""
    return _big_session(served / "big_contiguous.nwb", "contiguous")


@pytest.fixture(scope="session")
def big_gzip(served: Path) -> Path:
    return _big_session(served / "big_gzip.nwb", "gzip")


REAL = {
    "alm": ("shared/real/sub_anm00239123_ses_20170627T093549_ecephys_and_ogen.nwb",
            ("/intervals/trials", "/units")),
    "dandicli": ("shared/other_writers/dandicli__sub-anm369963_ses-20170228.nwb",
                 ("/intervals/trials", "/units")),
    "phy": ("shared/real/A8604-211122_phy.nwb", ("/units",)),
}
assert all((SHARED_DATA / p.removeprefix("shared/")).is_file() for p, _ in REAL.values())

CASES = [
    *[(layout, table) for layout in ("big_default", "big_contiguous", "big_gzip")
      for table in ("/intervals/trials", "/units")],
    *[(name, table) for name, (_, tables) in REAL.items() for table in tables],
]


def _file(request, served: Path, name: str) -> Path:
    return served / REAL[name][0] if name in REAL else request.getfixturevalue(name)


def _pynwb(path: Path, table: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reference_columns(path, table)


def _stored_bytes(path: Path, table: str, names: list[str]) -> int:
    """What the columns `names` of `table` hold in the file (h5py): their data bytes."""
    with h5py.File(path, "r") as f:
        group = f[table]
        return sum(group[n].id.get_storage_size() for n in names if isinstance(group.get(n), h5py.Dataset))


@pytest.mark.parametrize(("name", "table"), CASES)
def test_cold_table_read_walks_only_its_table(request, served: Path, http_server, name: str,
                                              table: str) -> None:
    """The benchmark's rows: trials (every column), units (its scalar columns)."""
    path = _file(request, served, name)
    url = http_server.url(path.relative_to(served).as_posix())
    http_server.reset_stats()
    with counting() as cold:
        ours = lazynwb.get_df(url, table, exact_path=True, as_polars=True, disable_progress=True)
    sent = http_server.stats.bytes_sent
    reference = _pynwb(path, table)
    _assert_table_matches(ours, {k: v for k, v in reference.items() if k in ours.columns},
                          f"{name}{table}")
    data = _stored_bytes(path, table, [*ours.columns, "id"])
    print(f"\n{name}{table}: {cold.requests} requests, {cold.rounds} rounds, {sent} bytes "
          f"({data} of them the columns')")
    assert cold.rounds <= MAX_COLD_ROUNDS
    assert cold.requests <= MAX_COLD_ROUNDS  # one request a round: nothing fetched piecemeal
    assert sent <= data + MAX_COLD_BYTES


@pytest.mark.parametrize("name", ["big_default", "big_gzip", "alm"])
def test_second_table_walks_only_its_own_part(request, served: Path, http_server, name: str) -> None:
    """A second table of a file already partly open: the root and its links are known, so
    only the new table's part is walked (and the whole-tree calls still see everything)."""
    path = _file(request, served, name)
    url = http_server.url(path.relative_to(served).as_posix())
    lazynwb.get_df(url, "/intervals/trials", as_polars=True, disable_progress=True)
    with counting() as second:
        units = lazynwb.get_df(url, "/units", exclude_array_columns=False, as_polars=True,
                               disable_progress=True)
    _assert_table_matches(units, _pynwb(path, "/units"), f"{name}/units")
    assert second.rounds <= MAX_COLD_ROUNDS - 1
    assert second.requests <= MAX_COLD_ROUNDS - 1
    # a whole-tree call after partial ones: every path, as a fresh walk finds them
    after = lazynwb.get_internal_paths(url, parents=True)
    lazynwb.clear_cache()
    catalog_store.clear()
    assert list(after) == list(lazynwb.get_internal_paths(url, parents=True))


_READ_TABLES = """
import json, sys
import lazynwb_explorer as lazynwb
from lazynwb_explorer.transport import counting
out = {}
for table in sys.argv[2:]:
    with counting() as c:
        df = lazynwb.get_df(sys.argv[1], table, as_polars=True)
    out[table] = [df.height, c.requests, c.rounds]
print(json.dumps(out))
"""


def test_stored_partial_catalog_serves_a_later_process(big_gzip: Path, http_server,
                                                       tmp_path: Path) -> None:
    """The partial catalog is stored: a later process reads the same table in one round
    (the columns' bytes; no metadata), and another table by walking only that one."""
    url = http_server.url(big_gzip.name)
    cold = run_in_fresh_process(_READ_TABLES, [url, "/intervals/trials"], tmp_path)
    warm = run_in_fresh_process(_READ_TABLES, [url, "/intervals/trials", "/units"], tmp_path)
    assert warm["/intervals/trials"][0] == cold["/intervals/trials"][0]
    assert warm["/intervals/trials"][2] <= 1
    assert warm["/units"][0] == len(_pynwb(big_gzip, "/units")["id"])
    assert warm["/units"][2] <= MAX_COLD_ROUNDS


@pytest.mark.parametrize("where", ["local", "http"])
def test_reference_column_of_a_partial_walk_names_its_target(rich_hdf5: Path, locate,
                                                             where: str) -> None:
    """/intervals/epochs' timeseries column (TimeSeriesReferenceVectorData: object
    references) names series elsewhere in the file: a partial walk completes itself before
    resolving them, so the names are those pynwb gives, never None."""
    ours = lazynwb.get_df(locate(rich_hdf5, where), "/intervals/epochs", exact_path=True,
                          exclude_array_columns=False, as_polars=True, disable_progress=True)
    _assert_table_matches(ours, _pynwb(rich_hdf5, "/intervals/epochs"), "rich epochs")


SERIES = ("/acquisition/raw_data", "/processing/behavior/BehavioralTimeSeries/pupil_area")
MAX_SERIES_ROUNDS = 7


@pytest.mark.parametrize("name", ["big_default", "big_contiguous", "big_gzip"])
def test_cold_series_slices_walk_only_their_series(request, served: Path, http_server,
                                                   name: str) -> None:
    """The benchmark's series row: a slice from the middle of two series named by their
    paths; each walk reads only the series' own part of the file. Values equal h5py's."""
    path = _file(request, served, name)
    url = http_server.url(path.relative_to(served).as_posix())
    http_server.reset_stats()
    with counting() as cold, h5py.File(path, "r") as f:
        for series in SERIES:
            data = lazynwb.get_timeseries(url, series, exact_path=True).data
            middle = data.shape[0] // 2
            np.testing.assert_array_equal(data[middle - 500 : middle + 500],
                                          f[f"{series}/data"][middle - 500 : middle + 500])
    print(f"\n{name} series: {cold.requests} requests, {cold.rounds} rounds, "
          f"{http_server.stats.bytes_sent} bytes")
    # each series: its groups level by level (the second, four deep, shares only the root),
    # its datasets' headers, the slice. The whole-tree walk first: 8 on the chunked layouts
    assert cold.rounds <= MAX_SERIES_ROUNDS
    assert cold.requests <= MAX_SERIES_ROUNDS


def _units_rows(url: str, n: int) -> pl.DataFrame:
    """The first `n` units' internal columns (what get_psth takes), then every catalog
    forgotten: the counted call after it starts cold."""
    units = lazynwb.get_df(url, "/units", exact_path=True, exclude_array_columns=True,
                           as_polars=True, disable_progress=True).head(n)
    lazynwb.clear_cache()
    catalog_store.clear()
    return units


@pytest.mark.filterwarnings("ignore:spike times of unit")  # dandicli's trains are not sorted
@pytest.mark.parametrize("name", ["big_default", "big_contiguous", "big_gzip", "alm", "dandicli"])
def test_cold_psth_walks_only_units_and_events(request, served: Path, http_server,
                                               name: str) -> None:
    """get_psth (issue 15) walks only the units table and the events' table, as get_df
    does (it walked the whole tree first: up to 3 more rounds and ~1 MB more on the big
    layouts); its answer equals the one read with the whole tree known."""
    path = _file(request, served, name)
    url = http_server.url(path.relative_to(served).as_posix())
    units = _units_rows(url, 10)
    http_server.reset_stats()
    with counting() as cold:
        got = lazynwb.get_psth(units, "/intervals/trials", window=(-0.5, 1.0), bin_width=0.1,
                               as_polars=True, disable_progress=True)
    sent = http_server.stats.bytes_sent
    print(f"\n{name} psth: {cold.requests} requests, {cold.rounds} rounds, {sent} bytes")
    assert not catalog_store.exists(url)  # no whole-tree walk (it would be stored)
    assert catalog_store.exists(url, catalog_store.PATHS)
    assert cold.rounds <= MAX_COLD_ROUNDS + 1  # the walk's, then the start times', the trains'
    lazynwb.get_internal_paths(url)  # the whole tree in memory: the call below reads with it
    whole = lazynwb.get_psth(units, "/intervals/trials", window=(-0.5, 1.0), bin_width=0.1,
                             as_polars=True, disable_progress=True)
    assert_frame_equal(got, whole)


@pytest.mark.parametrize("name", ["big_default", "big_contiguous", "big_gzip"])
def test_cold_aligned_series_walks_only_the_series_and_events(request, served: Path,
                                                             http_server, name: str) -> None:
    """get_aligned_timeseries (issue 15) walks only the series and the events' table; its
    answer equals the one read with the whole tree known."""
    path = _file(request, served, name)
    url = http_server.url(path.relative_to(served).as_posix())
    series = "/processing/behavior/BehavioralTimeSeries/pupil_area"
    http_server.reset_stats()
    with counting() as cold:
        got = lazynwb.get_aligned_timeseries(url, series, "/intervals/trials", window=(-0.5, 1.0),
                                             as_polars=True, disable_progress=True)
    sent = http_server.stats.bytes_sent
    print(f"\n{name} aligned: {cold.requests} requests, {cold.rounds} rounds, {sent} bytes")
    assert not catalog_store.exists(url)  # no whole-tree walk (it would be stored)
    assert catalog_store.exists(url, catalog_store.PATHS)
    # the series' four groups level by level (the whole-tree walk took 4 rounds in all on
    # the contiguous layout, 6 on the chunked ones), the start times, the windows
    assert cold.rounds <= MAX_COLD_ROUNDS + 1
    lazynwb.get_internal_paths(url)
    whole = lazynwb.get_aligned_timeseries(url, series, "/intervals/trials", window=(-0.5, 1.0),
                                           as_polars=True, disable_progress=True)
    assert_frame_equal(got, whole)


def test_cold_spikes_around_a_series_and_in_a_window_walk_their_parts(big_gzip: Path,
                                                                       http_server) -> None:
    """Events from a series (BehavioralEvents' reward times) and spikes in a window: each
    walks only what it reads; answers equal those read with the whole tree known."""
    url = http_server.url(big_gzip.name)
    units = _units_rows(url, 10)
    rewards = "/processing/behavior/BehavioralEvents/reward_times"

    def read() -> tuple[pl.DataFrame, pl.DataFrame]:
        return (lazynwb.get_aligned_spike_times(units, rewards, align_to=None, as_polars=True,
                                                disable_progress=True),
                lazynwb.get_spike_times_in_window(units, 100.0, 160.0, as_polars=True,
                                                  disable_progress=True))

    cold = read()
    assert not catalog_store.exists(url)
    lazynwb.get_internal_paths(url)
    for got, whole in zip(cold, read()):
        assert got.height and got["spike_times"].list.len().sum() > 0
        assert_frame_equal(got, whole)


# -- the tail fetched with the first block ------------------------------------------------------


def _suffixes(server) -> list:
    return [e for e in server.stats.log if e.method == "GET" and (e.range_start or 0) < 0]


def test_first_read_fetches_the_tail_in_the_same_round(big_default: Path, http_server) -> None:
    """One round, two requests: the first block and the file's last 512 KiB, the bytes
    h5py's own read gives."""
    url = http_server.url(big_default.name)
    forget_reader(url)  # a reader not used before
    reader = to_source(url).reader()
    with counting() as c:
        head = reader.first_block()
    assert (c.rounds, c.requests) == (1, 2), c
    raw = big_default.read_bytes()
    assert head == raw[: len(head)]
    assert reader.last_block() == raw[-TAIL_BYTES:]


@pytest.mark.parametrize(("name", "saves"), [("big_default", True), ("big_contiguous", True),
                                             ("big_gzip", True), ("alm", False)])
def test_the_tail_saves_a_round_of_a_cold_table_read(request, served: Path, http_server,
                                                     name: str, saves: bool) -> None:
    """The same cold read with and without the tail: hdmf / h5py files that grew after
    their groups were written keep the metadata flushed at close at their end, so the tail
    saves a round (measured: 3 -> 2 for trials on the bench's layouts), with the same table;
    where it is all at the start (the ALM file, 2 rounds either way) it costs none."""
    url = http_server.url(_file(request, served, name).relative_to(served).as_posix())
    rounds = {}
    frames = {}
    for tail in (False, True):
        lazynwb.clear_cache()
        catalog_store.clear()
        forget_reader(url)  # nor its first block and tail, kept by the reader
        with counting() as c, (contextlib.nullcontext() if tail else first_read_alone()):
            frames[tail] = lazynwb.get_df(url, "/intervals/trials", as_polars=True,
                                          disable_progress=True)
        rounds[tail] = c.rounds
    assert frames[True].equals(frames[False])
    assert rounds[True] < rounds[False] if saves else rounds[True] == rounds[False], rounds


def test_a_bad_answer_to_the_tail_never_fails_the_read(big_default: Path, http_server) -> None:
    """The tail is a speculation: answers with a wrong Content-Range (to it, or to the first
    block, which is retried) leave the read exact."""
    lazynwb.clear_cache()
    catalog_store.clear()
    http_server.inject("bad_range", count=2, path_contains=big_default.name, method="GET")
    url = http_server.url(big_default.name)
    got = lazynwb.get_df(url, "/intervals/trials", as_polars=True, disable_progress=True)
    assert got.drop("_nwb_path").equals(
        lazynwb.get_df(big_default, "/intervals/trials", as_polars=True,
                       disable_progress=True).drop("_nwb_path"))


def test_metadata_and_many_files_at_once_fetch_no_tail(served: Path, http_server,
                                                       tmp_path: Path) -> None:
    """Session metadata sits at a file's start: its reads ask for no tail. Many files at
    once share the link: at most SPECULATE_UP_TO of their first reads ask for one."""
    names = []
    for i in range(SPECULATE_UP_TO + 6):
        path = served / f"tail_many_{i}.nwb"
        if not path.exists():
            nf.write_hdf5(path, n_units=3)
        names.append(path.name)
    lazynwb.clear_cache()
    catalog_store.clear()
    http_server.reset_stats()
    lazynwb.get_metadata_df([http_server.url(names[0])], disable_progress=True)
    assert not _suffixes(http_server)
    lazynwb.clear_cache()
    catalog_store.clear()
    http_server.reset_stats()
    http_server.latency = 0.3  # every file's first read overlaps the others'
    try:
        lazynwb.get_df([http_server.url(n) for n in names], "/units", as_polars=True,
                       disable_progress=True)
    finally:
        http_server.latency = 0.0
    assert 1 <= len(_suffixes(http_server)) <= SPECULATE_UP_TO


@pytest.mark.parametrize("name", ["big_default", "big_gzip"])
def test_a_scoped_open_that_falls_short_fetches_nothing_twice(request, served: Path, http_server,
                                                              name: str) -> None:
    """When a scoped walk is not enough (here: `accept` never is), the whole-tree walk
    continues with the engine that made it, from the blocks it holds: no byte range is
    asked for twice, and the tree is the whole file's."""
    path = _file(request, served, name)
    url = http_server.url(path.relative_to(served).as_posix())
    lazynwb.clear_cache()
    catalog_store.clear()
    forget_reader(url)
    http_server.reset_stats()
    catalog = open_scoped_catalog(to_source(url), ["/units"], lambda _: False)
    size = path.stat().st_size
    spans = sorted(
        (size + e.range_start, size) if e.range_start < 0 else (e.range_start, e.range_end)
        for e in http_server.stats.log if e.method == "GET" and e.range_start is not None
    )
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start >= end, f"asked twice: {spans}"
    assert catalog.scopes is None  # the whole tree
    assert set(catalog.nodes) == set(open_catalog(to_source(str(path))).nodes)


_IMPORTS_DURING_READS = """
import json, sys
import lazynwb_explorer as lazynwb
before = set(sys.modules)
url = sys.argv[1]
lazynwb.get_df(url, "/units", exclude_array_columns=True, as_polars=True)
lazynwb.get_table_schema(url, "/intervals/trials")
data = lazynwb.get_timeseries(url, sys.argv[2], exact_path=True).data
data[: min(100, data.shape[0])]
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_cold_reads_import_nothing(big_gzip: Path, http_server, tmp_path: Path) -> None:
    """Issue 16: imports happen when the package is imported, not inside a user's first
    call (a cold read timed alone paid for them: the idna codec the first connection's host
    name needs took ~3 ms). A fresh process: what a table, a schema and a series slice
    over HTTP import after `import lazynwb_explorer`."""
    url = http_server.url(big_gzip.name)
    imported = run_in_fresh_process(_IMPORTS_DURING_READS, [url, SERIES[1]], tmp_path)
    assert imported == []
