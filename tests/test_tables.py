"""Tables read by lazynwb_explorer equal what pynwb returns, for every column kind, from HDF5
(chunked and contiguous) and Zarr files, locally, over HTTP and from S3."""

from __future__ import annotations

import math
from typing import Any

import h5py
import numpy as np
import polars as pl
import pytest

import lazynwb_explorer as lazynwb

from pynwb_reference import reference_columns

TABLES = ["/units", "/intervals/trials", "/intervals/epochs", "/general/extracellular_ephys/electrodes"]
WHERE = ["local", "http", "s3"]
KINDS = ["rich_hdf5", "rich_hdf5_contiguous", "rich_zarr", "rich_zarr_v3", "rich_zarr_v3_sharded",
         "rich_zarr_v3_unconsolidated"]


def _norm(value: Any) -> Any:
    """Plain comparable Python: lists for arrays, floats compared via rounding."""
    if isinstance(value, pl.Series):
        value = value.to_list()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict):
        return [_norm(v) for v in value.values()]
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if isinstance(value, str) and value.startswith("/"):
        return value.rsplit("/", 1)[-1]  # a reference: compare the referenced object's name
    return value


def _assert_table_matches(ours: pl.DataFrame, reference: dict[str, list[Any]], label: str) -> None:
    for name, expected in reference.items():
        assert name in ours.columns, f"{label}: column {name!r} missing; have {ours.columns}"
        got = [_norm(v) for v in ours[name].to_list()]
        want = [_norm(v) for v in expected]
        assert got == want, f"{label}: column {name!r} differs"


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("kind", KINDS)
def test_every_column_kind_matches_pynwb(request, locate, kind: str, where: str) -> None:
    path = request.getfixturevalue(kind)
    source = locate(path, where)
    for table_path in TABLES:
        ours = lazynwb.get_df(
            source, table_path, exclude_array_columns=False, as_polars=True, disable_progress=True
        )
        reference = reference_columns(path, table_path)
        assert ours.height == len(reference["id"])
        _assert_table_matches(ours, reference, f"{kind}/{where}{table_path}")
        assert ours["_nwb_path"].unique().to_list() == [source]
        assert ours["_table_path"].unique().to_list() == [table_path.lstrip("/")]
        assert ours["_table_index"].to_list() == list(range(ours.height))


def test_column_dtypes(rich_hdf5) -> None:
    schema = lazynwb.get_table_schema(rich_hdf5, "/units")
    assert schema["spike_times"] == pl.List(pl.Float64)
    assert schema["obs_intervals"] == pl.List(pl.Array(pl.Float64, (2,)))
    assert schema["spike_amplitudes_by_epoch"] == pl.List(pl.List(pl.Float64))
    assert schema["waveform_mean"] == pl.Array(pl.Float32, (30, 4))
    assert schema["location"] == pl.String
    assert schema["is_good"] == pl.Boolean
    assert isinstance(schema["electrodes"], pl.List)
    assert schema["_nwb_path"] == pl.String and schema["_table_index"] == pl.Int64
    assert "waveform_mean" not in lazynwb.get_table_schema(rich_hdf5, "/units", exclude_array_columns=True)
    assert "_nwb_path" not in lazynwb.get_table_schema(rich_hdf5, "/units", exclude_internal_columns=True)


def test_get_df_defaults_exclude_array_columns_and_return_pandas(rich_hdf5) -> None:
    df = lazynwb.get_df(rich_hdf5, "units", disable_progress=True)
    assert type(df).__module__.startswith("pandas")
    assert "spike_times" not in df.columns and "waveform_mean" not in df.columns
    assert {"unit_id", "location", "_nwb_path", "_table_path", "_table_index"} <= set(df.columns)
    named = lazynwb.get_df(rich_hdf5, "/units", include_column_names=["unit_id", "location"], as_polars=True)
    assert named.columns == ["location", "unit_id", "_nwb_path", "_table_path", "_table_index"]
    with_spikes = lazynwb.get_df(rich_hdf5, "/units", include_column_names="spike_times", as_polars=True)
    assert "spike_times" in with_spikes.columns  # named array columns are always read
    dropped = lazynwb.get_df(rich_hdf5, "/units", exclude_column_names=["location"], as_polars=True)
    assert "location" not in dropped.columns


@pytest.mark.parametrize("term", ["trials", "/intervals/trials", "intervals/trials", "trial"])
def test_shortcuts_and_partial_names(rich_hdf5, term: str) -> None:
    df = lazynwb.get_df(rich_hdf5, term, as_polars=True, disable_progress=True)
    assert df["_table_path"][0] == "intervals/trials"
    assert df.height == 40


