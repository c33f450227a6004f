"""Issue 15's "one concurrent round once the file is open", over HTTP on 127.0.0.1:

* a raster in a later session (a new process, the catalog stored by the first): the spike
  points the first session learned are stored with the catalog, so no index round is needed,
  and the bytes stay within 1.5x the spikes shown;
* trial-aligned running speed in a later session: the trial times kept in the catalog are
  confirmed by the samples' own conditional fetch, not by a request of their own;
* the deferred check never hands back values of a file that changed on the server.

Answers are compared with pynwb's arrays and numpy."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run_in_fresh_process

import lazynwb_explorer as lazynwb
from lazynwb_explorer import demo_data
from lazynwb_explorer.catalog import open_catalog
from lazynwb_explorer.errors import SourceError
from lazynwb_explorer.sources import to_source
from lazynwb_explorer.transport import counting

from pynwb_reference import open_nwb

SPEC = demo_data.DemoSpec("warm-rounds", n_units=60, n_trials=200, session_seconds=1800.0,
                          ephys_seconds=0.1, ephys_channels=4, channels_per_probe=8)
OTHER = demo_data.DemoSpec("warm-rounds-other", n_units=10, n_trials=50, session_seconds=300.0,
                           ephys_seconds=0.1, ephys_channels=4, channels_per_probe=8)
SPEED = "/processing/behavior/running_speed"
UNITS = 40
WINDOW = (600.0, 660.0)


@pytest.fixture(scope="module")
def session(served: Path) -> Path:
    path = served / "warm_rounds.nwb"
    return path if demo_data.is_current(path, SPEC) else demo_data.write_session(path, SPEC)


def _trains(path: Path) -> list[np.ndarray]:
    with open_nwb(path) as nwb:
        return [np.asarray(nwb.units["spike_times"][i], dtype=float) for i in range(UNITS)]


_RASTER = """
import json, sys
import polars as pl
import lazynwb_explorer as lazynwb
from lazynwb_explorer.transport import counting
url, start, stop, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
units = pl.DataFrame({"_nwb_path": [url] * n, "_table_index": list(range(n))})
with counting() as c:
    df = lazynwb.get_spike_times_in_window(units, start, stop, disable_progress=True,
                                           as_polars=True)
print(json.dumps({"trains": df["spike_times"].to_list(), "rounds": c.rounds,
                  "bytes": c.bytes, "requests": c.requests}))
"""


def test_raster_in_a_later_session_is_one_round(session: Path, http_server,
                                                tmp_path: Path) -> None:
    """The first session indexes the trains (a round) and reads the window; a later one
    reads the same window in one round, within 1.5x the bytes of the spikes it shows, and
    another window with no index round either. Every spike is pynwb's."""
    url = http_server.url(session.name)
    args = [url, str(WINDOW[0]), str(WINDOW[1]), str(UNITS)]
    cold = run_in_fresh_process(_RASTER, args, tmp_path)
    warm = run_in_fresh_process(_RASTER, args, tmp_path)
    trains = _trains(session)
    expected = [t[(t >= WINDOW[0]) & (t < WINDOW[1])].tolist() for t in trains]
    assert cold["trains"] == expected and warm["trains"] == expected
    needed = 8 * sum(len(t) for t in expected)
    assert cold["rounds"] >= 2  # the index, then the windows
    assert warm["rounds"] == 1, warm
    assert warm["bytes"] <= 1.5 * needed, (warm["bytes"], needed)
    elsewhere = (1500.0, 1530.0)
    later = run_in_fresh_process(_RASTER, [url, *map(str, elsewhere), str(UNITS)], tmp_path)
    assert later["trains"] == [t[(t >= elsewhere[0]) & (t < elsewhere[1])].tolist()
                               for t in trains]


_ALIGNED = """
import json, math, sys
import lazynwb_explorer as lazynwb
from lazynwb_explorer.transport import counting
with counting() as c:
    df = lazynwb.get_aligned_timeseries(sys.argv[1], sys.argv[2], "/intervals/trials",
                                        align_to="stim_start_time", window=(-0.5, 1.0),
                                        disable_progress=True, as_polars=True)
print(json.dumps({"rows": df.height, "sum": math.fsum(df["value"].to_list()),
                  "rounds": c.rounds, "requests": c.requests, "bytes": c.bytes}))
"""


