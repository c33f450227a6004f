"""get_spike_times_in_intervals and insert_is_observed against pynwb's own values (spikes in
[start, end), observation intervals containing the interval) on HDF5 and Zarr files, local
and over HTTP; rows chosen per file; filters; output columns and types; pandas in and out;
errors that name the file. Where lazynwb 1.0 is installed, our rows are compared with its
rows too (its obs_intervals handling is not: it reads ragged 2-D columns wrongly)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer import (
    INTERVALS_TABLE_INDEX_COLUMN_NAME as TRIAL,
)
from lazynwb_explorer import (
    UNITS_TABLE_INDEX_COLUMN_NAME as UNIT,
)

import nwb_factory as nf
from pynwb_reference import open_nwb

KEYS = [UNIT, TRIAL, "_nwb_path"]
WINDOWS = {
    "trial": (pl.col("start_time"), pl.col("stop_time")),
    "pre": (pl.col("start_time") - 1.0, pl.col("start_time")),
}


@functools.lru_cache(maxsize=8)
def _reference(path: str) -> dict[str, Any]:
    """pynwb's spike times, observation intervals and trial bounds of one file."""
    with open_nwb(Path(path)) as nwb:
        units, trials = nwb.units, nwb.trials
        return {
            "spikes": [np.asarray(units["spike_times"][i]) for i in range(len(units))],
            "obs": [np.asarray(units["obs_intervals"][i]).reshape(-1, 2) for i in range(len(units))],
            "start": np.asarray(trials["start_time"][:]),
            "stop": np.asarray(trials["stop_time"][:]),
            "contrast": np.asarray(trials["contrast"][:]),
            "correct": np.asarray(trials["correct"][:]),
        }


def _in(spikes: np.ndarray, start: float, end: float) -> list[float]:
    return [float(t) for t in spikes if start <= t < end]


def _observed(obs: np.ndarray, start: float, stop: float) -> bool:
    return len(obs) == 0 or any(a <= start and b >= stop for a, b in obs)


def _units(source: str, n: int = 8) -> pl.DataFrame:
    """Some units, not in table order, as a user's filtered frame."""
    units = lazynwb.get_df(source, "units", as_polars=True, disable_progress=True)
    return units.filter(pl.col("_table_index") < n).reverse()


@pytest.mark.parametrize("where", ["local", "http"])
@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
def test_spikes_in_trials_match_pynwb(request, locate, kind: str, where: str) -> None:
    path = request.getfixturevalue(kind)
    source = locate(path, where)
    ref = _reference(str(path))
    units = _units(source)
    out = lazynwb.get_spike_times_in_intervals(
        units, WINDOWS, disable_progress=True, as_polars=True
    )
    n_trials = len(ref["start"])
    unit_order = units["_table_index"].to_list()
    assert out[UNIT].to_list() == [u for u in unit_order for _ in range(n_trials)]
    assert out[TRIAL].to_list() == list(range(n_trials)) * len(unit_order)
    assert out["_nwb_path"].unique().to_list() == [source]
    assert out.schema["trial"] == pl.List(pl.Float64)
    for row in out.iter_rows(named=True):
        u, t = row[UNIT], row[TRIAL]
        start, stop = ref["start"][t], ref["stop"][t]
        observed = _observed(ref["obs"][u], start, stop)
        assert row["is_observed"] is observed
        assert row["trial"] == (_in(ref["spikes"][u], start, stop) if observed else None)
        assert row["pre"] == (_in(ref["spikes"][u], start - 1.0, start) if observed else None)
        assert row["start_time"] == start  # the trial's columns
        assert row["location"] == units.filter(pl.col("_table_index") == u)["location"][0]
    assert not [c for c in out.columns if c.startswith("_table_path")]
    assert out.columns[:5] == [*KEYS, "trial", "pre"]


def test_counts_aligned_and_necessary_columns(rich_hdf5) -> None:
    ref = _reference(str(rich_hdf5))
    units = _units(str(rich_hdf5), 5)
    common = dict(disable_progress=True, as_polars=True, apply_obs_intervals=False,
                  keep_only_necessary_cols=True)
    counts = lazynwb.get_spike_times_in_intervals(units, WINDOWS, as_counts=True, **common)
    aligned = lazynwb.get_spike_times_in_intervals(units, WINDOWS, align_times=True, **common)
    assert counts.columns == [*KEYS, "trial", "pre"] == aligned.columns
    assert counts.schema["trial"] == pl.Int64
    for c, a in zip(counts.iter_rows(named=True), aligned.iter_rows(named=True)):
        start, stop = ref["start"][c[TRIAL]], ref["stop"][c[TRIAL]]
        spikes = _in(ref["spikes"][c[UNIT]], start, stop)
        assert c["trial"] == len(spikes)
        assert a["trial"] == pytest.approx([t - start for t in spikes])
        assert a["pre"] == pytest.approx([t - start for t in _in(ref["spikes"][c[UNIT]], start - 1, start)])
    with pytest.raises(ValueError, match="align_times"):
        lazynwb.get_spike_times_in_intervals(units, WINDOWS, as_counts=True, align_times=True)


