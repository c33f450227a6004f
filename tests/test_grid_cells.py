"""The grid's cells and queries, against get_df and numpy: full precision in previews, a cell
read in full, region cells that lead to the rows they reference, NaN and nulls last whichever
way a column is sorted, and a bad filter reported once and left out (the others still apply)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import SHARED_DATA
from hdmf.common import DynamicTable
from pynwb import NWBHDF5IO, NWBFile

import lazynwb_explorer as lazynwb
from lazynwb_explorer.widgets import TableGrid

import nwb_factory as nf

ALM = SHARED_DATA / "real" / "sub_anm00239123_ses_20170627T093549_ecephys_and_ogen.nwb"


def ask(widget, kind: str, gen: int = 1, **params):
    reply, buffers = widget.handle_message({"type": kind, "gen": gen, **params}, [])
    assert reply["type"] == kind, reply
    return reply, buffers


def page(grid, **params) -> pl.DataFrame:
    _, buffers = ask(grid, "page", offset=0, limit=100, **params)
    return pl.read_ipc(io.BytesIO(buffers[0]))


@pytest.fixture(scope="module")
def nan_table(tmp_path_factory) -> Path:
    """A table whose float column holds NaN among numbers (as NWB files do for 'no value')."""
    path = tmp_path_factory.mktemp("nan") / "nan.nwb"
    f = NWBFile(session_description="nan", identifier="nan", session_start_time=nf.SESSION_START_TIME)
    table = DynamicTable(name="scores", description="scores with gaps")
    table.add_column(name="score", description="NaN = not scored")
    table.add_column(name="label", description="text")
    for i, score in enumerate([0.5, np.nan, 2.25, -1.0, np.nan, 7.0, 0.5]):
        table.add_row(score=score, label=f"row{i}")
    f.add_acquisition(table)
    with NWBHDF5IO(str(path), "w") as io_:
        io_.write(f)
    return path


def test_previews_and_cells_keep_full_precision() -> None:
    grid = TableGrid(ALM, "/units")
    expected = lazynwb.get_df(ALM, "/units", exclude_array_columns=False, as_polars=True)
    rows = page(grid)
    for text, spikes in zip(rows["spike_times"], expected["spike_times"]):
        count, values = text.split("] ", 1)
        shown = [float(v) for v in values.rstrip(", …").split(", ")]
        assert count == f"[{len(spikes)}" and shown == spikes[: len(shown)].to_list()
    assert rows["spike_times"][0].startswith("[") and "1498.9235985800588, 1498.9551565982365" in rows["spike_times"][0]
    # one cell in full: every value, as text and as float64 (for the sparkline / histogram)
    reply, buffers = ask(grid, "cell", 2, offset=3, column="spike_times")
    truth = expected["spike_times"][3].to_numpy()
    assert reply["total"] == len(truth) and not reply["cut"] and reply["sorted"]
    np.testing.assert_array_equal(np.frombuffer(buffers[0]), truth)
    assert [float(v) for v in reply["text"].split(", ")] == truth.tolist()
    reply, buffers = ask(grid, "cell", 3, offset=1, column="waveform_mean")
    wave = np.asarray(expected["waveform_mean"][1].to_list())
    assert reply["shape"] == list(wave.shape) and reply["total"] == wave.size
    np.testing.assert_array_equal(np.frombuffer(buffers[0]), wave.reshape(-1))


@pytest.mark.skipif(not nf.SUPPORTS_INDEX_2, reason="needs doubly ragged columns")
def test_a_doubly_ragged_cell_in_full(rich_hdf5) -> None:
    grid = TableGrid(rich_hdf5, "/units")
    expected = lazynwb.get_df(rich_hdf5, "/units", exclude_array_columns=False, as_polars=True)
    reply, buffers = ask(grid, "cell", offset=4, column="spike_amplitudes_by_epoch")
    lists = expected["spike_amplitudes_by_epoch"][4].to_list()
    assert reply["lengths"] == [len(x) for x in lists]
    np.testing.assert_array_equal(np.frombuffer(buffers[0]), np.concatenate(lists))


@pytest.mark.parametrize("source", [ALM, "rich"])
def test_a_region_cell_leads_to_the_rows_it_references(source, rich_hdf5) -> None:
    path = rich_hdf5 if source == "rich" else source
    grid = TableGrid(path, "/units")
    info, _ = ask(grid, "info")
    target = "/general/extracellular_ephys/electrodes"
    assert {c["name"]: c["target"] for c in info["columns"]}["electrodes"] == target
    units = lazynwb.get_df(path, "/units", exclude_array_columns=False, as_polars=True)
    referenced = sorted(set(units["electrodes"][2].to_list()))
    reply, _ = ask(grid, "follow", 2, offset=2, column="electrodes")
    assert reply["table_path"] == target and reply["rows"] == referenced
    assert grid.table_path == target and grid.sort == []
    assert grid.filters == [{"column": "_table_index", "op": "in", "value": str(referenced)}]
    info, _ = ask(grid, "info", 3)
    assert info["total"] == len(referenced) and not info["filter_errors"]
    electrodes = lazynwb.get_df(path, target, as_polars=True)
    shown = page(grid)
    assert shown["_table_index"].to_list() == referenced
    assert shown["id"].to_list() == electrodes["id"].gather(referenced).to_list()
    assert grid.lazyframe().collect()["_table_index"].to_list() == referenced
    reply, _ = grid.handle_message({"type": "follow", "gen": 4, "offset": 0, "column": "id"})
    assert reply["type"] == "error" and "does not point into another table" in reply["message"]


@pytest.mark.parametrize("descending", [False, True])
def test_nan_sorts_last_in_both_directions(nan_table, descending) -> None:
    grid = TableGrid(nan_table, "/acquisition/scores")
    sort = [{"column": "score", "descending": descending}]
    scores = page(grid, sort=sort)["score"].to_list()
    numbers = sorted([0.5, 2.25, -1.0, 7.0, 0.5], reverse=descending)
    assert scores[:5] == numbers and all(np.isnan(s) for s in scores[5:])
    grid.sort = sort
    assert grid.lazyframe().collect()["score"].to_list()[:5] == numbers
    # the order among equal values is the file's (stable sort)
    labels = page(grid, sort=sort)["label"].to_list()
    assert labels.index("row0") < labels.index("row6")


def test_a_bad_filter_is_reported_once_and_left_out(rich_hdf5) -> None:
    grid = TableGrid(rich_hdf5, "/units")
    filters = [{"column": "is_good", "op": "==", "value": "true"},
               {"column": "presence_ratio", "op": ">", "value": "abc"},
               {"column": "nope", "op": "==", "value": "1"}]
    info, _ = ask(grid, "info", filters=filters)
    good = lazynwb.get_df(rich_hdf5, "/units", as_polars=True).filter(pl.col("is_good"))
    assert info["total"] == good.height < 50  # the good filter applies, the bad ones do not
    assert [e["index"] for e in info["filter_errors"]] == [1, 2]
    message = info["filter_errors"][0]["message"]
    assert message == "'abc' is not a valid Float64 value for column 'presence_ratio'"
    assert page(grid, filters=filters)["_table_index"].to_list() == good["_table_index"].to_list()
    grid.filters = filters
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = grid.lazyframe().collect()
    assert frame.height == good.height
    assert [str(w.message) for w in caught if "left out" in str(w.message)] == [
        f"filter 2 left out: {message}", "filter 3 left out: no column 'nope' to filter on"]
    # a request that fails for another reason says so once, without the class name twice
    reply, _ = grid.handle_message({"type": "info", "gen": 9,
                                    "sort": [{"column": "spike_times", "descending": False}]})
    assert reply["type"] == "error" and reply["error"] == "QueryError"
    assert reply["message"] == "column 'spike_times' holds arrays; sort by a scalar column"
