"""Zarr stores of today (v3, written by hdmf-zarr 0.14: consolidated, unconsolidated, sharded)
and of before (v2, hdmf-zarr 0.13 and the Dec 2022 store in ../shared/data): what each costs
over HTTP and S3 (counted by the servers), what is found without consolidated metadata, the
stored catalog, and equality with the HDF5 file of the same session. Tables, series and
metadata against pynwb are in test_tables.py, test_timeseries.py and test_metadata.py.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import polars as pl
import pytest
from conftest import SHARED_ZARR

import lazynwb_explorer as lazynwb
from lazynwb_explorer.catalog import store as catalog_store
from lazynwb_explorer.transport import counting

import nwb_factory as nf
import zarr3_env
from pynwb_reference import reference_columns, reference_series

V3 = ["rich_zarr_v3", "rich_zarr_v3_sharded", "rich_zarr_v3_unconsolidated"]
WAVEFORM = (82, 96)  # zarr3_writer.PUSHDOWN_WAVEFORM
UNITS_PER_SHARD = 50  # waveform_mean: one inner chunk per unit
SPIKES_PER_CHUNK, SPIKE_CHUNKS_PER_SHARD = 2000, 10


class Request(NamedTuple):
    key: str  # below the served root (HTTP) or the bucket (S3)
    start: int | None  # None: the whole object; negative: a suffix of -start bytes
    end: int | None


def _requests(server: Any, where: str) -> list[Request]:
    """The GETs a server answered, as (key, start, end)."""
    out = []
    for entry in server.stats.log:
        if where == "s3":
            if entry.method != "GET" or entry.query:
                continue
            key = entry.path.split("/", 2)[2]
            start = end = None
            if entry.range:
                a, _, b = entry.range.removeprefix("bytes=").partition("-")
                start, end = (-int(b), None) if not a else (int(a), int(b) + 1 if b else None)
        else:
            if entry.method != "GET":
                continue
            key, start, end = entry.path.lstrip("/"), entry.range_start, entry.range_end
        out.append(Request(key, start, end))
    return out


def _expected(store: Path, column: str, chunks: set[int], per_shard: int) -> dict[str, set[tuple[int, int]]]:
    """{shard key below the column: {(start, end) of each needed inner chunk}}, for global
    inner chunk ids along axis 0; read from each shard file's last 16 * n + 4 bytes (the
    sharding spec's index and its crc32c) with numpy, not by our reader."""
    out: dict[str, set[tuple[int, int]]] = {}
    for i in sorted(chunks):
        shard, inner = divmod(i, per_shard)
        suffix = f"c/{shard}/0/0" if column == "waveform_mean" else f"c/{shard}"
        data = (store / "units" / column / suffix).read_bytes()
        index = np.frombuffer(data[-(16 * per_shard + 4):-4], dtype="<u8").reshape(per_shard, 2)
        offset, size = (int(v) for v in index[inner])
        out.setdefault(suffix, set()).add((offset, offset + size))
    return out


def _check_column(log: list[Request], prefix: str, expected: dict[str, set[tuple[int, int]]]) -> None:
    """Each needed shard's index read once (a suffix read), and range reads that cover
    exactly the needed inner chunks of each shard, no byte more."""
    index_reads = sorted(r.key for r in log if r.key.startswith(prefix) and r.start is not None and r.start < 0)
    assert index_reads == sorted(prefix + k for k in expected), (index_reads, sorted(expected))
    for suffix, extents in expected.items():
        ranges = [(r.start, r.end) for r in log if r.key == prefix + suffix and r.start is not None
                  and r.start >= 0]
        covered = sorted(e for e in extents if any(a <= e[0] and e[1] <= b for a, b in ranges))
        assert covered == sorted(extents), (suffix, ranges, extents)
        wanted_bytes = sum(b - a for a, b in extents)
        assert sum(b - a for a, b in ranges) == wanted_bytes, (suffix, ranges, extents)
    assert not any(r.start is None and r.key.startswith(prefix) and "zarr.json" not in r.key for r in log)


def _survivors(store: Path) -> tuple[list[int], dict[str, list[Any]]]:
    ref = reference_columns(store, "/units")
    keep = [i for i, (p, loc) in enumerate(zip(ref["presence_ratio"], ref["location"]))
            if p >= 0.95 and loc == "VISp"]
    return keep, ref


