"""get_psth, get_aligned_spike_times and get_spike_times_in_window against numpy on pynwb's
arrays (a spike belongs to [event + start, event + stop); bin k holds aligned times in
[edges[k], edges[k + 1])): counts per bin exact, aligned times exact, over HDF5 and Zarr,
local and HTTP, several files at once, the demo file and real files from other labs; the
spike-window reader's predictions (small coalesce gaps force them on small files), with
hypothesis; the rounds and bytes a remote read costs; errors that name the file."""

from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from conftest import SHARED_DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lazynwb_explorer as lazynwb
from lazynwb_explorer import demo_data
from lazynwb_explorer.api.psth import summarize
from lazynwb_explorer.catalog import open_catalog
from lazynwb_explorer.nwb.spike_trains import SpikeTrains
from lazynwb_explorer.sources import to_source
from lazynwb_explorer.transport import counting

from pynwb_reference import open_nwb

UNIT = "_units_table_index"
EVENT = "_intervals_table_index"


@functools.lru_cache(maxsize=16)
def _pynwb(path: str, table: str = "trials") -> dict[str, Any]:
    """pynwb's spike trains and one events table of a file, as numpy arrays."""
    with open_nwb(Path(path)) as nwb:
        units = nwb.units
        trains = [np.asarray(units["spike_times"][i], dtype=float) for i in range(len(units))]
        events = nwb.trials if table == "trials" else nwb.intervals[table]
        columns = {c: np.asarray(events[c][:]) for c in events.colnames
                   if not isinstance(events[c][0], list | np.ndarray)}
        columns["start_time"] = np.asarray(events["start_time"][:], dtype=float)
        return {"trains": trains, "events": columns}


def _oracle_counts(train: np.ndarray, events: np.ndarray, window: tuple, edges: np.ndarray
                   ) -> np.ndarray:
    """events x bins counts by the module's rule, one event at a time."""
    out = np.zeros((len(events), len(edges) - 1), dtype=np.int64)
    for j, e in enumerate(events):
        inside = train[(train >= e + window[0]) & (train < e + window[1])]
        for t in inside - e:
            k = int(np.searchsorted(edges, t, side="right") - 1)
            out[j, min(max(k, 0), len(edges) - 2)] += 1
    return out


def _units(source: str, rows: list[int] | None = None) -> pl.DataFrame:
    units = lazynwb.scan_nwb(source, "/units", disable_progress=True).select(
        "_nwb_path", "_table_path", "_table_index").collect()
    return units if rows is None else units.filter(pl.col("_table_index").is_in(rows))


def _check_psth(out: pl.DataFrame, ref: dict, source: str, align_to: str, group_by: str | None,
                window: tuple, bin_width: float) -> int:
    edges = window[0] + bin_width * np.arange(round((window[1] - window[0]) / bin_width) + 1)
    times = ref["events"][align_to].astype(float)
    ok = np.isfinite(times)
    groups = ref["events"][group_by][ok] if group_by else np.zeros(ok.sum())
    checked = 0
    for unit in out[UNIT].unique().to_list():
        mine = out.filter((pl.col(UNIT) == unit) & (pl.col("_nwb_path") == source))
        counts = _oracle_counts(ref["trains"][unit], times[ok], window, edges)
        for value in np.unique(groups):
            pick = groups == value
            part = mine.filter(pl.col(group_by) == value) if group_by else mine
            assert part["bin_start"].to_list() == pytest.approx(edges[:-1].tolist(), abs=1e-12)
            assert part["spike_count"].to_list() == counts[pick].sum(axis=0).tolist()
            assert set(part["n_events"].to_list()) == {int(pick.sum())}
            rates = counts[pick] / bin_width
            assert np.allclose(part["rate"].to_numpy(), rates.mean(axis=0))
            if pick.sum() > 1:
                sem = rates.std(axis=0, ddof=1) / math.sqrt(pick.sum())
                assert np.allclose(part["rate_sem"].to_numpy(), sem)
                assert np.allclose(part["rate_ci_high"].to_numpy() - part["rate"].to_numpy(),
                                   1.959963984540054 * sem)
            checked += int(counts[pick].sum())
    return checked


