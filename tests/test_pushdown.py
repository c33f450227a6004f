"""Pushdown proven by counting what the servers sent.

The pushdown file has 1,000 units with a 126 MB waveform_mean (one chunk per unit,
uncompressed) and ~300k spike_times: filter + select must move under 5% of the file, and
reading scalar columns must not touch a byte of spike_times or waveform_mean.
"""

from __future__ import annotations

import h5py
import numpy as np
import polars as pl
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.transport import counting


def _data_extents(path, name) -> list[tuple[int, int]]:
    """The byte extents of a dataset's stored data (chunks or contiguous block)."""
    with h5py.File(path, "r") as f:
        ds = f[name]
        if ds.chunks is None:
            return [(ds.id.get_offset(), ds.id.get_offset() + ds.id.get_storage_size())]
        extents = []
        ds.id.chunk_iter(lambda info: extents.append((info.byte_offset, info.byte_offset + info.size)))
        return extents


def _overlaps(log, extents) -> int:
    starts = np.array([a for a, _ in extents])
    ends = np.array([b for _, b in extents])
    hits = 0
    for entry in log:
        if entry.range_start is None:
            continue
        end = entry.range_end if entry.range_end is not None else 1 << 62
        hits += int(np.any((starts < end) & (ends > entry.range_start)))
    return hits


SERVERS = {"http": "http_server", "s3": "s3_server", "fsspec-http": "http_server", "memory": None}


@pytest.mark.parametrize("where", sorted(SERVERS))
def test_filter_select_moves_under_five_percent(pushdown_file, locate, where, request, monkeypatch) -> None:
    """... over our transport (http, s3) and fsspec's (http with use_obstore=False, and
    fsspec's memory filesystem, where only our counters can tell)."""
    if where == "fsspec-http":
        monkeypatch.setattr(lazynwb.config, "use_obstore", False)
    url = locate(pushdown_file, "http" if where == "fsspec-http" else where)
    server = request.getfixturevalue(SERVERS[where]) if SERVERS[where] else None
    size = pushdown_file.stat().st_size
    assert size > 100e6
    if server is not None:
        server.reset_stats()
    with counting() as counted:
        result = (
            lazynwb.scan_nwb(url, "/units", disable_progress=True)
            .filter(pl.col("presence_ratio") >= 0.95, pl.col("location") == "VISp")
            .select("unit_id", "spike_times")
            .collect()
        )
    local = lazynwb.get_df(pushdown_file, "/units", exclude_array_columns=False, as_polars=True)
    expected = local.filter(pl.col("presence_ratio") >= 0.95, pl.col("location") == "VISp")
    assert result.height == expected.height > 0
    assert result["unit_id"].to_list() == expected["unit_id"].to_list()
    assert result["spike_times"].to_list() == expected["spike_times"].to_list()
    assert counted.bytes < 0.05 * size, (counted.bytes, size)
    if server is not None:
        assert counted.bytes == server.stats.bytes_sent  # our counters agree with the server's


def test_waveforms_of_surviving_rows_cost_their_chunks(pushdown_file, http_server) -> None:
    """An n-D column read for the filtered rows moves those rows' chunks and little more."""
    url = http_server.url(pushdown_file.name)
    lazynwb.get_internal_paths(url)
    http_server.reset_stats()
    result = (
        lazynwb.scan_nwb(url, "/units", disable_progress=True)
        .filter(pl.col("location") == "VISp", pl.col("presence_ratio") >= 0.95)
        .select("waveform_mean")
        .collect()
    )
    local = lazynwb.get_df(pushdown_file, "/units", exclude_array_columns=False, as_polars=True)
    expected = local.filter(pl.col("location") == "VISp", pl.col("presence_ratio") >= 0.95)
    assert np.array_equal(result["waveform_mean"].to_numpy(), expected["waveform_mean"].to_numpy())
    row_bytes = 82 * 384 * 4
    needed = expected.height * row_bytes
    assert needed <= http_server.stats.bytes_sent < needed * 1.1 + 2e6
    assert _overlaps(http_server.stats.log, _data_extents(pushdown_file, "/units/spike_times")) == 0


