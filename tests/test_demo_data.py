"""The generated demo file: valid for pynwb, readable by lazynwb_explorer, and regenerated only
when stale (so `make demo` restarts fast)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import lazynwb_explorer as lazynwb
from lazynwb_explorer import demo_data

pynwb = pytest.importorskip("pynwb")


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_data.write_demo_file(tmp_path_factory.mktemp("demo") / "small.nwb", small=True)


def test_pynwb_reads_the_small_file(small_file: Path) -> None:
    spec = demo_data.SMALL
    with pynwb.NWBHDF5IO(str(small_file), "r") as io:
        nwb = io.read()
        assert nwb.subject.species == "Mus musculus"
        assert nwb.session_id == "demo_small_000"
        units = nwb.units
        assert len(units) == spec.n_units
        for column in ("unit_id", "presence_ratio", "location", "quality", "amplitude"):
            assert column in units.colnames
        assert units["waveform_mean"].data.shape == (spec.n_units, *spec.waveform_shape)
        assert units["waveform_mean"].data.dtype == np.float32
        assert len(nwb.trials) == spec.n_trials
        running = nwb.processing["behavior"]["running_speed"]
        assert running.data.shape == (int(spec.session_seconds * spec.running_rate_hz),)
        assert running.timestamps is not None
        ephys = nwb.acquisition["ElectricalSeries"]
        assert ephys.data.shape == (int(spec.ephys_seconds * 30_000), spec.ephys_channels)
        assert ephys.data.dtype == np.int16 and ephys.conversion == demo_data.CONVERSION
        assert ephys.data.compression == "gzip" and ephys.data.chunks is not None


def test_spike_times_match_pynwb(small_file: Path) -> None:
    with pynwb.NWBHDF5IO(str(small_file), "r") as io:
        units = io.read().units
        expected = [np.asarray(units["spike_times"][i]) for i in range(len(units))]
        expected_ids = np.asarray(units["unit_id"].data[:])
    df = lazynwb.get_df(
        small_file, "/units", include_column_names=["unit_id", "spike_times"], as_polars=True
    )
    assert np.array_equal(df["unit_id"].to_numpy(), expected_ids)
    got = df["spike_times"].to_list()
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected):
        assert np.array_equal(np.asarray(mine, dtype=float), theirs)


def test_same_seed_same_data(small_file: Path, tmp_path: Path) -> None:
    again = demo_data.write_demo_file(tmp_path / "again.nwb", small=True)
    other = demo_data.write_demo_file(tmp_path / "other.nwb", seed=1, small=True)
    with h5py.File(small_file) as a, h5py.File(again) as b, h5py.File(other) as c:
        for name in ("units/spike_times", "units/waveform_mean", "intervals/trials/start_time"):
            assert np.array_equal(a[name][()], b[name][()])
        assert not np.array_equal(a["units/presence_ratio"][()], c["units/presence_ratio"][()])


def test_cli_skips_an_up_to_date_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.nwb"
    assert demo_data.main([str(out), "--small"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert demo_data.is_current(out, demo_data.SMALL)
    assert not demo_data.is_current(out, demo_data.SMALL, seed=3)
    assert not demo_data.is_current(out, demo_data.FULL)

    mtime = out.stat().st_mtime_ns
    assert demo_data.main([str(out), "--small"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert out.stat().st_mtime_ns == mtime

    assert demo_data.main([str(out), "--small", "--force"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert not list(tmp_path.glob(".*partial*")), "temporary file left behind"


def test_a_file_not_written_by_us_is_not_current(tmp_path: Path) -> None:
    junk = tmp_path / "junk.nwb"
    junk.write_bytes(b"not hdf5")
    assert not demo_data.is_current(junk)
    assert not demo_data.is_current(tmp_path / "missing.nwb")
