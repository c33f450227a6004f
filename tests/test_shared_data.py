"""Every real file in ../shared/data (other labs' tools, pynwb 1.0.2 ... 2.2.0): paths and
every table read equal to pynwb's, locally and over HTTP."""

from __future__ import annotations

import warnings

import pytest
from conftest import SHARED_DATA, SHARED_FILES, SHARED_SOURCES, is_nwb1
from test_tables import _assert_table_matches

import lazynwb_explorer as lazynwb
from lazynwb_explorer.errors import UnsupportedFileError

from h5py_reference import h5py_table_columns, h5py_tables
from pynwb_reference import pynwb_reads, reference_columns, tables_pynwb_reads

assert SHARED_FILES, f"no shared data files found under {SHARED_DATA}"


@pytest.mark.parametrize("where", ["local", "http"])
@pytest.mark.parametrize("name", [f.relative_to(SHARED_DATA).as_posix() for f in SHARED_SOURCES])
def test_shared_file(served, locate, name: str, where: str) -> None:
    path = served / "shared" / name
    source = locate(path, where)
    if is_nwb1(path):  # nobody reads NWB 1.x as 2.x: a clear refusal naming the file
        for call in (lambda: lazynwb.get_internal_paths(source),
                     lambda: lazynwb.get_df(source, "/units", disable_progress=True)):
            with pytest.raises(UnsupportedFileError, match="NWB 1.x is not supported") as info:
                call()
            assert source in str(info.value)
        return
    # (plain HTTP cannot list a store: one without consolidated metadata, as the Dec 2022
    # hdmf-zarr store, is walked by the NWB structure; its tables have names NWB states)
    paths = lazynwb.get_internal_paths(source)
    info = lazynwb.get_internal_path_info(source, include_metadata=True)
    assert set(paths) <= set(lazynwb.get_internal_paths(source, parents=True))
    for entry in info.values():
        assert {"is_group", "is_dataset", "shape", "attrs", "is_timeseries", "neurodata_type"} <= set(entry)
        assert all(v != "<vlen-string>" for v in entry["attrs"].values())  # real values
    # pynwb is the oracle where it reads the file; h5py where it cannot (MatNWB 2.0b)
    by_pynwb = pynwb_reads(path)
    tables = tables_pynwb_reads(path) if by_pynwb else h5py_tables(path)
    assert by_pynwb or tables, "no table to compare"
    for table_path in tables:
        ours = lazynwb.get_df(
            source, table_path, exact_path=True, exclude_array_columns=False,
            as_polars=True, disable_progress=True,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = (reference_columns if by_pynwb else h5py_table_columns)(path, table_path)
        assert ours.height == len(reference["id"])
        _assert_table_matches(ours, reference, f"{name}{table_path}")


def test_real_sessions_have_their_tables() -> None:
    alm = SHARED_DATA / "real" / "sub_anm00239123_ses_20170627T093549_ecephys_and_ogen.nwb"
    phy = SHARED_DATA / "real" / "A8604-211122_phy.nwb"
    assert lazynwb.get_df(alm, "trials", as_polars=True).height == 412
    assert lazynwb.get_df(phy, "electrodes", as_polars=True).height == 383
    units = lazynwb.get_df(phy, "units", include_column_names=["spike_times"], as_polars=True)
    assert units["spike_times"].list.len().sum() > 0
