"""Stored catalogs: a later process opens a file with no request, and a stale, corrupt or
changed one is never used.

"Warm" runs are real fresh processes sharing a cache directory with an earlier one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.catalog import cache as catalog_cache
from lazynwb_explorer.catalog import store as catalog_store
from lazynwb_explorer.errors import SourceError
from lazynwb_explorer.transport import counting

import nwb_factory as nf

_WORK = """
import json, sys
import polars as pl
import lazynwb_explorer as lazynwb
from lazynwb_explorer.transport import counting
url = sys.argv[1]
out = {}
with counting() as c:
    paths = lazynwb.get_internal_paths(url)
out["paths"] = [paths if isinstance(paths, list) else list(paths), c.requests]
with counting() as c:
    schema = lazynwb.get_table_schema(url, "/units")
out["schema"] = [list(schema), c.requests]
with counting() as c:
    trials = lazynwb.get_df(url, "/intervals/trials", as_polars=True)
out["trials"] = [trials.height, c.requests, c.rounds]
with counting() as c:
    units = (lazynwb.scan_nwb(url, "/units").filter(pl.col("presence_ratio") >= 0.9)
             .select("unit_id", "spike_times").collect())
out["units"] = [units.height, c.requests, c.rounds, units["spike_times"].list.len().sum()]
print(json.dumps(out))
"""


def _run(url: str, cache_dir: Path, **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _WORK, url],
        env={**os.environ, "LAZYNWB_CACHE_DIR": str(cache_dir), **env},
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_warm_process_opens_with_no_request(rich_hdf5: Path, http_server, tmp_path: Path) -> None:
    url = http_server.url(rich_hdf5.name)
    cold = _run(url, tmp_path)
    warm = _run(url, tmp_path)
    print(f"\ncold {cold}\nwarm {warm}")
    assert warm["paths"][0] == cold["paths"][0] and warm["schema"][0] == cold["schema"][0]
    assert warm["trials"][0] == cold["trials"][0] and warm["units"][0] == cold["units"][0]
    assert warm["units"][3] == cold["units"][3]
    assert cold["paths"][1] > 0
    assert warm["paths"][1] == 0 and warm["schema"][1] == 0  # answered from the stored catalog
    assert warm["trials"][2] <= 2  # the columns (and their strings), nothing else
    assert warm["units"][2] <= 2  # the filter columns, then the surviving rows' spans


def test_disable_cache_stores_nothing(rich_hdf5: Path) -> None:
    lazynwb.config.disable_cache = True
    try:
        lazynwb.get_internal_paths(rich_hdf5)
    finally:
        lazynwb.config.disable_cache = False
    catalog_store.flush()
    assert not catalog_store.catalog_file(str(rich_hdf5)).exists()
    lazynwb.get_internal_paths(rich_hdf5)
    catalog_store.flush()  # catalogs are written on a background thread
    assert catalog_store.catalog_file(str(rich_hdf5)).exists()


@pytest.mark.parametrize("scope", [catalog_store.FULL, catalog_store.PATHS])
@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_corrupt_catalog_is_rebuilt(rich_hdf5: Path, damage: str, scope: str, caplog) -> None:
    """Both stored forms: the whole tree (stored by a call that walks it all) and the
    tables one-table calls walked (get_df alone)."""
    if scope == catalog_store.FULL:
        lazynwb.get_internal_paths(rich_hdf5)
    expected = lazynwb.get_df(rich_hdf5, "/units", as_polars=True)
    lazynwb.clear_cache()
    catalog_store.flush()  # catalogs are written by a background thread
    stored = catalog_store.catalog_file(str(rich_hdf5), scope)
    data = stored.read_bytes()
    if damage == "truncate":
        stored.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        stored.write_bytes(b"\x00" * 100)
    else:
        stored.write_bytes(data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:])
    again = lazynwb.get_df(rich_hdf5, "/units", as_polars=True)
    assert again.equals(expected)
    assert any("unusable" in r.getMessage() for r in caplog.records)
    catalog_store.flush()
    assert catalog_store.load(str(rich_hdf5), scope) is not None  # rebuilt and stored again


def test_changed_local_file_is_walked_again(tmp_path: Path) -> None:
    path = nf.write_hdf5(tmp_path / "a.nwb", n_units=5)
    assert lazynwb.get_df(path, "/units", as_polars=True).height == 5
    lazynwb.clear_cache()
    nf.write_hdf5(tmp_path / "a.nwb", n_units=7)
    assert lazynwb.get_df(path, "/units", as_polars=True).height == 7


def test_changed_remote_file_is_never_read_with_a_stale_catalog(http_server, tmp_path: Path) -> None:
    served = Path(http_server.root) / "changing.nwb"
    first, second = tmp_path / "first.nwb", tmp_path / "second.nwb"
    nf.write_hdf5(first, n_units=5)
    nf.write_hdf5(second, n_units=7)
    shutil.copy(first, served)
    url = http_server.url(served.name)
    assert lazynwb.get_df(url, "/units", as_polars=True).height == 5
    lazynwb.clear_cache()
    lazynwb.transport.readers.forget_reader(url)
    shutil.copy(second, served)
    os.utime(served, ns=(1, 10**18))  # another ETag even if the sizes match
    # Trusted stored catalog: the first data read sends the old ETag and fails cleanly...
    with pytest.raises(SourceError, match="changed"):
        lazynwb.get_df(url, "/units", as_polars=True)
    assert catalog_store.load(url) is None  # ...and the stale catalog is gone
    assert lazynwb.get_df(url, "/units", as_polars=True).height == 7


def test_expired_remote_catalog_is_revalidated(http_server, tmp_path: Path) -> None:
    served = Path(http_server.root) / "revalidated.nwb"
    nf.write_hdf5(served, n_units=5)
    url = http_server.url(served.name)
    lazynwb.get_internal_paths(url)
    lazynwb.clear_cache()
    lazynwb.transport.readers.forget_reader(url)
    lazynwb.config.catalog_max_age = 0
    try:
        with counting() as c:  # unchanged: one small request confirms it
            lazynwb.get_internal_paths(url)
        assert c.requests == 1 and c.bytes <= 1
        lazynwb.clear_cache()
        lazynwb.transport.readers.forget_reader(url)
        nf.write_hdf5(tmp_path / "other.nwb", n_units=9)
        shutil.copy(tmp_path / "other.nwb", served)
        os.utime(served, ns=(1, 2 * 10**18))
        assert lazynwb.get_df(url, "/units", as_polars=True).height == 9  # rebuilt
    finally:
        lazynwb.config.catalog_max_age = 24 * 3600.0


def test_processes_sharing_a_cache_directory(rich_hdf5: Path, http_server, tmp_path: Path) -> None:
    """Four processes build and use the same catalog at once: all get the same results and
    the stored catalog is whole."""
    url = http_server.url(rich_hdf5.name)
    env = {**os.environ, "LAZYNWB_CACHE_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", _WORK, url], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [json.loads(p.communicate(timeout=180)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len({json.dumps([o["paths"][0], o["trials"][0], o["units"][0], o["units"][3]]) for o in outs}) == 1
    lazynwb.config.cache_dir = str(tmp_path)
    try:
        assert catalog_store.load(url) is not None
    finally:
        lazynwb.config.cache_dir = os.environ["LAZYNWB_CACHE_DIR"]


def test_dandi_blobs_are_immutable() -> None:
    from lazynwb_explorer.sources import is_immutable

    assert is_immutable("s3://dandiarchive/blobs/abc/def/abcdef-1234")
    assert is_immutable("https://dandiarchive.s3.amazonaws.com/blobs/0a1/b2c/0a1b2c")
    assert not is_immutable("https://example.org/data/session.nwb")


def test_stored_catalog_answers_like_a_walk(rich_hdf5: Path) -> None:
    """Every public metadata answer is the same from a stored catalog as from a walk."""
    walked = (lazynwb.get_internal_paths(rich_hdf5, include_metadata=True),
              lazynwb.get_table_schema(rich_hdf5, "/units"),
              lazynwb.get_metadata_df(rich_hdf5, as_polars=True))
    lazynwb.clear_cache()
    stored = (lazynwb.get_internal_paths(rich_hdf5, include_metadata=True),
              lazynwb.get_table_schema(rich_hdf5, "/units"),
              lazynwb.get_metadata_df(rich_hdf5, as_polars=True))
    assert walked[0] == stored[0] and walked[1] == stored[1]
    assert walked[2].equals(stored[2])
    assert isinstance(stored[2], pl.DataFrame)


def test_values_kept_in_memory_are_reconfirmed(http_server, tmp_path: Path) -> None:
    """In one process: a small table answered from values kept in memory is re-confirmed
    (one 1-byte If-Match request) once `revalidate_after` has passed, so a file replaced on
    the server is an error, then read afresh, never old values."""
    served = Path(http_server.root) / "replaced.nwb"
    nf.write_hdf5(served, n_units=5)
    url = http_server.url(served.name)
    assert lazynwb.get_df(url, "/units", as_polars=True, exclude_array_columns=True).height == 5
    lazynwb.config.revalidate_after = 0.5
    try:
        time.sleep(0.6)
        with counting() as c:  # unchanged: answered from memory after one tiny request
            assert lazynwb.get_df(url, "/units", as_polars=True, exclude_array_columns=True).height == 5
        assert c.requests == 1 and c.bytes == 1
        nf.write_hdf5(tmp_path / "new.nwb", n_units=8)
        shutil.copy(tmp_path / "new.nwb", served)
        os.utime(served, ns=(1, 3 * 10**18))
        time.sleep(0.6)
        with pytest.raises(SourceError, match="changed"):
            lazynwb.get_df(url, "/units", as_polars=True, exclude_array_columns=True)
        assert lazynwb.get_df(url, "/units", as_polars=True, exclude_array_columns=True).height == 8
    finally:
        lazynwb.config.revalidate_after = 2.0


def test_metadata_walks_only_the_metadata_part(rich_hdf5: Path, http_server) -> None:
    """get_metadata_df needs the root's metadata datasets and /general: a remote file is
    walked only that far, the root's groups are not opened (and the partial catalog never
    answers a table read)."""
    url = http_server.url(rich_hdf5.name)
    remote = lazynwb.get_metadata_df(url, as_polars=True).drop(lazynwb.NWB_PATH_COLUMN_NAME)
    local = lazynwb.get_metadata_df(rich_hdf5, as_polars=True).drop(lazynwb.NWB_PATH_COLUMN_NAME)
    assert remote.equals(local)
    partial = catalog_cache._partial[url][1]
    assert {"/general/subject", "/general/subject/species", "/identifier",
            "/session_start_time"} <= set(partial.nodes)
    assert "units" in partial.nodes["/"].children  # listed by the root ...
    assert not {"/units", "/units/spike_times", "/acquisition", "/specifications"} & set(
        partial.nodes)  # ... but not opened
    full = lazynwb.get_df(url, "/units", as_polars=True)
    assert full.height == lazynwb.get_df(rich_hdf5, "/units", as_polars=True).height
    assert "/units/spike_times" in lazynwb.catalog.open_catalog(
        lazynwb.sources.to_source(url)).nodes


@pytest.mark.parametrize("how", ["clear", "forget"])
def test_a_write_in_flight_lands_before_clear_and_forget_remove(tmp_path: Path, how: str) -> None:
    """The writer thread has taken a catalog and is storing it when the caller clears the
    store (or forgets the source): once both are done, no stored catalog is left behind."""
    import threading

    taken = threading.Event()

    def slow_payload() -> dict:
        taken.set()
        time.sleep(0.5)
        return {"probe": how}

    uri = str(tmp_path / "session.nwb")
    catalog_store.save_later(uri, slow_payload)
    assert taken.wait(10)
    if how == "clear":
        catalog_store.clear()
    else:
        catalog_cache.forget(uri)
    catalog_store.flush()
    deadline = time.monotonic() + 2.0  # the taken write would land within 0.5 s
    while time.monotonic() < deadline:
        assert not catalog_store.catalog_file(uri).exists()
        time.sleep(0.05)
