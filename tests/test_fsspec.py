"""Every fsspec URL and UPath a lazynwb user passes (issue 20), and lazynwb's two transport
switches, use_obstore=False (fsspec) and use_remfile=True (remfile for http).

Oracles: the same file read locally (tables, series, metadata, paths), lazynwb 1.0 reading
the same inputs, and the HTTP and S3 servers' own counts of what they sent.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import upath
from conftest import BUCKET

import lazynwb_explorer as lazynwb
from lazynwb_explorer.catalog import store as catalog_store
from lazynwb_explorer.errors import SourceError
from lazynwb_explorer.sources import to_source
from lazynwb_explorer.transport import counting, forget_reader

from servers import MotoS3Server

TABLES = ("/units", "/intervals/trials", "/intervals/epochs")
SERIES = ("/acquisition/running_speed", "/processing/behavior/BehavioralTimeSeries/pupil_area")


def _frame(source: Any, table: str) -> pl.DataFrame:
    return lazynwb.get_df(source, table, as_polars=True, disable_progress=True)


def _reads(source: Any) -> dict[str, Any]:
    """What the API answers about a session, without the column naming the source."""
    out: dict[str, Any] = {"paths": lazynwb.get_internal_paths(source)}
    for table in TABLES:
        out[table] = _frame(source, table).drop("_nwb_path").to_dicts()
    for series in SERIES:
        ts = lazynwb.get_timeseries(source, series, exact_path=True)
        out[series] = (np.asarray(ts.data[:]).tolist(), np.asarray(ts.timestamps[:]).tolist())
    meta = lazynwb.get_metadata_df([source], as_polars=True, disable_progress=True)
    out["metadata"] = meta.drop("_nwb_path").to_dicts()
    out["scan"] = (lazynwb.scan_nwb(source, "/units", disable_progress=True)
                   .filter(pl.col("presence_ratio") >= 0.5).select("unit_id").collect().to_dicts())
    return out


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr", "rich_zarr_v3_sharded"])
@pytest.mark.parametrize("where", ["memory", "simplecache-http"])
def test_fsspec_sources_read_as_the_local_file(request, locate, kind: str, where: str) -> None:
    local = request.getfixturevalue(kind)
    url = locate(local, where)
    forget_reader(url)
    assert type(to_source(url).reader()).__name__ == "FsspecReader"
    assert _reads(url) == _reads(local)
    assert _frame(url, "/units")["_nwb_path"].unique().to_list() == [url]


def test_a_chained_cache_fetches_the_file_once_whole(
    rich_hdf5: Path, locate, http_server, tmp_path: Path
) -> None:
    """simplecache:: in front of HTTP, with a cache directory of its own (a UPath's option
    for the chain's outer layer): the server sends the file whole, in the first call only.
    (fsspec's HTTP `exists`, which the cache asks first, is a GET too, dropped early.)"""
    path = upath.UPath(locate(rich_hdf5, "simplecache-http"), cache_storage=str(tmp_path))
    size = rich_hdf5.stat().st_size
    http_server.reset_stats()
    first = _frame(path, "/units")
    gets = [e for e in http_server.stats.log if e.method == "GET"]
    assert len(gets) == 2 and all(e.range_start is None for e in gets)  # exists, download
    assert size <= http_server.stats.bytes_sent <= 2 * size
    assert [f.stat().st_size for f in tmp_path.iterdir()] == [size]
    lazynwb.clear_cache()
    catalog_store.clear()
    http_server.reset_stats()
    assert _frame(path, "/units").equals(first)
    assert http_server.stats.bytes_sent == 0  # from fsspec's cache


def test_upaths_read_as_their_urls_and_are_labelled_as_lazynwb_labels_them(
    rich_hdf5: Path, locate
) -> None:
    memory = locate(rich_hdf5, "memory")
    chained = locate(rich_hdf5, "simplecache-http")
    for path in (upath.UPath(memory), upath.UPath(chained), upath.UPath(rich_hdf5.as_uri())):
        ours = _frame(path, "/units")
        assert ours.drop("_nwb_path").equals(_frame(rich_hdf5, "/units").drop("_nwb_path"))
        assert ours["_nwb_path"][0] == path.as_posix() == str(path)


# lazynwb 1.0 reads Subject's age__reference as None; the file (and pynwb) say 'birth'
LAZYNWB_MISREADS = {"age__reference"}


FORMS = {  # what a lazynwb user passes, built from the local file
    "memory": lambda f, locate: locate(f, "memory"),
    "memory-upath": lambda f, locate: upath.UPath(locate(f, "memory")),
    "simplecache-file": lambda f, locate: "simplecache::" + f.as_uri(),
    "simplecache-file-upath": lambda f, locate: upath.UPath("simplecache::" + f.as_uri()),
    "file-url": lambda f, locate: f.as_uri(),
    "file-upath": lambda f, locate: upath.UPath(f.as_uri()),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_lazynwb_reads_the_same_inputs_alike(rich_hdf5: Path, locate, form: str) -> None:
    import lazynwb as reference

    source = FORMS[form](rich_hdf5, locate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for table in TABLES:
            theirs = reference.get_df(source, table, as_polars=True, disable_progress=True)
            ours = _frame(source, table)
            common = [c for c in theirs.columns if c in ours.columns]
            assert len(common) >= len(theirs.columns) - 1, table  # less a doubly ragged index
            for name in common:
                assert ours[name].to_list() == theirs[name].to_list(), (table, name)
        for series in SERIES:
            theirs_ts = reference.get_timeseries(source, series, exact_path=True)
            ours_ts = lazynwb.get_timeseries(source, series, exact_path=True)
            np.testing.assert_array_equal(ours_ts.data[:], theirs_ts.data[:])
            np.testing.assert_array_equal(ours_ts.timestamps[:], theirs_ts.timestamps[:])
        assert lazynwb.get_internal_paths(source) == reference.get_internal_paths(source)
        theirs_meta = reference.get_metadata_df([source], as_polars=True, disable_progress=True)
    ours_meta = lazynwb.get_metadata_df([source], as_polars=True, disable_progress=True)
    for name in set(theirs_meta.columns) - LAZYNWB_MISREADS:
        assert ours_meta[name].to_list() == theirs_meta[name].to_list(), name


@pytest.mark.parametrize("chain", ["simplecache", "blockcache"])
def test_chained_http_urls_lazynwb_refuses_are_read(rich_hdf5: Path, locate, chain: str) -> None:
    """lazynwb 1.0 (universal-pathlib 0.3) refuses a cache chained in front of http(s)
    ("requested protocol 'simplecache' incompatible with 'http'"); here they read as the
    local file. Should lazynwb start reading them, this test says to compare instead."""
    import lazynwb as reference

    url = f"{chain}::" + locate(rich_hdf5, "http")
    with warnings.catch_warnings(), pytest.raises(ValueError, match="incompatible"):
        warnings.simplefilter("ignore")
        reference.get_df(url, "/units", as_polars=True, disable_progress=True)
    assert _frame(url, "/units").drop("_nwb_path").equals(
        _frame(rich_hdf5, "/units").drop("_nwb_path"))


def test_missing_and_unknown_sources_are_errors_naming_them(rich_hdf5: Path, locate) -> None:
    for url in ("memory://nowhere/ses.nwb", "simplecache::memory://nowhere/ses.nwb",
                "nosuchprotocol://host/ses.nwb"):
        with pytest.raises(SourceError) as info:
            _frame(url, "/units")
        assert url.split("::")[-1].split("://")[1] in str(info.value), url


def test_catalogs_of_memory_files_are_never_stored(rich_hdf5: Path, locate) -> None:
    """A memory:// file lives in this process: a stored catalog would describe whatever a
    later process holds at the same URL."""
    url = locate(rich_hdf5, "memory")
    _frame(url, "/units")
    lazynwb.clear_cache()
    catalog_store.flush()
    assert not catalog_store.exists(url)


def test_a_upath_brings_its_own_storage_options(rich_hdf5: Path, locate, s3_server, monkeypatch) -> None:
    """s3 through s3fs with the UPath's credentials and endpoint: config holds none of them."""
    locate(rich_hdf5, "s3")  # upload
    secret = MotoS3Server.SECRET_KEY
    path = upath.UPath(f"s3://{BUCKET}/rich.nwb", endpoint_url=s3_server.endpoint_url,
                       key=MotoS3Server.ACCESS_KEY, secret=secret)
    monkeypatch.setattr(lazynwb.config, "fsspec_storage_options", {})
    source = to_source(path)
    assert type(source.reader()).__name__ == "FsspecReader"
    assert secret not in repr(source)
    assert _frame(path, "/units").drop("_nwb_path").equals(
        _frame(rich_hdf5, "/units").drop("_nwb_path"))
    missing = upath.UPath(f"s3://{BUCKET}/missing.nwb", **path.storage_options)
    with pytest.raises(SourceError) as info:
        _frame(missing, "/units")
    assert "missing.nwb" in str(info.value) and secret not in str(info.value)


def test_config_options_reach_the_object_store_inside_a_chain(rich_hdf5: Path, locate, s3_server) -> None:
    """config.fsspec_storage_options (the moto endpoint and keys) go to s3fs, the chain's
    inner layer; the outer cache takes none of them."""
    url = "simplecache::" + locate(rich_hdf5, "s3")
    assert _frame(url, "/units").drop("_nwb_path").equals(
        _frame(rich_hdf5, "/units").drop("_nwb_path"))


def test_use_remfile_reads_http_through_remfile_and_counts_it(
    rich_hdf5: Path, locate, http_server, monkeypatch
) -> None:
    url = locate(rich_hdf5, "http")
    monkeypatch.setattr(lazynwb.config, "use_remfile", True)
    forget_reader(url)
    assert type(to_source(url).reader()).__name__ == "RemfileReader"
    http_server.reset_stats()
    with counting() as counted:
        ours = _frame(url, "/units")
    assert ours.drop("_nwb_path").equals(_frame(rich_hdf5, "/units").drop("_nwb_path"))
    stats = http_server.stats
    assert (counted.requests, counted.bytes) == (stats.requests, stats.bytes_sent)
    ranged = [e for e in stats.log if e.method == "GET"]
    size = rich_hdf5.stat().st_size
    # remfile's requests: whole chunks of 100 KiB (or up to the end of the file)
    assert ranged and all(e.range_start % 102_400 == 0 and (
        (e.range_end - e.range_start) % 102_400 == 0 or e.range_end == size) for e in ranged)
    forget_reader(url)


@pytest.mark.parametrize("kind", ["rich_zarr", "rich_zarr_v3_sharded"])
def test_zarr_stores_given_as_fsspec_mappers(request, locate, kind: str) -> None:
    """A Zarr store's FSMap (fsspec.get_mapper), as zarr users hold them: read through its
    filesystem, labelled with its URL."""
    import fsspec

    local = request.getfixturevalue(kind)
    mapper = fsspec.get_mapper(locate(local, "memory"))
    assert type(to_source(mapper).reader()).__name__ == "FsspecReader"
    assert _reads(mapper) == _reads(local)
    assert _frame(mapper, "/units")["_nwb_path"].unique().to_list() == [to_source(mapper).label]