@pytest.mark.parametrize("where", ["http", "s3"])
def test_filtered_units_read_fetches_only_the_survivors_inner_chunks(
    pushdown_zarr_v3: Path, locate, request, where: str
) -> None:
    store = pushdown_zarr_v3
    url = locate(store, where)
    server = request.getfixturevalue("http_server" if where == "http" else "s3_server")
    keep, ref = _survivors(store)
    assert 0 < len(keep) < 30
    lazynwb.get_internal_paths(url)  # open: count the data reads only
    previous, lazynwb.config.coalesce_gap = lazynwb.config.coalesce_gap, 0  # exact ranges
    server.reset_stats()
    try:
        with counting() as counted:
            out = (lazynwb.scan_nwb(url, "/units", disable_progress=True)
                   .filter(pl.col("presence_ratio") >= 0.95, pl.col("location") == "VISp")
                   .select("unit_id", "spike_times", "waveform_mean").collect())
    finally:
        lazynwb.config.coalesce_gap = previous
    assert out["unit_id"].to_list() == [ref["unit_id"][i] for i in keep]
    assert out["spike_times"].to_list() == [ref["spike_times"][i] for i in keep]
    np.testing.assert_array_equal(out["waveform_mean"].to_numpy(),
                                  np.stack([nf.pushdown_waveform(i, WAVEFORM) for i in keep]))
    log = _requests(server, where)
    prefix = f"{url.split('/', 3)[3]}/units/"  # the store's key below the server or bucket
    _check_column(log, prefix + "waveform_mean/",
                  _expected(store, "waveform_mean", set(keep), UNITS_PER_SHARD))
    ends = np.cumsum([len(s) for s in ref["spike_times"]])
    spike_chunks = {v // SPIKES_PER_CHUNK for i in keep for v in range(ends[i] - len(ref["spike_times"][i]), ends[i])}
    _check_column(log, prefix + "spike_times/",
                  _expected(store, "spike_times", spike_chunks, SPIKE_CHUNKS_PER_SHARD))
    moved = server.stats.bytes_sent
    total = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
    assert counted.bytes == moved < 0.2 * total, (counted, total)
    print(f"\nfiltered read of {len(keep)} of 600 units ({where}): {counted.requests} requests, "
          f"{counted.bytes} bytes in {counted.rounds} rounds, of a {total}-byte store")

    server.reset_stats()  # the same read again: the shard indexes are known
    again = (lazynwb.scan_nwb(url, "/units", disable_progress=True)
             .filter(pl.col("presence_ratio") >= 0.95, pl.col("location") == "VISp")
             .select("unit_id", "waveform_mean").collect())
    assert again["unit_id"].to_list() == out["unit_id"].to_list()
    assert not [r for r in _requests(server, where) if r.start is not None and r.start < 0]


def test_inner_chunks_of_one_shard_come_in_one_request(pushdown_zarr_v3: Path, http_server) -> None:
    """Rows 0, 2 and 4 sit in one shard: with the default coalescing gap their three inner
    chunks (and the two between) are one range request."""
    url = http_server.url(pushdown_zarr_v3.relative_to(http_server.root).as_posix())
    lazynwb.get_internal_paths(url)
    lazynwb.get_df(url, "/units", include_column_names=["waveform_mean"],
                   nwb_path_to_row_indices={url: [10]}, as_polars=True)  # the index, once
    http_server.reset_stats()
    df = lazynwb.get_df(url, "/units", include_column_names=["waveform_mean"],
                        nwb_path_to_row_indices={url: [0, 2, 4]}, as_polars=True)
    np.testing.assert_array_equal(df["waveform_mean"].to_numpy(),
                                  np.stack([nf.pushdown_waveform(i, WAVEFORM) for i in (0, 2, 4)]))
    ranged = [r for r in _requests(http_server, "http") if "waveform_mean" in r.key]
    assert len(ranged) == 1 and ranged[0].start >= 0, ranged


@pytest.mark.parametrize("where", ["http", "s3"])
@pytest.mark.parametrize("kind", ["rich_zarr_v3", "rich_zarr_v3_sharded"])
def test_cold_metadata_of_a_consolidated_store_is_one_round(request, locate, kind: str, where: str) -> None:
    url = locate(request.getfixturevalue(kind), where)
    with counting() as counted:
        paths = lazynwb.get_internal_paths(url)
        info = lazynwb.get_internal_path_info(url)
    assert "/units" in paths and set(paths) <= set(info)
    assert counted.rounds == 1 and counted.requests <= 4, counted  # the root keys, at once


@pytest.mark.parametrize("kind", V3 + ["rich_zarr"])
def test_paths_and_path_info_equal_the_hdf5_file_of_the_same_session(request, kind: str, rich_hdf5) -> None:
    """The Zarr stores and rich.nwb hold the same session (make_rich_nwbfile(seed=0))."""
    store = request.getfixturevalue(kind)
    assert lazynwb.get_internal_paths(store) == lazynwb.get_internal_paths(rich_hdf5)
    ours, theirs = lazynwb.get_internal_path_info(store), lazynwb.get_internal_path_info(rich_hdf5)
    assert set(ours) == set(theirs)
    for path, info in theirs.items():
        if "shape" in info:
            assert ours[path]["shape"] == info["shape"], path
    for table in ("/units", "/intervals/trials", "/general/extracellular_ephys/electrodes"):
        a = lazynwb.get_df(store, table, exclude_array_columns=False, as_polars=True)
        b = lazynwb.get_df(rich_hdf5, table, exclude_array_columns=False, as_polars=True)
        assert a.drop("_nwb_path").equals(b.drop("_nwb_path")), table
    raw = lazynwb.get_timeseries(store, "raw_data")
    hdf5_raw = lazynwb.get_timeseries(rich_hdf5, "raw_data")
    np.testing.assert_array_equal(raw.data[100:900:3, 2:11], hdf5_raw.data[100:900:3, 2:11])
    t, x = raw.read_window(0.01, 0.02)
    t2, x2 = hdf5_raw.read_window(0.01, 0.02)
    np.testing.assert_array_equal(t, t2)
    np.testing.assert_array_equal(x, x2)


@pytest.mark.parametrize("where", ["http", "s3"])
def test_stored_catalog_opens_a_remote_store_with_no_request(rich_zarr_v3_sharded, locate, where) -> None:
    url = locate(rich_zarr_v3_sharded, where)
    first = lazynwb.get_df(url, "/units", exclude_array_columns=False, as_polars=True)
    catalog_store.flush()
    lazynwb.clear_cache()  # a new process: only the stored catalog is left
    with counting() as opened:
        paths = lazynwb.get_internal_paths(url)
    assert "/units" in paths and opened.requests == 0, opened
    with counting() as read:
        again = lazynwb.get_df(url, "/units", exclude_array_columns=False, as_polars=True)
    assert again.equals(first)
    assert read.rounds <= 2, read  # no metadata: the arrays' specs came with the catalog


def test_plain_http_without_listing_walks_the_nwb_structure(rich_zarr_v3_unconsolidated, locate, caplog) -> None:
    """No consolidated metadata and no directory index: the walk probes the names NWB gives
    (tables, their columns, the session's fields) and says the tree may be incomplete."""
    url = locate(rich_zarr_v3_unconsolidated, "http")
    paths = lazynwb.get_internal_paths(url)
    assert {"/units", "/intervals/trials", "/intervals/epochs"} <= set(paths)
    assert any("no listing" in r.getMessage() for r in caplog.records)
    ref = reference_columns(rich_zarr_v3_unconsolidated, "/units")
    assert lazynwb.get_df(url, "/units", as_polars=True)["unit_id"].to_list() == ref["unit_id"]
    meta = lazynwb.get_metadata_df(url, as_polars=True)
    assert meta["session_id"].to_list() == ["session_0000"]
    assert meta["subject_id"].to_list() == ["mouse_600000"]


def test_a_directory_index_is_recognised_as_a_store_by_its_keys(served: Path, http_index_server, tmp_path) -> None:
    """A store under a name without '.zarr', whose URL answers with an HTML directory index;
    and a directory with no store in it, named truthfully in the error."""
    import shutil

    src = served / "v3" / "rich_v3.nwb.zarr"
    plain = served / "v3" / "session_without_suffix"
    if not plain.exists():
        shutil.copytree(src if src.exists() else next(served.rglob("rich_v3.nwb.zarr")), plain)
    url = http_index_server.url(plain.relative_to(served).as_posix())
    assert "/units" in lazynwb.get_internal_paths(url)
    empty = served / "v3" / "not_a_store"
    empty.mkdir(exist_ok=True)
    (empty / "readme.txt").write_text("nothing here")
    with pytest.raises(lazynwb.LazyNWBError) as info:
        lazynwb.get_internal_paths(http_index_server.url("v3/not_a_store"))
    message = str(info.value)
    assert "HTML" in message and "zarr.json" in message and ".zgroup" in message, message


@pytest.mark.parametrize("where", ["local", "http-index", "s3"])
@pytest.mark.parametrize("store", SHARED_ZARR, ids=lambda p: p.name)
def test_shared_zarr_stores_equal_pynwb(served: Path, locate, store: Path, where: str) -> None:
    """The Zarr stores of ../shared/data (hdmf-zarr, Dec 2022: unconsolidated v2)."""
    local = served / "shared" / store.relative_to(store.parents[1])
    source = locate(local, where)
    for table in lazynwb.get_internal_paths(source):
        if lazynwb.get_internal_path_info(source)[table].get("is_table"):
            ours = lazynwb.get_df(source, table, exclude_array_columns=False, as_polars=True)
            for name, values in reference_columns(local, table).items():
                got = ours[name].to_list()
                assert _close(got, values), (table, name)
    reference = reference_series(local)
    series = lazynwb.get_timeseries(source, match_all=True)
    assert len(series) == len(reference)
    for path, ts in series.items():
        ref = reference[path]  # keyed by where the series is stored
        np.testing.assert_array_equal(np.asarray(ts.data[:]), ref["data"])
        np.testing.assert_array_equal(np.asarray(ts.timestamps[:]), ref["timestamps"])


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple | np.ndarray) and isinstance(b, list | tuple | np.ndarray):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, str) and a.startswith("/") and isinstance(b, str):
        return a.rsplit("/", 1)[-1] == b
    return a == b