def test_aligned_series_in_a_later_session_is_one_round(session: Path, http_server,
                                                        tmp_path: Path) -> None:
    """Running speed around 200 stimulus onsets in a later session: one round (the
    samples), no request to re-confirm the trial times kept in the catalog; the same
    answer as the first session and as numpy on pynwb's arrays."""
    url = http_server.url(session.name)
    cold = run_in_fresh_process(_ALIGNED, [url, SPEED], tmp_path)
    warm = run_in_fresh_process(_ALIGNED, [url, SPEED], tmp_path)
    with open_nwb(session) as nwb:
        speed = nwb.processing["behavior"]["running_speed"]
        times = np.asarray(speed.timestamps[:], dtype=float)
        values = np.asarray(speed.data[:], dtype=float) * speed.conversion + speed.offset
        onsets = np.asarray(nwb.trials["stim_start_time"][:], dtype=float)
    inside = [values[(times >= t - 0.5) & (times < t + 1.0)] for t in onsets]
    assert cold["rows"] == warm["rows"] == sum(len(v) for v in inside)
    assert cold["sum"] == warm["sum"] == pytest.approx(sum(v.sum() for v in inside), rel=1e-9)
    assert warm["rounds"] == 1, warm
    assert warm["bytes"] > 1 and warm["requests"] <= 2, warm  # the samples, no 1-byte check


def _replace(served_file: Path, tmp_path: Path) -> None:
    """Another session under the same name, with a new modification time (a new ETag)."""
    demo_data.write_session(tmp_path / "other.nwb", OTHER)
    shutil.copy(tmp_path / "other.nwb", served_file)
    os.utime(served_file, ns=(1, 3 * 10**18))


def test_a_changed_file_fails_the_deferred_check(served: Path, session: Path, http_server,
                                                 tmp_path: Path, monkeypatch) -> None:
    """Trial times kept in memory are used before the samples' fetch confirms them: when
    the file changed on the server, that fetch fails the call (never old trial times with
    new samples); unchanged, the call is one round."""
    copy = served / "warm_rounds_changing.nwb"
    shutil.copy(session, copy)
    url = http_server.url(copy.name)

    def aligned() -> int:
        return lazynwb.get_aligned_timeseries(url, SPEED, align_to="stim_start_time",
                                              disable_progress=True, as_polars=True).height

    first = aligned()
    monkeypatch.setattr(lazynwb.config, "revalidate_after", 0.3)
    time.sleep(0.4)
    with counting() as c:
        assert aligned() == first
    assert c.rounds == 1, c
    _replace(copy, tmp_path)
    time.sleep(0.4)
    with pytest.raises(SourceError, match="changed"):
        aligned()


def test_a_deferred_check_with_no_fetch_is_made_as_the_block_ends(
        served: Path, session: Path, http_server, tmp_path: Path, monkeypatch) -> None:
    """Values kept in memory, read in a deferred block that fetches nothing: no request
    inside the block, one conditional request as it ends, which fails when the file
    changed."""
    copy = served / "warm_rounds_kept.nwb"
    shutil.copy(session, copy)
    catalog = open_catalog(to_source(http_server.url(copy.name)))
    backend = catalog.backend
    kept = backend.read("/intervals/trials/id")  # a small column: kept with the catalog
    monkeypatch.setattr(lazynwb.config, "revalidate_after", 0.3)
    time.sleep(0.4)
    with counting() as c:
        with backend.deferred_check():
            assert np.array_equal(backend.read("/intervals/trials/id"), kept)
            inside = c.requests
    assert inside == 0 and c.requests == 1 and c.bytes == 1, c
    _replace(copy, tmp_path)
    time.sleep(0.4)
    with pytest.raises(SourceError, match="changed"):
        with backend.deferred_check():
            backend.read("/intervals/trials/id")
