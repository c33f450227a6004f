"""get_metadata_df against pynwb on the session's HDF5 and Zarr files and every file in
../shared/data; column set and order; typing across old and new files; strings never
evaluated; concurrency keeps input order; errors name the file."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path
from typing import Any

import h5py
import pandas as pd
import polars as pl
import pytest
from conftest import SHARED_FILES, SHARED_SOURCES, is_nwb1

import lazynwb_explorer as lazynwb
from lazynwb_explorer import get_metadata_df
from lazynwb_explorer.catalog import store as catalog_store
from lazynwb_explorer.errors import UnsupportedFileError
from lazynwb_explorer.transport import counting

from pynwb_reference import LISTS, SESSION, SUBJECT, pynwb_reads, reference_metadata

# lazynwb 1.0's get_metadata_df columns, in its order
COLUMNS = [
    "identifier", "session_start_time", "session_id", "session_description",
    "experiment_description", "experimenter", "lab", "institution", "related_publications",
    "keywords", "notes", "data_collection", "surgery", "pharmacology", "virus", "source_script",
    "source_script_file_name", "age", "age__reference", "description", "genotype", "sex",
    "species", "subject_id", "weight", "strain", "date_of_birth", "_nwb_path",
]
ZARR_KINDS = ["rich_zarr", "rich_zarr_v3", "rich_zarr_v3_sharded", "rich_zarr_v3_unconsolidated"]


# Where NWB 2 keeps each field (the oracle for files pynwb cannot open, read with h5py)
_H5_FIELDS = {
    "identifier": "identifier", "session_start_time": "session_start_time",
    "session_description": "session_description", "date_of_birth": "general/subject/date_of_birth",
    **{n: f"general/{n}" for n in SESSION if n not in (
        "identifier", "session_start_time", "session_description", "source_script_file_name")},
    **{n: f"general/subject/{n}" for n in SUBJECT if n not in ("age__reference", "date_of_birth")},
}


def _h5py_metadata(path: Path) -> dict[str, Any]:
    """Each field as h5py reads it: text decoded (MatNWB's one-element arrays unwrapped),
    list fields as lists, times parsed as ISO 8601 (naive ones in local time, as pynwb)."""
    out: dict[str, Any] = {n: None for n in SESSION + SUBJECT}
    out["keywords"] = []
    with h5py.File(path, "r") as f:
        for name, where in _H5_FIELDS.items():
            if where not in f:
                continue
            raw = f[where][()]
            values = [v.decode() if isinstance(v, bytes) else v
                      for v in (raw.reshape(-1).tolist() if hasattr(raw, "reshape") else [raw])]
            if name in LISTS:
                out[name] = [str(v) for v in values]
            elif name in ("session_start_time", "date_of_birth"):
                value = datetime.datetime.fromisoformat(values[0])
                out[name] = value if value.tzinfo else value.astimezone()
            else:
                out[name] = values[0] if len(values) == 1 else values
    return out


def _none(value: Any) -> Any:
    """pandas shows a missing string as NaN / NA: compare it as None."""
    if value is pd.NaT or (isinstance(value, float | type(pd.NA)) and pd.isna(value)):
        return None
    return value


@pytest.fixture(scope="module")
def all_files(request) -> list[Path]:
    return [Path(request.getfixturevalue("rich_hdf5")),
            *(Path(request.getfixturevalue(kind)) for kind in ZARR_KINDS),
            *(p for p in SHARED_SOURCES if not is_nwb1(p))]


def test_values_equal_pynwb(all_files: list[Path]) -> None:
    df = get_metadata_df(all_files, disable_progress=True)
    assert list(df.columns) == COLUMNS
    assert df["_nwb_path"].tolist() == [str(p) for p in all_files]  # input order kept
    _assert_rows_equal_the_oracle(df, all_files)


@pytest.mark.parametrize("where", ["http", "s3"])
def test_remote_zarr_values_equal_pynwb(request, locate, where: str) -> None:
    """Every Zarr kind over HTTP (the unconsolidated store through the server's directory
    index) and S3 gives what pynwb reads from the store."""
    paths = [Path(request.getfixturevalue(kind)) for kind in ZARR_KINDS]
    urls = [locate(p, "http-index" if where == "http" and "unconsolidated" in p.name else where)
            for p in paths]
    df = get_metadata_df(urls, disable_progress=True)
    assert df["_nwb_path"].tolist() == urls
    _assert_rows_equal_the_oracle(df, paths)


def _assert_rows_equal_the_oracle(df: pd.DataFrame, paths: list[Path]) -> None:
    for row, path in zip(df.to_dict("records"), paths):
        expected = reference_metadata(path) if pynwb_reads(path) else _h5py_metadata(path)
        for name in SESSION + SUBJECT:
            ours, theirs = _none(row[name]), expected[name]
            if isinstance(theirs, datetime.datetime):
                assert ours.tzinfo is not None, (path.name, name)
                assert ours == theirs, (path.name, name, ours, theirs)
            else:
                assert ours == theirs, (path.name, name, ours, theirs)


def test_an_nwb1_file_among_many_fails_naming_it(rich_hdf5: Path, tmp_path: Path) -> None:
    """One NWB 1.x file in a list of 20: the call fails, naming that file (not another one,
    and not as 'not an NWB file')."""
    old = next(p for p in SHARED_FILES if is_nwb1(p))
    files = [shutil.copyfile(rich_hdf5, tmp_path / f"s{i:02d}.nwb") for i in range(19)]
    files.insert(13, old)
    with pytest.raises(UnsupportedFileError, match="NWB 1.x is not supported") as info:
        get_metadata_df(files, disable_progress=True)
    assert str(old) in str(info.value)
    assert not any(str(p) in str(info.value) for p in files if p != old)


def test_polars_types_are_uniform_across_old_and_new_files(all_files: list[Path]) -> None:
    df = get_metadata_df(all_files, disable_progress=True, as_polars=True)
    assert df.columns == COLUMNS and df.height == len(all_files)
    assert df.schema["session_start_time"] == pl.Datetime("us", "UTC")
    assert df.schema["date_of_birth"] == pl.Datetime("us", "UTC")
    for name in LISTS:
        assert df.schema[name] == pl.List(pl.String), name
    # a file storing one experimenter as a string and one storing a list: both lists
    experimenters = dict(zip((p.name for p in all_files), df["experimenter"].to_list()))
    assert experimenters["1.0.2_str_experimenter.nwb"] == ["one experimenter"]
    assert experimenters["rich.nwb"] == ["Doe, Jane", "Roe, Richard"]
    assert experimenters["rich_v3.nwb.zarr"] == ["Doe, Jane", "Roe, Richard"]
    pandas_df = get_metadata_df(all_files, disable_progress=True, as_polars=False)
    for ours, theirs in zip(df["session_start_time"].to_list(), pandas_df["session_start_time"]):
        assert ours == theirs


def test_config_use_polars_decides_by_default(rich_hdf5: Path) -> None:
    old = lazynwb.config.use_polars
    try:
        lazynwb.config.use_polars = True
        assert isinstance(get_metadata_df(rich_hdf5, disable_progress=True), pl.DataFrame)
    finally:
        lazynwb.config.use_polars = old


def _with_general_dataset(src: Path, dst: Path, name: str, value: str) -> Path:
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        if name in f:
            del f[name]
        f.create_dataset(name, data=value, dtype=h5py.string_dtype())
    return dst


def test_strings_are_data_never_code(rich_hdf5: Path, tmp_path: Path) -> None:
    marker = tmp_path / "evaluated"
    payload = f"[__import__('pathlib').Path({str(marker)!r}).touch()]"
    path = _with_general_dataset(rich_hdf5, tmp_path / "evil.nwb", "/general/experimenter", payload)
    _with_general_dataset(path, path.with_suffix(".tmp"), "/general/lab", payload)
    shutil.move(path.with_suffix(".tmp"), path)
    row = get_metadata_df(path, disable_progress=True, as_polars=True).row(0, named=True)
    assert row["experimenter"] == [payload]
    assert row["lab"] == payload
    assert not marker.exists()


def test_naive_session_start_time_is_local_like_pynwb(rich_hdf5: Path, tmp_path: Path) -> None:
    path = _with_general_dataset(rich_hdf5, tmp_path / "naive.nwb", "/session_start_time",
                                 "2021-03-04T05:06:07")
    ours = get_metadata_df(path, disable_progress=True).loc[0, "session_start_time"]
    assert ours.tzinfo is not None
    assert ours == datetime.datetime(2021, 3, 4, 5, 6, 7).astimezone()


def test_remote_equals_local(rich_hdf5: Path, locate) -> None:
    local = get_metadata_df(rich_hdf5, disable_progress=True, as_polars=True)
    remote = get_metadata_df(locate(rich_hdf5, "http"), disable_progress=True, as_polars=True)
    assert remote.drop("_nwb_path").equals(local.drop("_nwb_path"))


def test_progress_bar_counts_files_and_bytes(sessions, locate, capsys) -> None:
    """Over many remote files the bar shows the files done and the megabytes read so far;
    once all are done, the bytes are what the transport counted for the call."""
    urls = [locate(s, "http") for s in sessions]
    lazynwb.clear_cache()
    catalog_store.clear()
    with counting() as transferred:
        get_metadata_df(urls, disable_progress=False)
    err = capsys.readouterr().err
    assert transferred.bytes > 0
    assert f"{len(urls)}/{len(urls)}" in err
    assert f"{transferred.bytes / 1e6:,.1f} MB read" in err


def test_progress_bar_and_errors_name_the_file(sessions, tmp_path: Path, capsys) -> None:
    get_metadata_df(sessions, disable_progress=False)
    assert "Getting metadata" in capsys.readouterr().err
    bad = tmp_path / "not_nwb.nwb"
    bad.write_text("hello")
    with pytest.raises(lazynwb.LazyNWBError, match="not_nwb.nwb"):
        get_metadata_df([*sessions, bad], disable_progress=True)