def test_installs_and_reads_beside_zarr_3(rich_zarr_v3: Path) -> None:
    """The zarr3 venv (Python >= 3.12, zarr >= 3.4, numcodecs 0.17) installed this package
    with pip; there it reads the v3 store as it does here."""
    code = ("import json, sys, zarr, lazynwb_explorer as l; "
            "df = l.get_df(sys.argv[1], '/units', exclude_array_columns=False, as_polars=True); "
            "print(json.dumps([zarr.__version__, sys.version_info[:2], df['spike_times'].to_list()]))")
    import json

    version, python, spikes = json.loads(zarr3_env.run(["-c", code, str(rich_zarr_v3)]).splitlines()[-1])
    assert int(version.split(".")[0]) == 3 and tuple(python) >= (3, 12)
    here = lazynwb.get_df(rich_zarr_v3, "/units", exclude_array_columns=False, as_polars=True)
    assert spikes == here["spike_times"].to_list()


def test_markers_of_zarr_3_and_lindi(rich_zarr_v3: Path, tmp_path: Path) -> None:
    """A copy of the v3 store with what zarr-python 3 writes for a NaN attribute (the string
    "NaN"), a LINDI soft-link group (`_SOFT_LINK`) and a LINDI reference with object ids."""
    import json
    import shutil

    store = tmp_path / "markers.nwb.zarr"
    shutil.copytree(rich_zarr_v3, store)
    root = json.loads((store / "zarr.json").read_text())
    members = root["consolidated_metadata"]["metadata"]
    members["units/spike_times"]["attributes"]["resolution"] = "NaN"
    members["units/spike_times"]["attributes"]["sampling_limit"] = "-Infinity"
    members["analysis/units_link"] = {"zarr_format": 3, "node_type": "group",
                                      "attributes": {"_SOFT_LINK": {"path": "/units"}}}
    members["units/electrodes"]["attributes"]["table"] = {
        "_REFERENCE": {"object_id": "x", "path": "/general/extracellular_ephys/electrodes",
                       "source": ".", "source_object_id": "y"}}
    (store / "zarr.json").write_text(json.dumps(root))
    attrs = lazynwb.get_attrs(store, "/units/spike_times")
    assert math.isnan(attrs["resolution"]) and attrs["sampling_limit"] == -math.inf
    assert attrs["description"] == "the spike times for each unit in seconds"  # strings stay
    assert lazynwb.get_attrs(store, "/analysis/units_link") == lazynwb.get_attrs(store, "/units")
    assert lazynwb.get_attrs(store, "/units/electrodes")["table"] == "/general/extracellular_ephys/electrodes"
