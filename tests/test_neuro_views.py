"""The neuroscience views' kernel side against numpy on pynwb's arrays, on the demo file: what
each view hands back (`frame()`, `lazyframe()`) is what pynwb + numpy compute for the same
choices (units filtered and sorted as the grid's, a time window, events, a window around them,
bins, groups), and the snippet each view offers reproduces it with the public API.

Rules (as documented by the public API): a raster's window is [t0, t1); a spike or sample
around an event belongs to [event + start, event + stop); PSTH bin k holds aligned times in
[edges[k], edges[k + 1]); a trajectory's window is [t0, t1] (TimeSeries.read_window).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from lazynwb_explorer.widgets.aligned_view import AlignedSeriesView
from lazynwb_explorer.widgets.position import PositionView
from lazynwb_explorer.widgets.probe import ProbeView
from lazynwb_explorer.widgets.psth_view import PSTHView
from lazynwb_explorer.widgets.raster import UnitsRaster

from pynwb_reference import open_nwb

SPEED = "/processing/behavior/running_speed"
POSITION = "/processing/behavior/Position/position"
ELECTRODES = "/general/extracellular_ephys/electrodes"
VISP = [{"column": "location", "op": "==", "value": "VISp"}]
BY_ID_DESC = [{"column": "unit_id", "descending": True}]


@functools.lru_cache(maxsize=4)
def _pynwb(path: str) -> dict[str, Any]:
    """pynwb's arrays of the demo file, as numpy."""
    with open_nwb(Path(path)) as nwb:
        units = nwb.units
        ends = np.asarray(units.electrodes_index.data[:])
        flat = np.asarray(units.electrodes.data[:])
        starts = np.concatenate([[0], ends[:-1]])
        trials = nwb.trials
        behavior = nwb.processing["behavior"]
        speed = behavior["running_speed"]
        position = behavior["Position"]["position"]
        electrodes = nwb.electrodes
        return {
            "trains": [np.asarray(units["spike_times"][i], dtype=float) for i in range(len(units))],
            "unit_id": np.asarray(units["unit_id"][:]),
            "location": np.asarray(units["location"][:]).astype(str),
            "peak": np.where(ends > starts, flat[np.minimum(starts, len(flat) - 1)], -1),
            "trials": {c: np.asarray(trials[c][:]) for c in
                       ("start_time", "stim_start_time", "stimulus_name", "is_rewarded")},
            "speed": (np.asarray(speed.get_timestamps(), dtype=float),
                      np.asarray(speed.data[:], dtype=float) * speed.conversion + speed.offset),
            "position": (np.asarray(position.get_timestamps(), dtype=float),
                         np.asarray(position.data[:], dtype=float) * position.conversion
                         + position.offset),
            "sites": {"x": np.asarray(electrodes["rel_x"][:], dtype=float),
                      "y": np.asarray(electrodes["rel_y"][:], dtype=float),
                      "location": np.asarray(electrodes["location"][:]).astype(str)},
        }


def _visp_by_id_desc(ref: dict) -> np.ndarray:
    """The rows of VISp units, by unit_id descending (the grid's filter and sort)."""
    rows = np.flatnonzero(ref["location"] == "VISp")
    return rows[np.argsort(-ref["unit_id"][rows], kind="stable")]


def _run(snippet: str) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    exec(snippet, scope)  # noqa: S102 - the view's own generated code
    return scope


def test_raster_shows_the_grids_units_and_every_spike_of_the_window(demo_small: Path) -> None:
    ref = _pynwb(str(demo_small))
    raster = UnitsRaster(str(demo_small), "/units", filters=VISP, sort=BY_ID_DESC,
                         x_range=[10.0, 20.0], offset=1, count=4, color_by="location")
    frame = raster.frame()
    rows = _visp_by_id_desc(ref)[1:5]
    assert len(rows) == 4 and frame["_table_index"].to_list() == rows.tolist()
    assert set(frame["location"].to_list()) == {"VISp"}
    for row, mine in zip(rows.tolist(), frame["spike_times"].to_list()):
        train = ref["trains"][row]
        assert mine == train[(train >= 10.0) & (train < 20.0)].tolist()
    assert sum(len(s) for s in frame["spike_times"].to_list()) > 10
    assert raster.lazyframe().collect().equals(frame)
    scope = _run(raster.snippet)  # the public API, from the snippet: the same spikes
    assert scope["spikes"]["spike_times"].to_list() == frame["spike_times"].to_list()


def _oracle_counts(train: np.ndarray, events: np.ndarray, window: tuple, edges: np.ndarray
                   ) -> np.ndarray:
    """events x bins counts, one event and one spike at a time."""
    out = np.zeros((len(events), len(edges) - 1), dtype=np.int64)
    for j, e in enumerate(events):
        for t in train[(train >= e + window[0]) & (train < e + window[1])] - e:
            k = int(np.searchsorted(edges, t, side="right") - 1)
            out[j, min(max(k, 0), len(edges) - 2)] += 1
    return out


