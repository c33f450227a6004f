"""LazyNWB / Subject attributes (lazynwb's set) against pynwb, escaped HTML, and `get`
(DataFrame for tables, TimeSeries for series, a series' DataFrame with as_df=True)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import polars as pl
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.api.get import get
from lazynwb_explorer.api.lazy_nwb import LazyNWB, Subject
from lazynwb_explorer.nwb.timeseries import TimeSeries

try:
    from tests.conftest import SHARED_NWB2_FILES
    from tests.pynwb_reference import open_nwb
except ImportError:  # pragma: no cover - tests/ on sys.path
    from conftest import SHARED_NWB2_FILES

    from pynwb_reference import open_nwb

SESSION_ATTRS = ["identifier", "session_start_time", "session_id", "session_description",
                 "experiment_description", "lab", "institution", "notes", "surgery",
                 "pharmacology", "data_collection", "virus"]
SUBJECT_ATTRS = ["age", "age__reference", "description", "genotype", "sex", "species",
                 "subject_id", "weight", "strain", "date_of_birth"]


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
def test_attributes_equal_pynwb(request, kind: str) -> None:
    path = request.getfixturevalue(kind)
    nwb = LazyNWB(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_nwb(path) as ref:
            for name in SESSION_ATTRS:
                assert getattr(nwb, name) == getattr(ref, name), name
            assert nwb.experimenter == list(ref.experimenter)
            assert nwb.related_publications == list(ref.related_publications)
            assert nwb.keywords == [str(k) for k in ref.keywords[:]]
            assert isinstance(nwb.subject, Subject)
            for name in SUBJECT_ATTRS:
                assert getattr(nwb.subject, name) == getattr(ref.subject, name), name
            n_units, n_trials = len(ref.units), len(ref.trials)
            n_epochs, n_electrodes = len(ref.epochs), len(ref.electrodes)
            raw = np.asarray(ref.acquisition["raw_data"].data[:])
    assert len(nwb.units) == n_units and "spike_times" not in nwb.units.columns
    assert "obs_intervals" in nwb.units.columns  # merged back, as lazynwb does
    assert len(nwb.trials) == n_trials and len(nwb.epochs) == n_epochs
    assert len(nwb.electrodes) == n_electrodes
    np.testing.assert_array_equal(nwb.get_timeseries("raw_data").data[:], raw)
    df = nwb.get_df("units", as_polars=True)
    assert isinstance(df, pl.DataFrame) and df.height == n_units
    info = nwb.describe()
    assert info["identifier"] == nwb.identifier and info["subject_id"] == nwb.subject.subject_id
    assert "/units" in info["paths"] and "/acquisition/raw_data" in info["paths"]
    assert repr(nwb) == f"LazyNWB({str(path)!r})"


def test_shared_files_without_subject_or_fields() -> None:
    for path in SHARED_NWB2_FILES:
        nwb = LazyNWB(path)
        assert nwb.session_start_time.tzinfo is not None
        assert isinstance(nwb.keywords, list)
        nwb.subject.age  # noqa: B018 - None or a value, never an error
        assert "<li>" in nwb._repr_html_()


def test_repr_html_escapes_file_contents(rich_hdf5: Path, tmp_path: Path) -> None:
    path = tmp_path / "html.nwb"
    shutil.copyfile(rich_hdf5, path)
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    with h5py.File(path, "r+") as f:
        del f["/session_description"]
        f.create_dataset("/session_description", data=evil, dtype=h5py.string_dtype())
        del f["/general/subject/species"]
        f.create_dataset("/general/subject/species", data=evil, dtype=h5py.string_dtype())
    html = LazyNWB(path)._repr_html_()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert html.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") == 2


def test_get_returns_the_right_kind(rich_hdf5: Path, rich_zarr: Path) -> None:
    units = get(rich_hdf5, "units", disable_progress=True)
    assert isinstance(units, pd.DataFrame)
    pd.testing.assert_frame_equal(units, lazynwb.get_df(rich_hdf5, "units", disable_progress=True))
    series = get(rich_hdf5, "lick_sensor")
    assert isinstance(series, TimeSeries) and series._table_path == "/acquisition/lick_sensor"
    assert isinstance(get(rich_hdf5, "/acquisition/running_speed", exact_path=True), TimeSeries)
    with pytest.raises(ValueError, match="single NWB source"):
        get([rich_hdf5, rich_zarr], "lick_sensor")
    with pytest.raises(ValueError):
        get([], "units")


def test_get_series_as_df_equals_pynwb(rich_hdf5: Path, rich_zarr: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_nwb(rich_hdf5) as ref:
            lick = ref.acquisition["lick_sensor"]
            data, times = np.asarray(lick.data[:]), np.asarray(lick.get_timestamps())
            running = ref.acquisition["running_speed"]
            r_data, r_times = np.asarray(running.data[:]), np.asarray(running.timestamps[:])
    df = get(rich_hdf5, "lick_sensor", as_df=True, as_polars=True, disable_progress=True)
    assert df.columns == ["data", "timestamps", "_nwb_path", "_table_path", "_table_index"]
    np.testing.assert_array_equal(df["data"].to_numpy(), data)
    np.testing.assert_array_equal(df["timestamps"].to_numpy(), times)
    assert df["_table_path"].unique().to_list() == ["acquisition/lick_sensor"]
    both = get([rich_hdf5, rich_zarr], "running_speed", as_df=True, disable_progress=True)
    assert isinstance(both, pd.DataFrame) and len(both) == 2 * len(r_data)
    np.testing.assert_array_equal(both["timestamps"].to_numpy(), np.concatenate([r_times, r_times]))
    np.testing.assert_array_equal(both["data"].to_numpy(), np.concatenate([r_data, r_data]))
    assert both["_nwb_path"].unique().tolist() == [str(rich_hdf5), str(rich_zarr)]
    raw = get(rich_hdf5, "raw_data", as_df=True, as_polars=True, disable_progress=True)
    assert "data" not in raw.columns  # 2-D data is an array column: excluded by default
    raw = get(rich_hdf5, "raw_data", as_df=True, as_polars=True, disable_progress=True,
              exclude_array_columns=False, include_column_names=["data"])
    assert raw.schema["data"] == pl.Array(pl.Int16, 16) and "timestamps" not in raw.columns