def test_scalar_columns_transfer_no_array_bytes(pushdown_file, http_server) -> None:
    """Cold: the whole call (open + walk + read) stays tiny. Once the file is open, reading
    the scalar columns requests no byte range that touches spike_times or waveform_mean.
    (Opening reads metadata in aligned 64 KiB blocks, which may hold a few neighbouring bytes
    of array data; that is metadata cost, bounded below.)"""
    url = http_server.url(pushdown_file.name)
    columns = ["unit_id", "presence_ratio", "location"]
    http_server.reset_stats()
    df = lazynwb.get_df(url, "/units", include_column_names=columns, as_polars=True)
    assert df.height == 1000
    assert http_server.stats.bytes_sent < 1.5e6  # vs 2.4 MB spike_times + 126 MB waveforms
    lazynwb.clear_cache()
    lazynwb.get_internal_paths(url)
    http_server.reset_stats()
    again = lazynwb.get_df(url, "/units", include_column_names=columns, as_polars=True)
    assert again.equals(df)
    for name in ("/units/spike_times", "/units/waveform_mean"):
        assert _overlaps(http_server.stats.log, _data_extents(pushdown_file, name)) == 0, name


def test_ragged_rows_read_only_their_spans(pushdown_file, http_server) -> None:
    """Three units' spike_times: at most the spike_times chunks holding them are fetched."""
    url = http_server.url(pushdown_file.name)
    lazynwb.get_internal_paths(url)  # open the file first: count data reads only
    http_server.reset_stats()
    df = lazynwb.get_df(
        url, "/units", include_column_names=["spike_times"],
        nwb_path_to_row_indices={url: [10, 500, 990]}, as_polars=True,
    )
    local = lazynwb.get_df(pushdown_file, "/units", include_column_names=["spike_times"], as_polars=True)
    assert df["spike_times"].to_list() == local[[10, 500, 990]]["spike_times"].to_list()
    spike_chunks = _data_extents(pushdown_file, "/units/spike_times")
    touched = _overlaps(http_server.stats.log, spike_chunks)
    assert touched <= 6  # 3 units, each within at most two 10,000-spike chunks
    assert http_server.stats.bytes_sent < 3e6


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_hdf5_contiguous", "rich_zarr", "rich_zarr_v3",
                                  "rich_zarr_v3_sharded"])
def test_a_page_of_rows_is_two_rounds_once_open(request, locate, kind) -> None:
    """Every column kind of 20 rows: flat columns + indexes in one concurrent round, ragged
    data spans in a second, however many columns."""
    url = locate(request.getfixturevalue(kind), "http")
    lazynwb.get_internal_paths(url)
    with counting() as counted:
        page = lazynwb.get_df(
            url, "/units", nwb_path_to_row_indices={url: list(range(20, 40))},
            exclude_array_columns=False, as_polars=True,
        )
    assert page.height == 20 and page.width >= 14
    assert counted.rounds <= 2, counted


def test_rows_inside_large_uncompressed_chunks_cost_only_their_bytes(served, http_server) -> None:
    """libhdf5 reads rows straight from uncompressed chunks bigger than its chunk cache, so we
    fetch just those rows' bytes: 3 units' spikes out of one 2.4 MB chunk."""
    import nwb_factory as nf

    path = served / "big_chunks.nwb"
    if not path.exists():
        nf.write_units_pushdown_file(path, n_units=1000, waveform_shape=(2, 2), spike_times_chunk=1_000_000)
    url = http_server.url(path.name)
    lazynwb.get_internal_paths(url)
    lazynwb.get_df(url, "/units", include_column_names=["unit_id"])  # indexes known
    rows = [10, 500, 990]
    local = lazynwb.get_df(path, "/units", include_column_names=["spike_times"], as_polars=True)[rows]
    http_server.reset_stats()
    with counting() as counted:
        df = lazynwb.get_df(url, "/units", include_column_names=["spike_times"],
                            nwb_path_to_row_indices={url: rows}, as_polars=True)
    assert df["spike_times"].to_list() == local["spike_times"].to_list()
    needed = 8 * int(local["spike_times"].list.len().sum())
    assert http_server.stats.bytes_sent < needed + 300_000, (http_server.stats.bytes_sent, needed)
    assert counted.rounds <= 2