@pytest.mark.parametrize("where", ["local", "http"])
@pytest.mark.parametrize("kind", ["rich_hdf5", "rich_zarr"])
def test_psth_matches_numpy_on_pynwb_arrays(request, locate, kind: str, where: str) -> None:
    path = request.getfixturevalue(kind)
    source = locate(path, where)
    ref = _pynwb(str(path))
    units = _units(source, list(range(0, 20, 3)))
    window, width = (-1.0, 2.0), 0.25
    out = lazynwb.get_psth(units, align_to="start_time", window=window, bin_width=width,
                           group_by="stim_name", disable_progress=True, as_polars=True)
    assert out[UNIT].unique(maintain_order=True).to_list() == units["_table_index"].to_list()
    assert _check_psth(out, ref, source, "start_time", "stim_name", window, width) > 0


def test_psth_of_the_demo_file_grouped_by_stimulus_and_reward(demo_small: Path) -> None:
    ref = _pynwb(str(demo_small))
    units = _units(str(demo_small))
    for group in ("stimulus_name", "is_rewarded", None):
        out = lazynwb.get_psth(units, align_to="stim_start_time", window=(-0.5, 1.0),
                               bin_width=0.05, group_by=group, disable_progress=True,
                               as_polars=True)
        assert _check_psth(out, ref, str(demo_small), "stim_start_time", group, (-0.5, 1.0),
                           0.05) > 100
    pandas = lazynwb.get_psth(units.head(2), align_to="stim_start_time", bin_width=0.1,
                              disable_progress=True)
    assert list(pandas.columns[:3]) == ["_nwb_path", UNIT, "bin_start"]


def test_psth_of_several_files_and_a_filter(sessions) -> None:
    frames = [_units(str(p), [0, 2, 5]) for p in sessions]
    units = pl.concat(frames)
    out = lazynwb.get_psth(units, window=(0.0, 1.0), bin_width=0.5,
                           intervals_df_filter=pl.col("contrast") > 0.3, disable_progress=True,
                           as_polars=True)
    assert out["_nwb_path"].unique(maintain_order=True).to_list() == [str(p) for p in sessions]
    for path in sessions:
        ref = _pynwb(str(path))
        keep = ref["events"]["contrast"] > 0.3
        events = {k: v[keep] for k, v in ref["events"].items()}
        mine = out.filter(pl.col("_nwb_path") == str(path))
        _check_psth(mine, {**ref, "events": events}, str(path), "start_time", None, (0.0, 1.0), 0.5)


def test_aligned_spike_times_and_window_match_numpy(rich_hdf5: Path) -> None:
    ref = _pynwb(str(rich_hdf5))
    units = _units(str(rich_hdf5), [0, 3, 4, 7])
    out = lazynwb.get_aligned_spike_times(units, window=(-0.5, 1.5), group_by="correct",
                                          disable_progress=True, as_polars=True)
    starts = ref["events"]["start_time"]
    order = np.argsort(starts, kind="stable")
    for unit in [0, 3, 4, 7]:
        mine = out.filter(pl.col(UNIT) == unit)
        assert mine[EVENT].to_list() == order.tolist()
        assert mine["correct"].to_list() == ref["events"]["correct"][order].tolist()
        train = ref["trains"][unit]
        for e, got in zip(starts[order], mine["spike_times"].to_list()):
            expected = train[(train >= e - 0.5) & (train < e + 1.5)] - e
            assert got == expected.tolist()
    window = lazynwb.get_spike_times_in_window(units, 20.0, 80.0, disable_progress=True,
                                              as_polars=True)
    for unit, got in zip(window[UNIT].to_list(), window["spike_times"].to_list()):
        train = ref["trains"][unit]
        assert got == train[(train >= 20.0) & (train < 80.0)].tolist()