def test_row_selection_per_file(rich_hdf5, rich_zarr) -> None:
    rows = {str(rich_hdf5): [3, 1, 7], str(rich_zarr): [0]}
    df = lazynwb.get_df(
        [rich_hdf5, rich_zarr], "/units", nwb_path_to_row_indices=rows,
        exclude_array_columns=False, as_polars=True, disable_progress=True,
    )
    full = lazynwb.get_df(rich_hdf5, "/units", exclude_array_columns=False, as_polars=True)
    assert df["_table_index"].to_list() == [3, 1, 7, 0]  # the order asked
    assert df.head(3)["spike_times"].to_list() == full[[3, 1, 7]]["spike_times"].to_list()


def test_many_files_keep_source_order(sessions) -> None:
    for order in (sessions, list(reversed(sessions))):
        df = lazynwb.get_df(order, "/intervals/trials", as_polars=True, disable_progress=True)
        assert df["_nwb_path"].unique(maintain_order=True).to_list() == [str(p) for p in order]
        scanned = lazynwb.scan_nwb(order, "/intervals/trials", disable_progress=True).collect()
        assert scanned.select(df.columns).equals(df)


def test_merge_array_column_reads_only_held_rows(rich_hdf5) -> None:
    df = lazynwb.get_df(rich_hdf5, "/units", as_polars=True).filter(pl.col("location") == "VISp")
    merged = lazynwb.merge_array_column(df, "spike_times")
    full = lazynwb.get_df(rich_hdf5, "/units", exclude_array_columns=False, as_polars=True)
    expected = full.filter(pl.col("location") == "VISp")["spike_times"]
    assert merged["spike_times"].to_list() == expected.to_list()
    assert merged.height == df.height
    as_pandas = lazynwb.merge_array_column(df.to_pandas(), "waveform_mean")
    assert len(as_pandas) == df.height and "waveform_mean" in as_pandas.columns


def test_scan_filter_select_matches_eager(rich_hdf5, rich_zarr) -> None:
    for path in (rich_hdf5, rich_zarr):
        lazy = (
            lazynwb.scan_nwb(path, "/units")
            .filter(pl.col("presence_ratio") >= 0.95, pl.col("location") == "VISp")
            .select("unit_id", "spike_times")
            .collect()
        )
        eager = lazynwb.get_df(path, "/units", exclude_array_columns=False, as_polars=True)
        expected = eager.filter(pl.col("presence_ratio") >= 0.95, pl.col("location") == "VISp")
        assert lazy.height > 0
        assert lazy.to_dicts() == expected.select("unit_id", "spike_times").to_dicts()
        assert lazynwb.read_nwb(path, "/units").height == eager.height
        assert lazynwb.scan_nwb(path, "/units").head(5).collect().height == 5


def test_scan_predicate_on_nwb_path_prunes_files(sessions) -> None:
    lf = lazynwb.scan_nwb(sessions, "/units", disable_progress=True)
    one = lf.filter(pl.col("_nwb_path") == str(sessions[1])).collect()
    assert one["_nwb_path"].unique().to_list() == [str(sessions[1])]
    assert one.height == lazynwb.get_df(sessions[1], "/units", as_polars=True).height


def test_head_stops_reading_files(sessions, http_server, locate) -> None:
    urls = [locate(p, "http") for p in sessions]
    for url in urls:
        lazynwb.get_internal_paths(url)
    http_server.reset_stats()
    head = lazynwb.scan_nwb(urls, "/units", disable_progress=True).head(3).collect()
    assert head.height == 3 and head["_nwb_path"].unique().to_list() == [urls[0]]
    assert all(sessions[0].name in entry.path for entry in http_server.stats.log)


def test_rate_sampled_series_as_a_table_has_computed_timestamps(rich_hdf5) -> None:
    """A TimeSeries stored as starting_time + rate gets lazynwb's computed timestamps column,
    also for selected rows and in a pushed-down filter."""
    with h5py.File(rich_hdf5) as f:
        start = f["/acquisition/lick_sensor/starting_time"]
        expected = start[()] + np.arange(len(f["/acquisition/lick_sensor/data"])) / start.attrs["rate"]
    df = lazynwb.get_df(rich_hdf5, "/acquisition/lick_sensor", as_polars=True)
    assert df.columns[:2] == ["data", "timestamps"]
    np.testing.assert_allclose(df["timestamps"].to_numpy(), expected)
    some = lazynwb.get_df(rich_hdf5, "/acquisition/lick_sensor", as_polars=True,
                          nwb_path_to_row_indices={str(rich_hdf5): [3, 7]})
    np.testing.assert_allclose(some["timestamps"].to_numpy(), expected[[3, 7]])
    late = (lazynwb.scan_nwb(rich_hdf5, "/acquisition/lick_sensor")
            .filter(pl.col("timestamps") >= expected[-5]).collect())
    np.testing.assert_allclose(late["timestamps"].to_numpy(), expected[-5:])
