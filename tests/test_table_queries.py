"""Ordinary queries that used to crash or mislead (issue 11): a filter naming a column twice
(any time window), a table no file has, a group that is not a table, rows asked for in an
order of the caller's choosing. Each answer is checked against pynwb's own table."""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl
import pytest
from conftest import SHARED_DATA
from test_widgets_kernel import arrow, ask

import lazynwb_explorer as lazynwb
from lazynwb_explorer.errors import InternalPathError

from pynwb_reference import reference_columns

POLARS_2 = int(pl.__version__.split(".")[0]) >= 2


def _pynwb_frame(path: Path, table_path: str, names: list[str]) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        columns = reference_columns(path, table_path)
    return pl.DataFrame({n: columns[n] for n in names})


WINDOWS = [
    (pl.col("start_time") > 10) & (pl.col("start_time") < 40),
    pl.col("start_time").is_between(5, 30) & (pl.col("stop_time") < 25),
    (pl.col("response") == "left") | (pl.col("response") == "no_go"),
    ~((pl.col("start_time") < 5) | (pl.col("start_time") > 50)) & (pl.col("start_time") != 20.0),
]


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
@pytest.mark.parametrize("which", range(len(WINDOWS)))
def test_a_filter_naming_a_column_twice(request, kind: str, which: int) -> None:
    """Any time window names its column twice: it used to raise DuplicateError."""
    path = request.getfixturevalue(kind)
    predicate = WINDOWS[which]
    names = ["start_time", "stop_time", "response"]
    expected = _pynwb_frame(path, "/intervals/trials", ["id", *names]).filter(predicate)
    assert 0 < expected.height < 40  # the window keeps some rows, not all
    for select in (names, ["id"], ["stop_time"]):
        ours = (lazynwb.scan_nwb(path, "/intervals/trials", disable_progress=True)
                .filter(predicate).select(select).collect())
        assert ours.to_dicts() == expected.select(select).to_dicts()


def test_a_window_over_several_files_and_in_the_grid(sessions) -> None:
    predicate = (pl.col("start_time") > 10) & (pl.col("start_time") < 40)
    expected = pl.concat([
        _pynwb_frame(p, "/intervals/trials", ["start_time"]).filter(predicate)
        .with_columns(pl.lit(str(p)).alias("_nwb_path")) for p in sessions
    ])
    ours = (lazynwb.scan_nwb(sessions, "/intervals/trials", disable_progress=True)
            .filter(predicate).select("start_time", "_nwb_path").collect())
    assert ours.to_dicts() == expected.to_dicts()
    from lazynwb_explorer.widgets import TableGrid

    grid = TableGrid(sessions, "/intervals/trials")  # two grid filters on one column
    filters = [{"column": "start_time", "op": ">", "value": "10"},
               {"column": "start_time", "op": "<", "value": "40"}]
    info, _ = ask(grid, "info", filters=filters)
    assert info["total"] == expected.height and not info.get("file_errors")
    _, buffers = ask(grid, "page", 2, offset=0, limit=100, filters=filters)
    assert arrow(buffers)["start_time"].to_list() == expected["start_time"].to_list()


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
def test_a_table_no_file_has_is_an_error_naming_it(request, kind: str, sessions) -> None:
    path = request.getfixturevalue(kind)
    scans = [
        lambda: lazynwb.scan_nwb(path, "/intervals/no_such_table").collect(),
        lambda: lazynwb.scan_nwb(sessions, "/intervals/no_such_table").collect(),
        lambda: lazynwb.read_nwb([path, *sessions], "/intervals/no_such_table"),
        lambda: lazynwb.get_table_schema(path, "/intervals/no_such_table"),
    ]
    for scan in scans:
        with pytest.raises(InternalPathError, match="no_such_table") as info:
            scan()
        assert isinstance(info.value, KeyError)
    # with a schema given, files are first opened inside collect(): polars 1.x hands an
    # error raised there back as its own ComputeError (with our message), polars 2 as ours
    inside = InternalPathError if POLARS_2 else (InternalPathError, pl.exceptions.ComputeError)
    with pytest.raises(inside, match="InternalPathError|not found") as info:
        lazynwb.scan_nwb(path, "/intervals/no_such_table", schema={"start_time": pl.Float64}).collect()
    assert "/intervals/no_such_table" in str(info.value) and str(path) in str(info.value)
    # get_df may take part of a path, but never a different table silently
    with pytest.warns(UserWarning, match="closest spelling"):
        lazynwb.get_df(path, "/intervals/trails", disable_progress=True)
    with pytest.raises(InternalPathError, match="xyz_nothing_like_it"):
        lazynwb.get_df(path, "xyz_nothing_like_it", disable_progress=True)


NOT_TABLES = [
    ("rich_hdf5", "/general/devices/probeA", "Device"),
    ("rich_hdf5", "/processing/behavior", "ProcessingModule"),
    ("rich_zarr", "/general/devices/probeA", "Device"),
    ("ophys", "/general/optophysiology/ImagingPlane", "ImagingPlane"),
]


@pytest.mark.parametrize(("kind", "group", "what"), NOT_TABLES)
def test_a_group_that_is_not_a_table_is_an_error(request, kind: str, group: str, what: str) -> None:
    path = (SHARED_DATA / "other_writers" / "neuroconv__ophys_nwb_test.nwb" if kind == "ophys"
            else request.getfixturevalue(kind))
    for call in (
        lambda: lazynwb.get_df(path, group, exact_path=True, disable_progress=True),
        lambda: lazynwb.scan_nwb(path, group).collect(),
    ):
        with pytest.raises(InternalPathError, match=f"not a table: a {what} group") as info:
            call()
        assert str(path) in str(info.value) and group in str(info.value)


@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
def test_rows_come_in_the_order_asked_repeats_kept(request, kind: str) -> None:
    path = request.getfixturevalue(kind)
    asked = [7, 2, 0, 2, 49]
    reference = _pynwb_frame(path, "/units", ["id", "location", "spike_times"])
    expected = reference[asked]
    df = lazynwb.get_df(path, "/units", nwb_path_to_row_indices={str(path): asked},
                        exclude_array_columns=False, as_polars=True, disable_progress=True)
    assert df["_table_index"].to_list() == asked
    assert df.select(expected.columns).to_dicts() == expected.to_dicts()
    # merge_array_column keeps the frame's order too
    merged = lazynwb.merge_array_column(df.drop("spike_times"), "spike_times")
    assert merged["spike_times"].to_list() == expected["spike_times"].to_list()
    with pytest.raises(KeyError, match="out of range"):
        lazynwb.get_df(path, "/units", nwb_path_to_row_indices={str(path): [0, 50]})


def test_rows_asked_of_several_files(rich_hdf5, rich_zarr) -> None:
    """Files in source order, each file's rows in the order asked for it."""
    rows = {str(rich_zarr): [4, 4, 1], str(rich_hdf5): [9, 3]}
    df = lazynwb.get_df([rich_hdf5, rich_zarr], "/intervals/trials", nwb_path_to_row_indices=rows,
                        as_polars=True, disable_progress=True)
    assert df["_table_index"].to_list() == [9, 3, 4, 4, 1]
    assert df["_nwb_path"].to_list() == [str(rich_hdf5)] * 2 + [str(rich_zarr)] * 3
