"""`get_df(f, "/general")` (and "session", and scan_nwb) is ONE row of the session's fields,
as lazynwb 1.0 returns it: /general's datasets, the root's session datasets and
/general/metadata's, a list of strings (keywords, experimenter) one list in that row. It
used to be 2 rows of experimenter (HDF5) or an empty frame (Zarr). Checked against lazynwb
itself for HDF5 and against zarr's own values for Zarr."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import zarr
from conftest import SHARED_DATA

import lazynwb_explorer as lazynwb

import nwb_factory as nf

HDF5_SESSIONS = [
    SHARED_DATA / "real" / "sub_anm00239123_ses_20170627T093549_ecephys_and_ogen.nwb",
    SHARED_DATA / "real" / "A8604-211122_phy.nwb",
    SHARED_DATA / "pynwb_back_compat" / "1.0.2_str_experimenter.nwb",
    SHARED_DATA / "other_writers" / "matnwb__ecephys_tutorial.nwb",
]
INTERNAL = ["_nwb_path", "_table_path", "_table_index"]


def _ours(path: Path, term: str) -> list[pl.DataFrame]:
    return [
        lazynwb.get_df(path, term, as_polars=True, disable_progress=True),
        lazynwb.scan_nwb(path, term, disable_progress=True).collect(),
    ]


@pytest.mark.parametrize("path", [*HDF5_SESSIONS, "rich_hdf5"], ids=lambda p: Path(p).name)
def test_general_is_one_row_as_lazynwb_reads_it(request, path) -> None:
    import lazynwb as reference

    path = Path(request.getfixturevalue(path) if path == "rich_hdf5" else path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = reference.get_df(path, "/general", as_polars=True, disable_progress=True)
    assert theirs.height == 1
    for term in ("/general", "general", "session"):
        for ours in _ours(path, term):
            assert ours.height == 1, term
            assert set(ours.columns) == set(theirs.columns), term
            for name in theirs.columns:
                if name == "_table_index":
                    assert ours[name].to_list() == [0]
                    continue
                assert ours[name].to_list() == theirs[name].to_list(), (term, name)


def _zarr_fields(path: Path) -> dict[str, Any]:
    """What the store holds: hdmf-zarr marks a scalar (shape (1,)) with zarr_dtype."""
    root = zarr.open_group(str(path), mode="r")
    out = {}
    arrays = [(n, a) for n, a in root["general"].arrays()]
    arrays += [(n, root[n]) for n in ("session_start_time", "session_description", "identifier",
                                      "timestamps_reference_time", "file_create_date") if n in root]
    for name, array in arrays:
        values = [v.decode() if isinstance(v, bytes) else v
                  for v in np.asarray(array[()]).reshape(-1).tolist()]
        out[name] = values[0] if array.attrs.get("zarr_dtype") == "scalar" else values
    return out


@pytest.mark.parametrize("path", ["rich_zarr", SHARED_DATA / "other_writers"
                                  / "hdmfzarr__ecephys_tutorial.nwb.zarr"], ids=str)
def test_general_is_one_row_in_zarr_too(request, path) -> None:
    path = Path(request.getfixturevalue(path) if path == "rich_zarr" else path)
    expected = _zarr_fields(path)
    for term in ("/general", "session"):
        for ours in _ours(path, term):
            assert ours.height == 1
            assert set(ours.columns) - set(INTERNAL) == set(expected)
            for name, value in expected.items():
                assert ours[name].to_list() == [value], (term, name)


def test_lists_stay_one_row_and_files_stack(tmp_path, rich_hdf5, rich_zarr) -> None:
    """The same session written to HDF5 and Zarr gives the same row (dates aside)."""
    df = lazynwb.get_df([rich_hdf5, rich_zarr], "session", as_polars=True, disable_progress=True)
    assert df.height == 2 and df["_table_index"].to_list() == [0, 0]
    assert df.schema["keywords"] == pl.List(pl.String)
    assert df["keywords"][0].to_list() == df["keywords"][1].to_list()
    assert len(df["experimenter"][0]) == len(nf.make_rich_nwbfile().experimenter) > 1
    same = [c for c in df.columns if c not in (*INTERNAL, "file_create_date")]
    assert df[0].select(same).to_dicts() == df[1].select(same).to_dicts()