@pytest.mark.parametrize("path, table, align_to, group_by, unsorted", [
    ("real/sub_anm00239123_ses_20170627T093549_ecephys_and_ogen.nwb", "trials", "pole_in_time",
     "type", False),
    # its unit's spike times go backwards (NWB requires them sorted): read whole and sorted
    ("other_writers/dandicli__sub-anm369963_ses-20170228.nwb", "trials", "start_time",
     "response", True),
])
def test_psth_of_real_files(path: str, table: str, align_to: str, group_by: str,
                            unsorted: bool) -> None:
    file = SHARED_DATA / path
    ref = _pynwb(str(file), table)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = lazynwb.get_psth(_units(str(file)), align_to=align_to, window=(-0.5, 0.5),
                               bin_width=0.1, group_by=group_by, disable_progress=True,
                               as_polars=True)
    assert any("not in time order" in str(w.message) for w in seen) == unsorted
    assert _check_psth(out, ref, str(file), align_to, group_by, (-0.5, 0.5), 0.1) > 0


def test_events_from_an_events_table_and_an_event_series(rich_hdf5: Path) -> None:
    ref = _pynwb(str(rich_hdf5))
    units = _units(str(rich_hdf5), [0, 2])
    with open_nwb(rich_hdf5) as nwb:
        rewards = np.asarray(nwb.processing["behavior"]["BehavioralEvents"]["reward_times"].timestamps[:])
        licks = np.asarray(nwb.events["lick_events"]["timestamp"][:]) if "lick_events" in getattr(
            nwb, "events", {}) else None
    series = lazynwb.get_aligned_spike_times(
        units, "/processing/behavior/BehavioralEvents/reward_times", window=(-1.0, 1.0),
        disable_progress=True, as_polars=True)
    for unit in (0, 2):
        got = series.filter(pl.col(UNIT) == unit)
        assert got["event_time"].to_list() == np.sort(rewards).tolist()
        train = ref["trains"][unit]
        assert got["spike_times"].to_list() == [
            (train[(train >= e - 1) & (train < e + 1)] - e).tolist() for e in np.sort(rewards)]
    if licks is not None:
        table = lazynwb.get_psth(units, "/events/lick_events", align_to="timestamp",
                                 window=(0.0, 0.5), bin_width=0.5, disable_progress=True,
                                 as_polars=True)
        for unit in (0, 2):
            train = ref["trains"][unit]
            expected = sum(int(((train >= e) & (train < e + 0.5)).sum()) for e in licks)
            assert table.filter(pl.col(UNIT) == unit)["spike_count"].sum() == expected


def test_bad_arguments_are_clear_errors(rich_hdf5: Path) -> None:
    units = _units(str(rich_hdf5), [0])
    with pytest.raises(ValueError, match="whole number of 0.3 s bins"):
        lazynwb.get_psth(units, window=(0.0, 1.0), bin_width=0.3, disable_progress=True)
    with pytest.raises(ValueError, match="start < stop"):
        lazynwb.get_psth(units, window=(1.0, 0.0), disable_progress=True)
    with pytest.raises(lazynwb.ColumnError, match="no column.*'nope'") as info:
        lazynwb.get_psth(units, align_to="nope", disable_progress=True)
    assert str(rich_hdf5) in str(info.value) and "/intervals/trials" in str(info.value)
    with pytest.raises(lazynwb.ColumnError, match="_table_index"):
        lazynwb.get_psth(units.drop("_table_index"), disable_progress=True)
    with pytest.raises(lazynwb.ColumnError, match="holds arrays"):
        lazynwb.get_psth(units, align_to="lick_times", disable_progress=True)
    n = len(_units(str(rich_hdf5)))
    past = units.with_columns(pl.lit(n, dtype=pl.Int64).alias("_table_index"))
    for call in (lambda: lazynwb.get_psth(past, disable_progress=True),
                 lambda: lazynwb.get_spike_times_in_window(past, 0.0, 1.0, disable_progress=True)):
        with pytest.raises(lazynwb.LazyNWBError, match=f"unit row {n} is not in the table") as info:
            call()
        assert str(rich_hdf5) in str(info.value) and "/units" in str(info.value)


