"""A column stored with different types in different files (issue 11, item 2): the rule is
"widen to the common type, with a warning naming the column, both types and both files;
text against numbers is a SchemaMismatchError naming the same". Under polars 2 every
multi-file read of such files used to fail (Series concat with vertical_relaxed)."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer.errors import SchemaMismatchError
from lazynwb_explorer.widgets import TableGrid

import nwb_factory as nf
from pynwb_reference import reference_columns

# The README's rule, written out for the pair's types (numpy's promotion of the stored types)
WIDENED = {"id": pl.Int64, "start_time": pl.Float64, "stop_time": pl.Float64,
           "count": pl.Int16, "flag": pl.Int8}


def _expected(paths) -> pl.DataFrame:
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in paths:
            columns = reference_columns(p, "/intervals/trials")
            frames.append(pl.DataFrame({n: pl.Series(columns[n]).cast(WIDENED[n]) for n in WIDENED}))
    return pl.concat(frames)


@pytest.mark.parametrize("fmt", ["hdf5", "zarr"])
def test_compatible_types_widen_with_a_warning(tmp_path, fmt: str) -> None:
    paths = nf.write_widening_types_pair(tmp_path, fmt)
    for name, dtype in WIDENED.items():  # the rule is numpy's promotion of what is stored
        stored = [np.dtype(types[name]) for types in nf.WIDENING_TYPES]
        assert pl.Series(np.empty(0, np.result_type(*stored))).dtype == dtype
    expected = _expected(paths)
    files = [str(p) for p in paths]

    with pytest.warns(UserWarning, match="'start_time'") as caught:
        schema = lazynwb.get_table_schema(files, "/intervals/trials")
    assert {n: schema[n] for n in WIDENED} == WIDENED
    text = " ".join(str(w.message) for w in caught)
    assert all(f in text for f in files) and "Float32" in text and "Float64" in text

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = lazynwb.get_df(files, "/intervals/trials", as_polars=True, disable_progress=True)
        scanned = lazynwb.scan_nwb(files, "/intervals/trials", disable_progress=True)
        filtered = scanned.filter(pl.col("start_time") > 50, pl.col("count") < 60).collect()
        grid = TableGrid(files, "/intervals/trials")
    assert df.select(list(WIDENED)).equals(expected)
    assert scanned.collect().select(list(WIDENED)).equals(expected)
    assert filtered.select(list(WIDENED)).equals(
        expected.filter(pl.col("start_time") > 50, pl.col("count") < 60))
    assert grid.handle_message({"type": "info", "gen": 1})[0]["total"] == expected.height


def test_text_against_numbers_names_both_files_and_both_types(tmp_path) -> None:
    a, b = nf.write_conflicting_types_pair(tmp_path)
    for call in (
        lambda: lazynwb.get_df([a, b], "/intervals/trials", disable_progress=True),
        lambda: lazynwb.get_table_schema([a, b], "/intervals/trials"),
        lambda: lazynwb.scan_nwb([a, b], "/intervals/trials").collect(),
    ):
        with pytest.raises(SchemaMismatchError) as info:
            call()
        message = str(info.value)
        assert "'contrast'" in message and str(a) in message and str(b) in message
        assert "Float64" in message and "String" in message