def test_unit_with_no_spikes_and_edges(rich_hdf5) -> None:
    """Unit row 1 has no spikes; a spike exactly at an interval's end is left out, one at
    its start kept; a null bound gives null."""
    ref = _reference(str(rich_hdf5))
    units = _units(str(rich_hdf5), 2)
    first = float(ref["spikes"][0][0])
    windows = {
        "at_start": (pl.lit(first), pl.lit(first + 1e-9)),
        "at_end": (pl.lit(first - 1.0), pl.lit(first)),
        "null": (pl.lit(None, pl.Float64), pl.col("stop_time")),
    }
    out = lazynwb.get_spike_times_in_intervals(
        units, windows, apply_obs_intervals=False, keep_only_necessary_cols=True,
        disable_progress=True, as_polars=True,
    )
    unit0 = out.filter(pl.col(UNIT) == 0)
    assert unit0["at_start"].to_list() == [[first]] * unit0.height
    assert all(first not in spikes for spikes in unit0["at_end"].to_list())
    assert out["null"].null_count() == out.height
    assert out.filter(pl.col(UNIT) == 1)["at_start"].to_list() == [[]] * unit0.height


def test_interval_rows_are_chosen_per_file(sessions) -> None:
    """Rows of an intervals frame apply to their own file only (lazynwb applies the union of
    every file's row numbers to each file)."""
    files = [str(p) for p in sessions]
    units = pl.concat([_units(f, 3) for f in files])
    trials = lazynwb.get_df(files, "trials", as_polars=True, disable_progress=True)
    chosen = trials.filter(
        ((pl.col("_nwb_path") == files[0]) & pl.col("_table_index").is_in([1, 3]))
        | ((pl.col("_nwb_path") == files[1]) & (pl.col("_table_index") == 0))
    )
    out = lazynwb.get_spike_times_in_intervals(
        units, WINDOWS, intervals_df=chosen, disable_progress=True, as_polars=True
    )
    got = out.group_by("_nwb_path", maintain_order=True).agg(pl.col(TRIAL).unique().sort())
    assert got.rows() == [(files[0], [1, 3]), (files[1], [0])]
    for row in out.iter_rows(named=True):
        ref = _reference(row["_nwb_path"])
        start, stop = ref["start"][row[TRIAL]], ref["stop"][row[TRIAL]]
        if _observed(ref["obs"][row[UNIT]], start, stop):
            assert row["trial"] == _in(ref["spikes"][row[UNIT]], start, stop)


@pytest.mark.parametrize("row_filter", ["contrast > 0.5", pl.col("correct")])
def test_interval_filters(rich_hdf5, row_filter: str | pl.Expr) -> None:
    ref = _reference(str(rich_hdf5))
    wanted = np.flatnonzero(ref["contrast"] > 0.5 if isinstance(row_filter, str) else ref["correct"])
    out = lazynwb.get_spike_times_in_intervals(
        _units(str(rich_hdf5), 2), WINDOWS, intervals_df_filter=row_filter,
        disable_progress=True, as_polars=True,
    )
    assert out[TRIAL].unique().sort().to_list() == wanted.tolist()
    with pytest.raises(ValueError, match="intervals_table_filter"):
        lazynwb.get_spike_times_in_intervals(_units(str(rich_hdf5), 1), WINDOWS,
                                             intervals_df_filter=3, disable_progress=True)


def test_pandas_in_pandas_out(rich_hdf5) -> None:
    units = lazynwb.get_df(str(rich_hdf5), "units", disable_progress=True).head(3)
    assert isinstance(units, pd.DataFrame)
    out = lazynwb.get_spike_times_in_intervals(units, WINDOWS, disable_progress=True)
    assert isinstance(out, pd.DataFrame)
    polars_out = lazynwb.get_spike_times_in_intervals(
        pl.from_pandas(units), WINDOWS, disable_progress=True, as_polars=True
    )
    assert out[TRIAL].tolist() == polars_out[TRIAL].to_list()


def test_units_without_obs_intervals(tmp_path) -> None:
    path = str(nf.write_conflicting_types_pair(tmp_path)[0])
    units = lazynwb.get_df(path, "units", as_polars=True, disable_progress=True)
    with pytest.raises(lazynwb.ColumnError, match="obs_intervals") as info:
        lazynwb.get_spike_times_in_intervals(units, WINDOWS, disable_progress=True)
    assert path in str(info.value)
    out = lazynwb.get_spike_times_in_intervals(
        units, WINDOWS, apply_obs_intervals=False, as_counts=True, disable_progress=True,
        as_polars=True,
    )
    assert out.height == units.height * 5 and "is_observed" not in out.columns


