"""get_aligned_timeseries against numpy on pynwb's arrays: the samples in [event + start,
event + stop) exactly, for stored timestamps and for a rate, a channel of 2-D data, groups,
several files; one round for all windows once the series is open (remote); the mean traces;
and KnownTimes' searches against np.searchsorted (hypothesis)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lazynwb_explorer as lazynwb
from lazynwb_explorer import demo_data
from lazynwb_explorer.api.aligned_series import aligned_means
from lazynwb_explorer.catalog import open_catalog
from lazynwb_explorer.config import config
from lazynwb_explorer.nwb.aligned_series import AlignedSeries
from lazynwb_explorer.nwb.known_times import KnownTimes, joined_within, merge_spans
from lazynwb_explorer.sources import to_source
from lazynwb_explorer.transport import counting

from pynwb_reference import open_nwb

EVENT = "_intervals_table_index"
SPEED = "/processing/behavior/running_speed"
POSITION = "/processing/behavior/Position/position"
MEDIUM = demo_data.DemoSpec("aligned-medium", n_units=4, n_trials=500, session_seconds=1800.0,
                            ephys_seconds=0.1, ephys_channels=4, channels_per_probe=8)


@pytest.fixture(scope="module")
def demo(served: Path) -> Path:
    """Half an hour of running speed (60 Hz, stored timestamps) and position (30 Hz, a rate)
    around 500 trials."""
    path = served / "demo_aligned.nwb"
    return path if demo_data.is_current(path, MEDIUM) else demo_data.write_session(path, MEDIUM)


def _reference(path: Path, series: str) -> tuple[np.ndarray, np.ndarray, dict]:
    with open_nwb(path) as nwb:
        module = nwb.processing["behavior"]
        obj = module["running_speed"] if series == SPEED else module["Position"]["position"]
        data = np.asarray(obj.data[:], dtype=float) * obj.conversion + obj.offset
        times = np.asarray(obj.get_timestamps(), dtype=float)
        trials = {c: np.asarray(nwb.trials[c][:]) for c in
                  ("start_time", "stim_start_time", "stimulus_name", "is_rewarded")}
    return times, data, trials


@pytest.mark.parametrize("series, channel", [(SPEED, None), (POSITION, 1)])
def test_windows_match_numpy_on_pynwb_arrays(demo: Path, series: str, channel: int | None) -> None:
    times, data, trials = _reference(demo, series)
    out = lazynwb.get_aligned_timeseries(demo, series, align_to="stim_start_time",
                                         window=(-0.5, 1.0), channel=channel,
                                         group_by="stimulus_name", disable_progress=True,
                                         as_polars=True)
    onsets = trials["stim_start_time"]
    order = np.argsort(onsets, kind="stable")
    values = data if channel is None else data[:, channel]
    got = out.partition_by(EVENT, maintain_order=True, as_dict=True)
    assert [k[0] for k in got] == order.tolist()
    for j in order:
        inside = (times >= onsets[j] - 0.5) & (times < onsets[j] + 1.0)
        part = got[(int(j),)]
        assert part["time"].to_list() == (times[inside] - onsets[j]).tolist()
        assert part["value"].to_list() == values[inside].tolist()
        assert set(part["stimulus_name"].to_list()) == {trials["stimulus_name"][j]}
        assert set(part["event_time"].to_list()) == {onsets[j]}


def test_several_files_and_a_filter(demo: Path, sessions) -> None:
    out = lazynwb.get_aligned_timeseries([demo, demo], SPEED, window=(0.0, 0.5),
                                         intervals_df_filter=pl.col("is_rewarded"),
                                         disable_progress=True, as_polars=True)
    _times, _data, trials = _reference(demo, SPEED)
    rewarded = int(trials["is_rewarded"].sum())
    assert out[EVENT].n_unique() == rewarded
    assert out.height % 2 == 0 and out.head(out.height // 2).equals(out.tail(out.height // 2))
    with pytest.raises(ValueError, match="choose a channel"):
        lazynwb.get_aligned_timeseries(demo, POSITION, disable_progress=True)
    with pytest.raises(lazynwb.InternalPathError):
        lazynwb.get_aligned_timeseries(demo, "/processing/behavior/nothing", disable_progress=True)


@pytest.mark.parametrize("gap", [None, 512])
def test_remote_windows_are_one_round_once_open(demo: Path, locate, http_server, monkeypatch,
                                                gap: int | None) -> None:
    """Default: the running speed's coarse index would be coalesced into a read of the whole
    series, so it is read whole at open and the windows need no request. With a small
    coalesce gap the coarse index is its own round and the windows one more, reading
    little beyond their samples."""
    if gap is not None:
        monkeypatch.setattr(config, "coalesce_gap", gap)
    url = locate(demo, "http")
    catalog = open_catalog(to_source(url))
    with counting() as opening:
        series = AlignedSeries(catalog, SPEED)  # the coarse index (or all of it): one round
    assert opening.rounds == 1
    onsets = np.sort(lazynwb.get_df(url, "trials", as_polars=True, disable_progress=True)[
        "stim_start_time"].to_numpy())
    windows = np.stack([onsets - 0.5, onsets + 1.0], 1)
    with counting() as c:
        times, _values, offsets = series.windows(windows)
    needed = len(times) * (8 + 4)  # float64 timestamps, float32 speed
    if gap is None:
        assert c.rounds == 0 and opening.bytes <= 1.2 * series.n * (8 + 4), (c, opening)
    else:
        assert c.rounds == 1, c
        assert c.bytes <= 3 * needed, (c.bytes, needed)
    assert len(offsets) == 501


def test_mean_traces_match_numpy() -> None:
    rng = np.random.default_rng(3)
    k = 7
    counts = rng.integers(5, 40, size=k)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    times = np.concatenate([np.sort(rng.uniform(-0.5, 1.0, n)) for n in counts])
    values = rng.normal(size=len(times))
    groups = pl.Series("g", ["a", "b", "a", "a", "b", "b", "a"])
    grid, names, count, mean, sem = aligned_means(times, values, offsets, groups, (-0.5, 1.0), 0.01)
    assert names == ["a", "b"] and len(grid) == 150
    for gi, name in enumerate(names):
        traces = []
        for j in range(k):
            if groups[j] != name:
                continue
            t, v = times[offsets[j]:offsets[j + 1]], values[offsets[j]:offsets[j + 1]]
            trace = np.full(len(grid), np.nan)
            inside = (grid >= t[0]) & (grid <= t[-1])
            trace[inside] = np.interp(grid[inside], t, v)
            traces.append(trace)
        stack = np.array(traces)
        n = np.isfinite(stack).sum(axis=0)
        assert np.allclose(count[gi], n)
        seen = n > 0
        assert np.allclose(mean[gi][seen], np.nanmean(stack[:, seen], axis=0))
        assert np.isnan(mean[gi][~seen]).all()
        both = n > 1
        expected = np.nanstd(stack[:, both], axis=0, ddof=1) / np.sqrt(n[both])
        assert np.allclose(sem[gi][both], expected)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=60).map(sorted),
    known=st.lists(st.tuples(st.integers(0, 59), st.integers(1, 8)), max_size=5),
    queries=st.lists(st.floats(-5, 105, allow_nan=False), min_size=1, max_size=10),
    offset=st.integers(0, 1000),
    points=st.sets(st.integers(0, 59), max_size=12),
)
def test_known_times_find_what_searchsorted_finds(values, known, queries, offset, points) -> None:
    """Whatever is known (points an earlier reader kept, then runs read), an exact answer
    is np.searchsorted's, and a read of what locate asks for always makes progress until
    every answer is exact; what is known is then the true values."""
    times = np.array(values)
    run = KnownTimes(offset, offset + len(times))
    seeded = np.array(sorted(p for p in points if p < len(times)), dtype=np.int64)
    run.learn_points(seeded + offset, times[seeded])
    for start, length in known:
        if start < len(times):
            run.learn(offset + start, times[start : start + length])
    expected = np.searchsorted(times, queries, side="left") + offset
    for attempt in range(64):
        found = run.locate(np.array(queries), attempt)
        assert np.array_equal(found.pos[found.exact], expected[found.exact])
        if found.exact.all():
            break
        spans = merge_spans(np.stack([found.lo[~found.exact], found.hi[~found.exact]], 1), 1)
        missing = [p for a, b in spans for p in run.missing(a, b)]
        assert missing, "a search that is not exact must ask for something"
        for a, b in missing:
            run.learn(a, times[a - offset : b - offset])
    else:
        raise AssertionError("never exact")
    for start, known_times in zip(run.run_starts, run.run_times):
        assert np.array_equal(known_times, times[start - offset : start - offset + len(known_times)])
    positions, sampled = run.sampled(4)
    assert np.array_equal(sampled, times[positions - offset])


@given(
    spans=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 300)), max_size=40),
    budget=st.floats(1.0, 3.0),
    gap=st.integers(1, 5_000),
)
def test_spans_are_joined_within_their_byte_budget(spans, budget, gap) -> None:
    """joined_within covers every span, joins only gaps under `gap`, and reads at most
    `budget` times the positions the spans hold (checked against a set of positions)."""
    pairs = [(a, a + n) for a, n in spans]
    own = set().union(*(range(a, b) for a, b in pairs)) if pairs else set()
    out = joined_within(pairs, budget, gap)
    covered = set().union(*(range(a, b) for a, b in out)) if out else set()
    assert own <= covered
    assert len(covered) <= budget * len(own) + 1e-9
    assert all(b0 < a1 for (_, b0), (a1, _) in zip(out, out[1:]))  # sorted, apart
    for (_, b0), (a1, _) in zip(merge_spans(pairs, 1), merge_spans(pairs, 1)[1:]):
        inside = any(a <= b0 and a1 < b for a, b in out)
        assert not inside or a1 - b0 < gap
