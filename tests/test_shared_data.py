"""Every real file in ../shared/data (other labs' tools, pynwb 1.0.2 ... 2.2.0): paths and
every table read equal to pynwb's, locally and over HTTP."""

from __future__ import annotations

import warnings

import pytest
from conftest import SHARED_DATA, SHARED_FILES
from test_tables import _assert_table_matches

import lazynwb_explorer as lazynwb

from pynwb_reference import open_nwb, reference_columns

assert SHARED_FILES, f"no shared data files found under {SHARED_DATA}"


def _tables_pynwb_reads(path) -> list[str]:
    """The DynamicTables pynwb itself finds in the file."""
    from hdmf.common import DynamicTable

    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_nwb(path) as nwbfile:
            for obj in nwbfile.all_children():
                if isinstance(obj, DynamicTable) and len(obj.id) > 0:
                    found.append(_path_of(obj))
    return [p for p in found if p]


def _path_of(obj) -> str:
    parts = []
    while obj is not None and obj.parent is not None:
        parts.append(obj.name)
        obj = obj.parent
    path = "/" + "/".join(reversed(parts))
    fixes = {"/trials": "/intervals/trials", "/epochs": "/intervals/epochs",
             "/electrodes": "/general/extracellular_ephys/electrodes",
             "/invalid_times": "/intervals/invalid_times"}
    return fixes.get(path, path)


@pytest.mark.parametrize("where", ["local", "http"])
@pytest.mark.parametrize("name", [f.relative_to(SHARED_DATA).as_posix() for f in SHARED_FILES])
def test_shared_file(served, locate, name: str, where: str) -> None:
    path = served / "shared" / name
    source = locate(path, where)
    paths = lazynwb.get_internal_paths(source)
    info = lazynwb.get_internal_path_info(source, include_metadata=True)
    assert set(paths) <= set(lazynwb.get_internal_paths(source, parents=True))
    for entry in info.values():
        assert {"is_group", "is_dataset", "shape", "attrs", "is_timeseries", "neurodata_type"} <= set(entry)
        assert all(v != "<vlen-string>" for v in entry["attrs"].values())  # real values
    for table_path in _tables_pynwb_reads(path):
        ours = lazynwb.get_df(
            source, table_path, exact_path=True, exclude_array_columns=False,
            as_polars=True, disable_progress=True,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = reference_columns(path, table_path)
        assert ours.height == len(reference["id"])
        _assert_table_matches(ours, reference, f"{name}{table_path}")


def test_real_sessions_have_their_tables() -> None:
    alm = SHARED_DATA / "real" / "sub_anm00239123_ses_20170627T093549_ecephys_and_ogen.nwb"
    phy = SHARED_DATA / "real" / "A8604-211122_phy.nwb"
    assert lazynwb.get_df(alm, "trials", as_polars=True).height == 412
    assert lazynwb.get_df(phy, "electrodes", as_polars=True).height == 383
    units = lazynwb.get_df(phy, "units", include_column_names=["spike_times"], as_polars=True)
    assert units["spike_times"].list.len().sum() > 0