def test_no_units_no_rows(rich_hdf5) -> None:
    out = lazynwb.get_spike_times_in_intervals(
        _units(str(rich_hdf5), 0), WINDOWS, as_counts=True, disable_progress=True, as_polars=True
    )
    assert out.height == 0 and out.columns == [*KEYS, "trial", "pre"]
    assert out.schema["trial"] == pl.Int64


def test_units_frame_needs_internal_columns(rich_hdf5) -> None:
    units = _units(str(rich_hdf5), 2).drop("_table_index")
    with pytest.raises(lazynwb.ColumnError, match="_table_index"):
        lazynwb.get_spike_times_in_intervals(units, WINDOWS, disable_progress=True)


# -- insert_is_observed -------------------------------------------------------------------


def _pairs(sources: list[str], n_units: int = 4) -> pl.DataFrame:
    """(unit, trial) rows with start_time / stop_time, as insert_is_observed takes them."""
    units = pl.concat([_units(s, n_units) for s in sources])
    out = lazynwb.get_spike_times_in_intervals(
        units, {"trial": (pl.col("start_time"), pl.col("stop_time"))},
        apply_obs_intervals=False, disable_progress=True, as_polars=True,
    )
    return out.select(*KEYS, "start_time", "stop_time", "trial")


def _expected_observed(frame: pl.DataFrame) -> list[bool]:
    return [
        _observed(_reference(row["_nwb_path"])["obs"][row[UNIT]], row["start_time"], row["stop_time"])
        for row in frame.iter_rows(named=True)
    ]


def test_insert_is_observed_reads_obs_intervals(sessions) -> None:
    """Units are matched by file too: each session's unit 0 has its own intervals."""
    pairs = _pairs([str(p) for p in sessions]).sample(fraction=1.0, shuffle=True, seed=1)
    out = lazynwb.insert_is_observed(pairs)
    assert out.columns == [*pairs.columns, "is_observed"]
    assert out.drop("is_observed").equals(pairs)  # rows keep their order
    assert out["is_observed"].to_list() == _expected_observed(pairs)
    assert any(out["is_observed"]) and not all(out["is_observed"])


def test_insert_is_observed_keeps_the_frame_type(rich_hdf5) -> None:
    pairs = _pairs([str(rich_hdf5)])
    lazy = lazynwb.insert_is_observed(pairs.lazy(), col_name="seen")
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect()["seen"].to_list() == _expected_observed(pairs)
    pandas_out = lazynwb.insert_is_observed(pairs.to_pandas())
    assert isinstance(pandas_out, pd.DataFrame)
    assert pandas_out["is_observed"].tolist() == _expected_observed(pairs)


def test_insert_is_observed_with_a_units_frame(rich_hdf5) -> None:
    pairs = _pairs([str(rich_hdf5)])
    units = lazynwb.merge_array_column(
        lazynwb.get_df(str(rich_hdf5), "units", as_polars=True, disable_progress=True),
        "obs_intervals",
    )
    out = lazynwb.insert_is_observed(pairs, units)
    assert out["is_observed"].to_list() == _expected_observed(pairs)
    with pytest.raises(ValueError, match="does not contain all unique units"):
        lazynwb.insert_is_observed(pairs, units.filter(pl.col("_table_index") > 0))
    with pytest.raises(lazynwb.ColumnError, match="obs_intervals"):
        lazynwb.insert_is_observed(pairs, units.drop("obs_intervals"))
    with pytest.raises(lazynwb.ColumnError, match="stop_time"):
        lazynwb.insert_is_observed(pairs.drop("stop_time"), units)


# -- against lazynwb 1.0, where installed ----------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"as_counts": True}, {"align_times": True, "keep_only_necessary_cols": True},
     {"intervals_df_filter": "contrast > 0.5"}],
)
def test_rows_equal_lazynwb(rich_hdf5, options: dict[str, Any]) -> None:
    reference = pytest.importorskip("lazynwb", exc_type=ImportError)
    source = str(rich_hdf5)
    kwargs = dict(apply_obs_intervals=False, disable_progress=True, as_polars=True, **options)
    theirs = reference.get_spike_times_in_intervals(
        reference.get_df(source, "units", as_polars=True).head(6), WINDOWS, **kwargs
    ).sort(UNIT, TRIAL)
    ours = lazynwb.get_spike_times_in_intervals(_units(source, 6), WINDOWS, **kwargs).sort(UNIT, TRIAL)
    assert theirs.height == ours.height
    for name in [*KEYS, "trial", "pre", "start_time", "contrast", "quality"]:
        if name in theirs.columns:
            assert ours[name].to_list() == theirs[name].to_list(), name