@pytest.mark.parametrize("unit", [-1, 2])
def test_psth_view_counts_per_bin_match_numpy(demo_small: Path, unit: int) -> None:
    ref = _pynwb(str(demo_small))
    window, width = (-0.5, 1.0), 0.05
    view = PSTHView(str(demo_small), "/units", filters=VISP, sort=BY_ID_DESC, unit=unit,
                    events="/intervals/trials", align_to="stim_start_time",
                    window=list(window), bin_width=width, group_by="stimulus_name")
    frame = view.frame()
    rows = _visp_by_id_desc(ref)
    shown = rows if unit < 0 else rows[unit : unit + 1]
    edges = window[0] + width * np.arange(round((window[1] - window[0]) / width) + 1)
    times = ref["trials"]["stim_start_time"].astype(float)
    counts = sum(_oracle_counts(ref["trains"][r], times, window, edges) for r in shown.tolist())
    names = ref["trials"]["stimulus_name"].astype(str)
    assert sorted(frame["stimulus_name"].unique().to_list()) == sorted(set(names.tolist()))
    for name in set(names.tolist()):
        pick = names == name
        part = frame.filter(pl.col("stimulus_name") == name)
        assert part["bin_start"].to_numpy() == pytest.approx(edges[:-1], abs=1e-12)
        assert part["spike_count"].to_list() == counts[pick].sum(axis=0).tolist()
        assert set(part["n_events"].to_list()) == {int(pick.sum())}
        expected = counts[pick].sum(axis=0) / (pick.sum() * len(shown) * width)
        assert np.allclose(part["rate"].to_numpy(), expected)
    assert frame["spike_count"].sum() > 50
    assert view.lazyframe().collect().equals(frame)
    scope = _run(view.snippet)  # get_psth per unit; the view's mean is their mean
    table = scope["mean"] if unit < 0 else scope["psth"]
    assert np.allclose(table["rate"].to_numpy(), frame["rate"].to_numpy())
    # the trial-aligned raster below: every spike of the shown units in the windows
    result = view.compute()
    assert len(result["aligned"]) == int(counts.sum())


@pytest.mark.parametrize("series, channel", [(SPEED, None), (POSITION, 1)])
def test_aligned_series_view_windows_match_numpy(demo_small: Path, series: str,
                                                  channel: int | None) -> None:
    ref = _pynwb(str(demo_small))
    window = (-0.5, 1.0)
    view = AlignedSeriesView(str(demo_small), series, events="/intervals/trials",
                             align_to="stim_start_time", window=list(window),
                             group_by="is_rewarded", channel=channel or 0)
    frame = view.frame()
    t, data = ref["speed" if series == SPEED else "position"]
    values = data if data.ndim == 1 else data[:, channel]
    events = ref["trials"]["stim_start_time"].astype(float)
    for j, e in enumerate(events):
        inside = (t >= e + window[0]) & (t < e + window[1])
        mine = frame.filter(pl.col("_intervals_table_index") == j)
        assert mine["time"].to_numpy() == pytest.approx(t[inside] - e, abs=1e-9)
        assert mine["value"].to_numpy() == pytest.approx(values[inside])
        assert set(mine["is_rewarded"].to_list()) <= {bool(ref["trials"]["is_rewarded"][j])}
    assert frame.height > 100
    assert view.lazyframe().collect().equals(frame)
    assert _run(view.snippet)["aligned"].select("time", "value").equals(frame.select("time", "value"))


def test_probe_view_sites_and_units_per_site_match_pynwb(demo_small: Path) -> None:
    ref = _pynwb(str(demo_small))
    view = ProbeView(str(demo_small), ELECTRODES)
    assert view.units_path == "/units"
    frame = view.frame()
    sites = ref["sites"]
    assert frame["x"].to_numpy() == pytest.approx(sites["x"])
    assert frame["y"].to_numpy() == pytest.approx(sites["y"])
    assert frame["location"].to_list() == sites["location"].tolist()
    peak = ref["peak"]
    assert frame["n_units"].to_list() == np.bincount(peak[peak >= 0], minlength=len(sites["x"])).tolist()
    busy = np.flatnonzero(frame["n_units"].to_numpy() > 0)[:3].tolist()
    assert view.units_at(busy) == np.flatnonzero(np.isin(peak, busy)).tolist()  # a click's units
    assert view.lazyframe().collect().equals(frame)
    scope = _run(view.snippet)
    assert scope["sites"]["rel_x"].to_numpy() == pytest.approx(sites["x"])


def test_position_view_is_the_trajectory_of_the_window(demo_small: Path) -> None:
    t, xy = _pynwb(str(demo_small))["position"]
    view = PositionView(str(demo_small), POSITION, x_range=[12.5, 70.0])
    frame = view.frame()
    inside = (t >= 12.5) & (t <= 70.0)
    assert frame["time"].to_numpy() == pytest.approx(t[inside])
    assert frame["x"].to_numpy() == pytest.approx(xy[inside, 0])
    assert frame["y"].to_numpy() == pytest.approx(xy[inside, 1])
    assert view.lazyframe().collect().equals(frame)
    scope = _run(view.snippet)
    assert scope["xy"] == pytest.approx(xy[inside])
