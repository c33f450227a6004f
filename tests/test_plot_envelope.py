"""The plot's honest overview, checked against numpy on a series of known shape: a sine plus a
dense train of single-sample spikes, written by pynwb in this test.

For every pixel column the plot claims (draws), its envelope must contain the true min and max
of every sample in that column (here: equal them), and no drawn line segment may join columns
with an unread (undrawn) column between them. Checked for a local file (every sample read), a
remote one under a small read budget (blocks spread over the window, gaps between them), both
with timestamps from a rate and stored, and for zoomed windows.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hdmf.backends.hdf5.h5_utils import H5DataIO
from pynwb import NWBHDF5IO, NWBFile, TimeSeries

from lazynwb_explorer.transport import counting
from lazynwb_explorer.widgets import TimeSeriesPlot, plot_data
from lazynwb_explorer.widgets.plot_data import WindowTooLargeError

import nwb_factory as nf

RATE = 30_000.0
N = 1_500_000  # 50 s
CHANNELS = 3
CHUNK_ROWS = 20_000
START = 2.0
CONVERSION = -0.5  # a negative conversion swaps min and max: the envelope must not
OFFSET = 3.0


def _signal(n: int = N) -> np.ndarray:
    """int16 rows x channels: a 3 Hz sine per channel plus ~1 spike per 90 samples of random
    height and sign, so a column that misses some of its samples misses an extreme."""
    rng = np.random.default_rng(14)
    t = np.arange(n) / RATE
    base = (np.sin(2 * np.pi * 3.0 * t)[:, None] * np.array([400, 250, 100])).astype(np.float64)
    spikes = rng.random((n, CHANNELS)) < 1 / 90
    heights = rng.integers(500, 9000, size=(n, CHANNELS)) * rng.choice([-1, 1], size=(n, CHANNELS))
    return (base + np.where(spikes, heights, 0)).astype(np.int16)


@pytest.fixture(scope="module")
def spiky(served: Path) -> Path:
    path = served / "spiky_series.nwb"
    if not path.exists():
        data = _signal()
        stamps = START + np.arange(N) / RATE + np.random.default_rng(1).uniform(0, 2e-6, N)
        f = NWBFile(session_description="envelope test", identifier="spiky",
                    session_start_time=nf.SESSION_START_TIME)
        for name, kwargs in (("rated", {"starting_time": START, "rate": RATE}),
                             ("stamped", {"timestamps": stamps})):
            f.add_acquisition(TimeSeries(
                name=name, unit="mV", conversion=CONVERSION, offset=OFFSET,
                data=H5DataIO(data, chunks=(CHUNK_ROWS, CHANNELS), compression="gzip"),
                **kwargs))
        with NWBHDF5IO(str(path), "w") as io:
            io.write(f)
    return path


def _truth(series: str) -> tuple[np.ndarray, np.ndarray]:
    """(times, physical values) of every sample, as the test wrote them."""
    values = _signal().astype(np.float64) * CONVERSION + OFFSET
    if series == "rated":
        return START + np.arange(N) / RATE, values
    return START + np.arange(N) / RATE + np.random.default_rng(1).uniform(0, 2e-6, N), values


def _decode(reply: dict, buffers: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    x = np.frombuffer(buffers[0])
    ys = np.stack([np.frombuffer(b) for b in buffers[1:]], axis=1)
    assert len(x) == reply["n"] == len(ys)
    return x, ys


def check_envelope(reply: dict, buffers: list[bytes], series: str, channels: list[int],
                   truth: tuple[np.ndarray, np.ndarray] | None = None) -> int:
    """Every claimed column's envelope equals the true min / max of its samples; segments join
    only neighbouring claimed columns. Returns the number of claimed columns."""
    x, ys = _decode(reply, buffers)
    assert [trace["channel"] for trace in reply["traces"]] == channels
    width = reply["width"]
    edges = np.linspace(reply["x0"], reply["x1"], width + 1)
    assert len(x) == 2 * width
    np.testing.assert_allclose(x[::2], (edges[:-1] + edges[1:]) / 2)
    t, values = truth if truth is not None else _truth(series)
    cols = np.searchsorted(edges, t, side="right") - 1
    cols[t == edges[-1]] = width - 1
    inside = (t >= edges[0]) & (t <= edges[-1])
    claimed = 0
    for k, channel in enumerate(channels):
        pairs = ys[:, k].reshape(width, 2)
        drawn = np.isfinite(pairs).all(axis=1)
        assert (np.isfinite(pairs).any(axis=1) == drawn).all()  # a column is drawn whole or not
        picked = inside & drawn[np.clip(cols, 0, width - 1)]
        lo = np.full(width, np.inf)
        hi = np.full(width, -np.inf)
        np.minimum.at(lo, cols[picked], values[picked, channel])
        np.maximum.at(hi, cols[picked], values[picked, channel])
        got_lo, got_hi = pairs.min(axis=1), pairs.max(axis=1)
        assert (got_lo[drawn] <= lo[drawn]).all() and (got_hi[drawn] >= hi[drawn]).all()
        np.testing.assert_array_equal(got_lo[drawn], lo[drawn])  # and nothing wider either
        np.testing.assert_array_equal(got_hi[drawn], hi[drawn])
        # plotly draws a segment between neighbouring finite points (a NaN breaks the line):
        # each joins two drawn columns side by side, never across an undrawn one
        finite = np.isfinite(ys[:, k])
        starts = np.flatnonzero(finite[:-1] & finite[1:])
        assert set(np.unique((starts + 1) // 2 - starts // 2).tolist()) <= {0, 1}
        assert drawn[starts // 2].all() and drawn[(starts + 1) // 2].all()
        gaps = np.flatnonzero(~drawn)
        assert not np.isfinite(ys[2 * gaps, k]).any(), "an undrawn column has points"
        claimed = int(drawn.sum())
    assert claimed == reply["covered"]
    return claimed


@pytest.mark.parametrize("series", ["rated", "stamped"])
def test_local_overview_is_the_envelope_of_every_sample(spiky, series) -> None:
    plot = TimeSeriesPlot(spiky, f"/acquisition/{series}", channels=[0, 2])
    reply, buffers = plot.handle_message({"type": "open", "gen": 1, "width": 900})
    assert reply["mode"] == "envelope" and reply["rows_read"] == reply["rows"] >= N
    claimed = check_envelope(reply, buffers, series, [0, 2])
    assert claimed == 900  # every column is drawn: every sample was read
    # a zoom to 0.2 s: still more samples than pixels, still every one of them
    reply, buffers = plot.handle_message({"type": "window", "gen": 2, "x0": START + 10.0,
                                          "x1": START + 10.2, "width": 700})
    assert reply["mode"] == "envelope" and check_envelope(reply, buffers, series, [0, 2]) == 700
    # closer: every sample drawn as it is
    reply, buffers = plot.handle_message({"type": "window", "gen": 3, "x0": START + 10.0,
                                          "x1": START + 10.01, "width": 700})
    x, ys = _decode(reply, buffers)
    t, values = _truth(series)
    keep = (t >= START + 10.0) & (t <= START + 10.01)
    assert reply["mode"] == "samples"
    np.testing.assert_array_equal(x, t[keep])
    np.testing.assert_array_equal(ys, values[keep][:, [0, 2]])


@pytest.mark.parametrize("series", ["rated", "stamped"])
def test_remote_overview_under_a_budget_draws_blocks_with_gaps(spiky, locate, http_server,
                                                                series) -> None:
    budget = 2 * 1024 * 1024  # of 9 MB of raw samples
    plot = TimeSeriesPlot(locate(spiky, "http"), f"/acquisition/{series}", read_budget=budget)
    plot.handle_message({"type": "open", "gen": 1, "width": 100})  # opens the file
    http_server.reset_stats()
    with counting() as c:
        reply, buffers = plot.handle_message({"type": "window", "gen": 2, "x0": None,
                                              "x1": None, "width": 1111, "channels": [1]})
    assert reply["mode"] == "sampled" and reply["budget"] == budget
    row_cost = 2 * CHANNELS + (8 if series == "stamped" else 0)  # samples and timestamp
    assert 0 < reply["rows_read"] * row_cost <= budget
    assert c.rounds == 1, c
    claimed = check_envelope(reply, buffers, series, [1])
    assert 0 < claimed < 1111 * reply["rows_read"] / reply["rows"] + 1
    x, ys = _decode(reply, buffers)
    assert np.isnan(ys).any()  # the gaps are drawn as gaps
    # what went over the wire: the blocks (whole compressed chunks), not the series
    assert http_server.stats.bytes_sent < reply["rows_read"] * row_cost + 200_000
    # zoomed in far enough, the window fits the budget: every sample, no gap
    reply, buffers = plot.handle_message({"type": "window", "gen": 3, "x0": START + 20.0,
                                          "x1": START + 24.0, "width": 1200, "channels": [1]})
    assert reply["mode"] == "envelope" and check_envelope(reply, buffers, series, [1]) == 1200


def test_lazyframe_is_the_visible_window_at_full_resolution(spiky, monkeypatch) -> None:
    plot = TimeSeriesPlot(spiky, "/acquisition/rated", channels=[1, 2])
    plot.x_range = [START + 5.0, START + 6.5]
    frame = plot.lazyframe().collect()
    t, values = _truth("rated")
    keep = (t >= START + 5.0) & (t <= START + 6.5)
    assert frame.columns == ["time", "ch1", "ch2"] and frame.height == keep.sum() == 45_001
    np.testing.assert_array_equal(frame["ch2"].to_numpy(), values[keep, 2])
    monkeypatch.setattr(plot_data, "LAZYFRAME_BYTES", 1_000_000)
    with pytest.raises(WindowTooLargeError, match="1 MB for a full-resolution frame"):
        plot.lazyframe()


@pytest.fixture(scope="module")
def unsorted(served: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A series whose stored times go backwards in places (NWB forbids it; files do it)."""
    rng = np.random.default_rng(3)
    steps = rng.uniform(0.5e-3, 1.5e-3, 200_000)
    steps[rng.choice(np.arange(1, 200_000), 300, replace=False)] *= -40
    times = np.cumsum(steps)
    values = (rng.standard_normal((200_000, 1)) * 100).astype(np.int16)
    path = served / "unsorted_plot.nwb"
    if not path.exists():
        f = NWBFile(session_description="unsorted", identifier="unsorted",
                    session_start_time=nf.SESSION_START_TIME)
        f.add_acquisition(TimeSeries(name="jumpy", data=values[:, 0], unit="a.u.", timestamps=times))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with NWBHDF5IO(str(path), "w") as io:
                io.write(f)
    return path, times, values.astype(np.float64)


def test_times_out_of_order_are_read_whole_or_not_claimed(unsorted, locate) -> None:
    path, times, values = unsorted
    plot = TimeSeriesPlot(path, "/acquisition/jumpy")
    reply, buffers = plot.handle_message({"type": "open", "gen": 1, "width": 500})
    assert reply["mode"] == "envelope" and reply["rows_read"] == len(times)  # all of them
    assert check_envelope(reply, buffers, "", [0], (times, values)) > 400
    t0, t1 = float(np.quantile(times, 0.4)), float(np.quantile(times, 0.6))
    reply, buffers = plot.handle_message({"type": "window", "gen": 2, "x0": t0, "x1": t1, "width": 300})
    assert check_envelope(reply, buffers, "", [0], (times, values)) > 250
    # over the budget the blocks say nothing of where the other samples lie: no column drawn
    remote = TimeSeriesPlot(locate(path, "http"), "/acquisition/jumpy", read_budget=300_000)
    reply, buffers = remote.handle_message({"type": "open", "gen": 3, "width": 500})
    assert reply["mode"] == "sampled" and reply["covered"] == 0
    assert check_envelope(reply, buffers, "", [0], (times, values)) == 0
