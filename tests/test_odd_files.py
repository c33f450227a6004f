"""Files nobody on the team wrote, and files that break NWB's rules (issue 11, items 5, 6,
7, 9, 12): each read is checked against h5py (or lazynwb) and every refusal names the file
and what is wrong. Local files go through h5py, http ones through our own HDF5 engine."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pytest
from conftest import SHARED_DATA

import lazynwb_explorer as lazynwb
from lazynwb_explorer.errors import NotNWBError, UnsupportedFileError

import nwb_factory as nf

OTHER = SHARED_DATA / "other_writers"
AIBS = "nwblinkml__aibs.nwb"
MATNWB = "matnwb__ecephys_tutorial.nwb"
NWB1 = "matnwb__20080606_R1.nwb"
WHERE = ["local", "http"]


def _shared(served: Path, locate, name: str, where: str) -> tuple[Path, str]:
    path = served / "shared" / "other_writers" / name
    return path, locate(path, where)


@pytest.mark.parametrize("where", WHERE)
def test_hdf5_that_is_not_nwb_names_file_and_path(served, locate, where: str) -> None:
    path = nf.write_non_nwb_hdf5(served / "plain.h5")
    source = locate(path, where)
    calls = {
        "/units": lambda: lazynwb.get_df(source, "/units", disable_progress=True),
        "/intervals/trials": lambda: lazynwb.scan_nwb(source, "/intervals/trials").collect(),
        "/acquisition/x": lambda: lazynwb.get_timeseries(source, "/acquisition/x"),
        "/general/subject": lambda: lazynwb.get_attrs(source, "/general/subject"),
        "/data": lambda: lazynwb.get_table_schema(source, "/data"),
    }
    for asked, call in calls.items():
        with pytest.raises(NotNWBError, match="not an NWB file") as info:
            call()
        assert source in str(info.value) and f"path '{asked}'" in str(info.value)


@pytest.mark.parametrize("where", WHERE)
def test_nwb1_is_refused_as_nwb1(served, locate, where: str) -> None:
    path, source = _shared(served, locate, NWB1, where)
    with h5py.File(path, "r") as f:  # what makes it NWB 1.x
        assert isinstance(f["nwb_version"], h5py.Dataset) and "nwb_version" not in f.attrs
    for call in (lambda: lazynwb.get_df(source, "/units", disable_progress=True),
                 lambda: lazynwb.get_internal_paths(source),
                 lambda: lazynwb.get_metadata_df([source], disable_progress=True)):
        with pytest.raises(UnsupportedFileError, match="NWB 1.x is not supported") as info:
            call()
        assert source in str(info.value) and "not an NWB file" not in str(info.value)


@pytest.mark.parametrize("where", WHERE)
def test_a_series_named_timestamps_opens_by_exact_path(served, locate, where: str) -> None:
    path, source = _shared(served, locate, AIBS, where)
    series = "/processing/stimulus/timestamps"
    ts = lazynwb.get_timeseries(source, series, exact_path=True)
    assert ts._table_path == series
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(ts.data[:], f[series]["data"][()])
        np.testing.assert_array_equal(ts.timestamps[:], f[series]["timestamps"][()])
    # its child datasets still name the series
    assert lazynwb.get_timeseries(source, f"{series}/data", exact_path=True)._table_path == series


@pytest.mark.parametrize("where", WHERE)
def test_a_ragged_index_past_its_data(served, locate, where: str) -> None:
    """The AllenSDK excerpt keeps 10 spike times but an index up to 987,786: rows read as
    h5py slices them (pynwb's answer; test_shared_data compares), with a warning naming
    file, table and column; merge_array_column likewise, never a bare pyarrow error."""
    path, source = _shared(served, locate, AIBS, where)
    with h5py.File(path, "r") as f:
        data, ends = f["units/spike_times"][()], f["units/spike_times_index"][()]
    starts = np.concatenate([[0], ends[:-1]])
    expected = [data[a:b].tolist() for a, b in zip(starts, ends)]
    with pytest.warns(UserWarning, match="'spike_times' of table /units") as caught:
        df = lazynwb.get_df(source, "/units", include_column_names=["spike_times"],
                            as_polars=True, disable_progress=True)
    assert any(source in str(w.message) and "987786" in str(w.message) for w in caught)
    assert df["spike_times"].to_list() == expected
    base = lazynwb.get_df(source, "/units", as_polars=True, disable_progress=True)
    with pytest.warns(UserWarning, match="spike_times"):
        merged = lazynwb.merge_array_column(base.filter(pl.col("_table_index") > 0), "spike_times")
    assert merged["spike_times"].to_list() == expected[1:]


@pytest.mark.parametrize("where", WHERE)
def test_matnwb_2_0b_attributes_and_region_indexes(served, locate, where: str) -> None:
    """MatNWB 2.0b stores attributes as one-element arrays and the units' spike_times_index
    as HDF5 region references (pynwb cannot open the file: h5py is the oracle)."""
    path, source = _shared(served, locate, MATNWB, where)
    paths = lazynwb.get_internal_paths(source, include_metadata=True)
    assert {"/intervals/trials", "/units", "/acquisition/ECoG"} <= set(paths)
    info = lazynwb.get_internal_path_info(source)
    assert info["/units"]["neurodata_type"] == "Units"
    assert info["/intervals/trials"]["neurodata_type"] == "TimeIntervals"
    with h5py.File(path, "r") as f:
        data, refs = f["units/spike_times"], f["units/spike_times_index"][()]
        expected = [data[ref].tolist() for ref in refs]
    units = lazynwb.get_df(source, "/units", exclude_array_columns=False, as_polars=True,
                           disable_progress=True)
    assert units["spike_times"].to_list() == expected
    picked = lazynwb.scan_nwb(source, "/units").filter(pl.col("id") != 2).select("spike_times")
    assert picked.collect()["spike_times"].to_list() == [expected[0], expected[2]]
    ecog = lazynwb.get_timeseries(source, "ECoG")
    assert ecog.unit == "V" and ecog.rate == 200.0 and ecog.timestamps_unit == "Seconds"


def test_timestamps_only_groups_are_series_as_lazynwb_says(tmp_path, rich_hdf5) -> None:
    """NWB 2.8's Events (timestamps and nothing else): lazynwb says is_timeseries=True."""
    import lazynwb as reference

    path = tmp_path / "events.nwb"
    shutil.copyfile(rich_hdf5, path)
    with h5py.File(path, "a") as f:
        group = f.create_group("acquisition/licks")
        group.attrs.update(neurodata_type="Events", namespace="core", description="licks")
        group.create_dataset("timestamps", data=np.sort(np.random.default_rng(0).uniform(0, 9, 20)))
    ours = lazynwb.get_internal_path_info(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = reference.get_internal_path_info(path)
    assert ours["/acquisition/licks"]["is_timeseries"] is True
    assert set(ours) == set(theirs)
    assert {p: e["is_timeseries"] for p, e in ours.items()} == {
        p: e["is_timeseries"] for p, e in theirs.items()}
    ts = lazynwb.get_timeseries(path, "licks")
    assert len(ts.timestamps) == 20 and ts.num_samples == 20
