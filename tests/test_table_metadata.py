"""get_table_column_metadata, get_table_length_from_metadata, get_table_schema_from_metadata:
shapes, dtypes and storage as h5py / zarr report them, lazynwb's naming rules, lengths and
schemas as the tables really are, from HDF5 and Zarr files, locally and over HTTP; the
same facts as lazynwb 1.0 where it is installed."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pytest
import zarr

import lazynwb_explorer as lazynwb

# facts lazynwb reads from open h5py / zarr objects that our catalog does not keep
NOT_IN_CATALOG = {"maxshape", "compression_opts", "fill_value"}


def _storage(path: Path, internal: str) -> dict[str, tuple]:
    """name -> (shape, dtype, chunks) of each dataset in a group, read directly."""
    if path.is_dir():
        group = zarr.open_group(str(path), mode="r")[internal.lstrip("/")]
        return {n: (a.shape, a.dtype, a.chunks) for n, a in group.arrays()}
    with h5py.File(path, "r") as file:
        return {
            n: (d.shape, d.dtype, d.chunks)
            for n, d in file[internal].items() if isinstance(d, h5py.Dataset)
        }


@pytest.mark.parametrize("where", ["local", "http"])
@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
def test_units_columns(request, locate, kind: str, where: str) -> None:
    path = request.getfixturevalue(kind)
    source = locate(path, where)
    columns = {c.name: c for c in lazynwb.get_table_column_metadata(source, "/units")}
    storage = _storage(path, "/units")
    assert set(columns) == set(storage)
    for name, (shape, dtype, chunks) in storage.items():
        column = columns[name]
        assert (column.shape, column.ndim, column.chunks) == (shape, len(shape), chunks), name
        if dtype.kind not in "OSU":  # strings and references are object in the catalog
            assert column.dtype == dtype, name
        assert column.table_path == "units" and column.source_path == source
        assert column.backend == ("zarr" if kind == "rich_zarr" else "hdf5")
        assert column.is_dataset and not column.is_group and not column.is_metadata_table
    spikes, index = columns["spike_times"], columns["spike_times_index"]
    assert spikes.is_nominally_indexed and not spikes.is_index_column
    assert (spikes.index_column_name, spikes.data_column_name) == ("spike_times_index", "spike_times")
    assert index.is_index_column and index.row_element_shape is None
    assert index.data_column_name == "spike_times"
    waveform = columns["waveform_mean"]
    assert waveform.is_multidimensional and waveform.row_element_shape == waveform.shape[1:]
    assert columns["unit_id"].row_element_shape == ()
    assert "shape" in waveform.read_capabilities and "children" not in waveform.read_capabilities
    assert columns["spike_times"].attrs["description"] == "the spike times for each unit in seconds"
    assert lazynwb.get_table_length_from_metadata(columns.values()) == storage["id"][0][0]


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
def test_lengths_and_kinds(request, kind: str) -> None:
    source = request.getfixturevalue(kind)

    def length(table: str) -> int:
        return lazynwb.get_table_length_from_metadata(
            lazynwb.get_table_column_metadata(source, table)
        )

    trials = lazynwb.get_df(source, "trials", as_polars=True, disable_progress=True)
    assert length("trials") == trials.height == length("/intervals/trials")
    general = lazynwb.get_table_column_metadata(source, "session")
    assert {c.table_path for c in general} == {"general"}
    assert all(c.is_metadata_table and c.is_dataset for c in general)
    assert {"session_start_time", "identifier", "session_id"} <= {c.name for c in general}
    assert length("general") == 1
    running = lazynwb.get_table_column_metadata(source, "/acquisition/running_speed")
    assert all(c.is_timeseries and not c.is_timeseries_with_rate for c in running)
    data = next(c for c in running if c.name == "data")
    assert length("/acquisition/running_speed") == data.shape[0]
    lick = lazynwb.get_table_column_metadata(source, "/acquisition/lick_sensor")
    assert all(c.is_timeseries_with_rate for c in lick)
    # a rate-based series: timestamps computed from starting_time and rate, as in lazynwb
    assert dict(lazynwb.get_table_schema_from_metadata(lick)) == {
        "data": pl.UInt8, "timestamps": pl.Float64}


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
@pytest.mark.parametrize("table", ["/units", "trials", "electrodes"])
def test_schema_from_metadata_is_the_tables_schema(request, kind: str, table: str) -> None:
    source = request.getfixturevalue(kind)
    columns = lazynwb.get_table_column_metadata(source, table)
    expected = lazynwb.get_table_schema(source, table, exclude_internal_columns=True)
    assert dict(lazynwb.get_table_schema_from_metadata(columns)) == dict(expected)


def test_references_and_errors(rich_hdf5) -> None:
    epochs = {c.name for c in lazynwb.get_table_column_metadata(rich_hdf5, "epochs")}
    assert "start_time" in epochs and not {"timeseries", "timeseries_index"} & epochs
    with pytest.raises(NotImplementedError):
        lazynwb.get_table_column_metadata(rich_hdf5, "epochs", skip_references=False)
    with pytest.raises(lazynwb.InternalPathError, match="rich.nwb") as info:
        lazynwb.get_table_column_metadata(rich_hdf5, "/intervals/nothing")
    assert isinstance(info.value, KeyError)
    with pytest.raises(lazynwb.InternalPathError, match="not a group"):
        lazynwb.get_table_column_metadata(rich_hdf5, "/units/spike_times")
    with pytest.raises(lazynwb.InternalPathError, match="length"):
        lazynwb.get_table_length_from_metadata([])


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
def test_equal_lazynwb(request, kind: str) -> None:
    """Every field lazynwb 1.0 fills the same way (attrs differ only in references, filters
    in compression options the catalog does not keep)."""
    reference = pytest.importorskip("lazynwb", exc_type=ImportError)
    source = str(request.getfixturevalue(kind))
    fields = set(lazynwb.RawTableColumnMetadata.__dataclass_fields__)
    assert fields == set(reference.RawTableColumnMetadata.__dataclass_fields__) - {"_accessor"}
    compared = fields - NOT_IN_CATALOG - {"attrs", "source_path", "filters", "dtype"}
    for table in ["/units", "trials", "general", "electrodes", "/general/subject",
                  "/acquisition/running_speed", "/acquisition/lick_sensor"]:
        theirs = {c.name: c for c in reference.get_table_column_metadata(source, table)}
        ours = {c.name: c for c in lazynwb.get_table_column_metadata(source, table)}
        assert set(ours) == set(theirs), table
        for name, column in theirs.items():
            for field in compared:
                assert getattr(ours[name], field) == getattr(column, field), (table, name, field)
            if column.dtype is not None:
                assert np.dtype(ours[name].dtype) == np.dtype(column.dtype), (table, name)
        assert lazynwb.get_table_length_from_metadata(ours.values()) == (
            reference.get_table_length_from_metadata(theirs.values()))
        assert dict(lazynwb.get_table_schema_from_metadata(ours.values())) == dict(
            reference.get_table_schema_from_metadata(theirs.values()))
