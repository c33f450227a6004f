"""read_window on timestamps that break NWB's "sorted" rule (issue 11, item 8): real lick
times in DANDI 000006 go backwards 95 times in 1,016 samples, and a binary search over them
missed samples. The answer must equal numpy's mask over every timestamp, with a warning;
sorted series still read only their window."""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from pynwb import NWBHDF5IO, TimeSeries

import lazynwb_explorer as lazynwb
from lazynwb_explorer.transport import counting

import nwb_factory as nf

SHORT, LONG = 1016, 200_000
REVERSED = slice(100_000, 100_300)  # in the long series, these samples run backwards


def _times(n: int, backwards: int, seed: int) -> np.ndarray:
    """n times, `backwards` of the steps going back in time (as DANDI 000006's licks)."""
    rng = np.random.default_rng(seed)
    steps = rng.uniform(0.05, 1.0, n)
    steps[rng.choice(np.arange(1, n), backwards, replace=False)] = -rng.uniform(0.5, 3.0, backwards)
    return np.cumsum(steps)


@pytest.fixture(scope="module")
def unsorted_file(served: Path) -> Path:
    path = served / "unsorted_times.nwb"
    if path.exists():
        return path
    f = nf._minimal_nwbfile("unsorted", "unsorted")
    short = _times(SHORT, 95, 0)
    long = np.cumsum(np.full(LONG, 0.01))
    long[REVERSED] = long[REVERSED][::-1].copy()
    sorted_times = np.cumsum(np.full(LONG, 0.01))
    for name, times in (("licks", short), ("long", long), ("sorted", sorted_times)):
        f.add_acquisition(TimeSeries(name=name, data=np.arange(len(times), dtype=np.int32),
                                     timestamps=times, unit="a.u."))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as io:
            io.write(f)
    return path


def _expected(path: Path, name: str, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(path, "r") as f:
        times, data = f[f"acquisition/{name}/timestamps"][()], f[f"acquisition/{name}/data"][()]
    keep = (times >= t0) & (times <= t1)
    return times[keep], data[keep]


@pytest.mark.parametrize("where", ["local", "http"])
def test_unsorted_timestamps_fall_back_to_a_correct_scan(unsorted_file, locate, where) -> None:
    source = locate(unsorted_file, where)
    with h5py.File(unsorted_file, "r") as f:
        licks = f["acquisition/licks/timestamps"][()]
    assert int(np.sum(np.diff(licks) < 0)) == 95
    cases = [("licks", float(np.quantile(licks, q0)), float(np.quantile(licks, q1)))
             for q0, q1 in ((0.1, 0.3), (0.45, 0.55), (0.0, 1.0), (0.8, 0.81))]
    with h5py.File(unsorted_file, "r") as f:
        long = f["acquisition/long/timestamps"][()]
    ends = sorted([float(long[REVERSED.start + 50]), float(long[REVERSED.start + 250])])
    cases.append(("long", *ends))
    for name, t0, t1 in cases:
        ts = lazynwb.get_timeseries(source, f"/acquisition/{name}", exact_path=True)
        with pytest.warns(UserWarning, match="not sorted") as caught:
            times, data = ts.read_window(t0, t1)
        assert source in str(caught[0].message) and f"/acquisition/{name}" in str(caught[0].message)
        want_times, want_data = _expected(unsorted_file, name, t0, t1)
        assert len(want_times) > 0
        np.testing.assert_array_equal(times, want_times)
        np.testing.assert_array_equal(data, want_data)


def test_sorted_series_still_read_only_their_window(unsorted_file, locate, http_server) -> None:
    source = locate(unsorted_file, "http")
    ts = lazynwb.get_timeseries(source, "/acquisition/sorted", exact_path=True)
    ts.read_window(0.0, 1.0)  # opens the file
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not sorted" warning
        with counting() as c:
            times, data = ts.read_window(700.0, 710.0)
    want_times, want_data = _expected(unsorted_file, "sorted", 700.0, 710.0)
    np.testing.assert_array_equal(times, want_times)
    np.testing.assert_array_equal(data, want_data)
    assert c.bytes < 200_000, c  # the whole timestamps would be 1.6 MB