@settings(max_examples=200, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 40), st.integers(1, 12)),
    groups=st.integers(1, 5),
    mean=st.sampled_from([0.0, 0.2, 3.0, 40.0]),
    constant=st.booleans(),
    bin_width=st.sampled_from([0.001, 0.01, 0.025, 0.03]),
    n_units=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_summaries_equal_numpy_per_group(shape, groups, mean, constant, bin_width, n_units,
                                         seed) -> None:
    """summarize (every PSTH's rates and bands) against numpy on each group's rows: totals
    exact, means and standard errors as numpy's mean and std(ddof=1) give them, including
    bins where every event has the same count (a standard error of exactly 0)."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(mean, size=shape).astype(np.int64)
    if constant:
        counts[:] = counts[0]
    codes = rng.integers(0, groups, shape[0])
    summary = summarize(counts, codes, list(range(groups)), bin_width, n_units)
    for g in range(groups):
        rows = counts[codes == g]
        rates = rows / (bin_width * n_units)
        assert summary.n_events[g] == len(rows)
        assert summary.counts[g].tolist() == rows.sum(axis=0).tolist()
        if not len(rows):
            assert np.isnan(summary.rate[g]).all()
            continue
        np.testing.assert_allclose(summary.rate[g], rates.mean(axis=0), rtol=1e-12)
        if len(rows) < 2:
            assert np.isnan(summary.sem[g]).all()
        else:
            np.testing.assert_allclose(summary.sem[g], rates.std(axis=0, ddof=1) / math.sqrt(len(rows)),
                                       rtol=1e-9, atol=1e-9 * (1 + rates.max()))


# -- the spike-window reader ---------------------------------------------------------------------


def _reader(path: Path) -> SpikeTrains:
    return SpikeTrains(open_catalog(to_source(str(path))))


def _expected(train: np.ndarray, windows: np.ndarray) -> list[np.ndarray]:
    return [train[(train >= a) & (train < b)] for a, b in windows]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_predicted_windows_are_exact(demo_small: Path, monkeypatch, data) -> None:
    """With a coalesce gap of a few spikes the reader indexes and predicts even on a small
    file; whatever the units, windows and order of calls, every answer is numpy's."""
    gap = data.draw(st.sampled_from([16, 64, 512, 1 << 16]), label="gap bytes")
    monkeypatch.setattr(lazynwb.config, "coalesce_gap", gap)
    ref = _pynwb(str(demo_small))
    reader = _reader(demo_small)
    n = reader.n_units
    for _ in range(data.draw(st.integers(1, 3), label="calls")):
        rows = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6, unique=True))
        if data.draw(st.booleans(), label="index first"):
            reader.index(rows)
        train = ref["trains"][rows[0]]
        if len(train) and data.draw(st.booleans(), label="edges on spikes"):
            # a spike at a window's start is in it, one at its stop is not: edges exactly
            # on spike times (sorted, so the starts are too)
            picks = sorted(data.draw(st.lists(st.integers(0, len(train) - 1), min_size=2, max_size=16)))
            edges = train[picks]
            windows = np.array([[a, b] for a, b in zip(edges[0::2], edges[1::2])])
        else:
            starts = sorted(data.draw(st.lists(st.floats(-5, 125), min_size=1, max_size=8)))
            lengths = data.draw(st.lists(st.floats(0, 30), min_size=len(starts), max_size=len(starts)))
            windows = np.array([[a, a + w] for a, w in zip(starts, lengths)])
        for row, (times, offsets) in zip(rows, reader.spikes(rows, windows)):
            for j, expected in enumerate(_expected(ref["trains"][row], windows)):
                assert times[offsets[j] : offsets[j + 1]].tolist() == expected.tolist()


def test_spike_times_out_of_order_are_sorted_with_a_warning(tmp_path: Path) -> None:
    import pynwb

    from nwb_factory import SESSION_START_TIME

    nwb = pynwb.NWBFile(session_description="d", identifier="unsorted",
                        session_start_time=SESSION_START_TIME)
    nwb.add_unit(spike_times=[3.0, 1.0, 2.0])  # pynwb writes them as given
    nwb.add_unit(spike_times=[5.0, 4.0])
    path = tmp_path / "unsorted.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with pytest.warns(UserWarning, match="not in time order"):
        out = _reader(path).spikes([0, 1], np.array([[1.5, 4.5]]))
    assert out[0][0].tolist() == [2.0, 3.0] and out[1][0].tolist() == [4.0]


MEDIUM = demo_data.DemoSpec("psth-medium", n_units=60, n_trials=120, session_seconds=900.0,
                            ephys_seconds=0.1, ephys_channels=4, channels_per_probe=16)


@pytest.fixture(scope="module")
def demo_medium(served: Path) -> Path:
    """A 15-minute session (~250k spikes): big enough that reads are not served from the
    metadata blocks a cold open caches."""
    path = served / "demo_medium.nwb"
    return path if demo_data.is_current(path, MEDIUM) else demo_data.write_session(path, MEDIUM)


def test_remote_windows_cost_one_round_once_indexed(demo_medium: Path, locate, http_server,
                                                    monkeypatch) -> None:
    """Over HTTP: the index of 20 units is one round; each window after it one round, its
    bytes within a few times the spikes it needs (the prediction's margin); a window seen
    before costs nothing."""
    monkeypatch.setattr(lazynwb.config, "coalesce_gap", 512)  # 64 spikes: units are indexed
    url = locate(demo_medium, "http")
    ref = _pynwb(str(demo_medium))
    reader = SpikeTrains(open_catalog(to_source(url)))
    reader.index([1])  # the first data read also learns spike_times' chunk index (a round)
    rows = list(range(0, 60, 3))
    with counting() as c:
        reader.index(rows)
    assert c.rounds == 1
    points = sum(len(reader._unit(r).run_starts) for r in rows)
    # the points of each train, each its own small read (not the trains between them)
    assert c.bytes <= 64 * points, (c.bytes, points)
    assert c.bytes < 8 * sum(reader.count(r) for r in rows) / 8  # under an eighth of the trains
    for start in (200.0, 500.0, 840.0):
        window = np.array([[start, start + 30.0]])
        with counting() as c:
            got = reader.spikes(rows, window)
        needed = sum(len(t) for t, _ in got)
        assert c.rounds == 1, c
        assert c.bytes <= 8 * needed * 3 + 512 * len(rows), (c.bytes, needed)
        for row, (times, _) in zip(rows, got):
            assert times.tolist() == _expected(ref["trains"][row], window)[0].tolist()
    with counting() as c:
        reader.spikes(rows, np.array([[505.0, 520.0]]))
    assert c.requests == 0


def test_remote_psth_reads_units_whole_in_one_round(demo_medium: Path, locate,
                                                    http_server) -> None:
    """A PSTH over trials spread through the session: the units' trains in one round (no
    index: the windows cover them), after the trials' columns."""
    url = locate(demo_medium, "http")
    units = _units(url, list(range(0, 60, 3)))
    lazynwb.get_table_schema(url, "/intervals/trials")  # the file open
    http_server.reset_stats()
    with counting() as c:
        lazynwb.get_psth(units, align_to="stim_start_time", bin_width=0.05,
                         disable_progress=True)
    assert c.rounds == 2, c  # the trials' column; the spike trains
