"""Quick sanity tests of the NWB fixture factory (tests/nwb_factory.py) against pynwb itself."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

try:
    from tests import nwb_factory as nf
except ImportError:  # rootdir/tests on sys.path (pytest "prepend" import mode, no __init__.py)
    import nwb_factory as nf

pynwb = pytest.importorskip("pynwb")
hdmf_zarr_nwb = pytest.importorskip("hdmf_zarr.nwb")
NWBHDF5IO = pynwb.NWBHDF5IO
NWBZarrIO = hdmf_zarr_nwb.NWBZarrIO

EXPECTED = nf.expected_rich_columns()


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def rich_hdf5(tmp_path_factory):
    return nf.write_hdf5(tmp_path_factory.mktemp("rich") / "rich.nwb")


@pytest.fixture(scope="module")
def rich_zarr(tmp_path_factory):
    return nf.write_zarr(tmp_path_factory.mktemp("rich_zarr") / "rich.nwb.zarr")


@pytest.fixture(scope="module")
def rich_zarr_json(tmp_path_factory):
    return nf.write_zarr(
        tmp_path_factory.mktemp("rich_zarr_json") / "rich.nwb.zarr", object_codec="json"
    )


@pytest.fixture(scope="module")
def pushdown_file(tmp_path_factory):
    return nf.write_units_pushdown_file(tmp_path_factory.mktemp("pushdown") / "pushdown.nwb")


def _read_hdf5(path):
    io = NWBHDF5IO(str(path), "r")
    return io, io.read()


def _read_zarr(path):
    io = NWBZarrIO(str(path), mode="r")
    return io, io.read()


# ----------------------------------------------------------------------------- shared checks
def _check_rich(nwb, *, n_units=50, n_trials=40, n_electrodes=16, epoch_timeseries=True):
    # metadata
    assert nwb.identifier == "lazynwb-explorer-test-seed0000"
    assert nwb.session_id == "session_0000"
    assert nwb.session_start_time.tzinfo is not None
    assert nwb.session_start_time.utcoffset().total_seconds() == -7 * 3600
    assert list(nwb.experimenter) == ["Doe, Jane", "Roe, Richard"]
    assert list(nwb.keywords[:]) == ["ecephys", "visual cortex", "neuropixels", "behavior"]
    assert len(nwb.related_publications) == 2
    assert nwb.lab and nwb.institution and nwb.notes and nwb.experiment_description
    subj = nwb.subject
    assert subj.age == "P90D" and subj.sex == "M" and subj.species == "Mus musculus"
    assert subj.weight == "0.025 kg" and subj.strain and subj.genotype
    assert subj.date_of_birth.tzinfo is not None
    if nf.SUBJECT_SUPPORTS_AGE_REFERENCE:
        assert subj.age__reference == "birth"

    # electrodes
    edf = nwb.electrodes.to_dataframe()
    assert set(EXPECTED["electrodes"]) <= set(edf.columns)
    assert len(edf) == n_electrodes
    assert edf["bad_channel"].dtype == bool
    assert set(edf["location"]) <= set(nf.ELECTRODE_LOCATIONS)
    assert {"VISp", "CA1"} <= set(edf["location"])
    assert isinstance(edf["group"].iloc[0], pynwb.ecephys.ElectrodeGroup)
    assert list(edf["group_name"]) == [g.name for g in edf["group"]]

    # units
    units = nwb.units
    udf = units.to_dataframe()
    assert set(EXPECTED["units"]) == set(udf.columns)
    assert len(udf) == n_units
    assert udf["unit_id"].dtype == np.int64
    assert list(udf["unit_id"]) == [1000 + 7 * i for i in range(n_units)]
    assert udf["presence_ratio"].between(0, 1).all()
    assert (udf["presence_ratio"] >= 0.95).sum() == round(n_units / 3)
    assert set(udf["location"]) == set(nf.UNIT_LOCATIONS)
    assert udf["is_good"].dtype == bool
    assert (udf["is_good"] == (udf["quality"] == "good")).all()
    counts = [len(x) for x in udf["spike_times"]]
    assert counts[1] == 0 and max(counts) <= 200 and sum(counts) > 0
    for st in udf["spike_times"]:
        assert np.all(np.diff(st) >= 0)
    assert all(np.asarray(x).shape[1] == 2 for x in udf["obs_intervals"])
    assert {len(x) for x in udf["electrodes"]} > {1}  # variable length region
    assert units["waveform_mean"].data.shape == (n_units, 30, 4)
    assert units["waveform_mean"].data.dtype == np.float32
    assert units["electrodes"].target.table is nwb.electrodes
    if nf.SUPPORTS_INDEX_2:
        row0 = udf["spike_amplitudes_by_epoch"].iloc[0]
        assert isinstance(row0, list) and all(len(x) >= 1 for x in row0)

    # trials
    tdf = nwb.trials.to_dataframe()
    assert set(EXPECTED["trials"]) == set(tdf.columns)
    assert len(tdf) == n_trials
    assert tdf["correct"].dtype == bool and tdf["contrast"].dtype == np.float64
    assert set(tdf["response"]) <= set(nf.RESPONSES)
    assert set(tdf["stim_name"]) <= set(nf.STIM_NAMES)
    assert len(tdf["lick_times"].iloc[0]) == 0
    assert all(len(t) >= 1 for t in tdf["tags"])
    assert (tdf["stop_time"] > tdf["start_time"]).all()

    # epochs
    ep = nwb.epochs.to_dataframe()
    assert len(ep) == 3 and "tags" in ep.columns
    if epoch_timeseries:
        ref = ep["timeseries"].iloc[0][0]
        assert ref.idx_start >= 0 and ref.count > 0
        assert ref.timeseries.name == "running_speed"

    # acquisition / processing / stimulus / events
    rs = nwb.acquisition["running_speed"]
    assert rs.timestamps.shape == (10_000,) and rs.rate is None
    lick = nwb.acquisition["lick_sensor"]
    assert lick.timestamps is None and lick.rate == nf.LICK_RATE
    assert lick.starting_time == nf.LICK_STARTING_TIME
    raw = nwb.acquisition["raw_data"]
    assert raw.data.shape == (3000, n_electrodes) and raw.conversion == nf.RAW_CONVERSION
    if nf.TIMESERIES_SUPPORTS_OFFSET:
        assert raw.offset == nf.RAW_OFFSET
    assert len(raw.electrodes) == n_electrodes
    beh = nwb.processing["behavior"]
    assert beh["BehavioralTimeSeries"]["pupil_area"].data.shape == (2000,)
    assert beh["BehavioralEvents"]["reward_times"].timestamps.shape == (20,)
    assert nwb.stimulus["grating_contrast"].data.shape == (n_trials,)
    if nf.HAS_EVENTS_TABLE:
        ev = nwb.events["lick_events"].to_dataframe()
        assert {"timestamp", "duration", "lick_side"} <= set(ev.columns) and len(ev) > 0


# ----------------------------------------------------------------------------- rich files
def test_rich_in_memory_is_deterministic():
    a = nf.make_rich_nwbfile(seed=3, n_units=10, n_trials=5).units.to_dataframe()
    b = nf.make_rich_nwbfile(seed=3, n_units=10, n_trials=5).units.to_dataframe()
    c = nf.make_rich_nwbfile(seed=4, n_units=10, n_trials=5).units.to_dataframe()
    np.testing.assert_array_equal(a["presence_ratio"], b["presence_ratio"])
    np.testing.assert_array_equal(
        np.concatenate(a["spike_times"]), np.concatenate(b["spike_times"])
    )
    assert not np.array_equal(a["presence_ratio"], c["presence_ratio"])


def test_rich_hdf5_readable_by_pynwb(rich_hdf5):
    io, nwb = _read_hdf5(rich_hdf5)
    with io:
        _check_rich(nwb)


def test_rich_zarr_pickle_readable_by_pynwb(rich_zarr):
    with nf.pickle_decode_allowed():
        io, nwb = _read_zarr(rich_zarr)
        with io:
            _check_rich(nwb)


def test_rich_zarr_json_readable_by_pynwb(rich_zarr_json):
    io, nwb = _read_zarr(rich_zarr_json)
    with io:
        _check_rich(nwb, epoch_timeseries=False)
        assert "timeseries" not in nwb.epochs.colnames


def test_zarr_object_codecs(rich_zarr, rich_zarr_json):
    import json

    def zarray(root, rel):
        return json.loads((root / rel / ".zarray").read_text())

    grp = "general/extracellular_ephys/electrodes/group"
    assert zarray(rich_zarr, grp)["filters"][0]["id"] == "pickle"
    assert zarray(rich_zarr_json, grp)["filters"][0]["id"] == "json2"
    for root in (rich_zarr, rich_zarr_json):
        loc = zarray(root, "units/location")
        assert loc["dtype"] == "|O" and loc["filters"] == [{"id": "vlen-utf8"}]


# ----------------------------------------------------------------------------- pushdown file
def test_pushdown_file_layout(pushdown_file):
    with h5py.File(pushdown_file, "r") as f:
        wf = f["units/waveform_mean"]
        assert wf.shape == (1000, 82, 384) and wf.dtype == np.float32
        assert wf.chunks == (1, 82, 384)
        assert wf.compression is None
        assert wf.id.get_storage_size() >= 100 * 1024**2
        assert wf.nbytes >= 100_000_000
        st = f["units/spike_times"]
        assert st.chunks == (10_000,)
        assert 250 * 1000 < st.shape[0] < 350 * 1000
        np.testing.assert_array_equal(wf[17], nf.pushdown_waveform(17))


def test_pushdown_file_readable_by_pynwb(pushdown_file):
    with NWBHDF5IO(str(pushdown_file), "r") as io:
        nwb = io.read()
        units = nwb.units
        assert len(units) == 1000
        assert set(units.colnames) == {
            "unit_id",
            "presence_ratio",
            "location",
            "spike_times",
            "waveform_mean",
        }
        loc = np.asarray(units["location"].data[:]).astype(str)
        assert (loc == "VISp").sum() == 200
        assert units["unit_id"].data[5] == 5005
        st = units["spike_times"][3]
        assert len(st) > 0 and np.all(np.diff(st) >= 0)
        np.testing.assert_array_equal(units["waveform_mean"].data[999], nf.pushdown_waveform(999))


def test_contiguous_layouts(tmp_path):
    p = nf.write_units_pushdown_file(tmp_path / "small.nwb", n_units=20, chunked=False)
    with h5py.File(p, "r") as f:
        assert f["units/waveform_mean"].shape == (20, 82, 384)
        assert all(f["units"][k].chunks is None for k in f["units"])
        np.testing.assert_array_equal(f["units/waveform_mean"][7], nf.pushdown_waveform(7))
    p = nf.write_hdf5(tmp_path / "contig.nwb", contiguous=True, n_units=5, n_trials=4)
    with h5py.File(p, "r") as f:
        if nf.HDMF_WRITE_SUPPORTS_EXPANDABLE:
            assert f["units/location"].chunks is None
            assert f["intervals/trials/start_time"].chunks is None
    with NWBHDF5IO(str(p), "r") as io:
        assert len(io.read().units.to_dataframe()) == 5


# ----------------------------------------------------------------------------- many sessions
@pytest.mark.parametrize("fmt", ["hdf5", "zarr"])
def test_many_sessions(tmp_path, fmt):
    paths = nf.write_many_sessions(tmp_path, n=3, seed=0, fmt=fmt, vary_sizes=True)
    assert len(paths) == 3
    reader = _read_hdf5 if fmt == "hdf5" else _read_zarr
    frames = []
    with nf.pickle_decode_allowed():
        for i, p in enumerate(paths):
            io, nwb = reader(p)
            with io:
                assert nwb.session_id == f"session_{i:04d}"
                udf = nwb.units.to_dataframe()
                tdf = nwb.trials.to_dataframe()
                assert len(udf) == 12 + 3 * i and len(tdf) == 10 + 2 * i
                frames.append((list(udf.columns), list(tdf.columns), udf["presence_ratio"]))
    assert all(f[0] == frames[0][0] and f[1] == frames[0][1] for f in frames)
    assert not np.array_equal(frames[0][2].to_numpy()[:12], frames[1][2].to_numpy()[:12])


# ----------------------------------------------------------------------------- conflicts
def test_conflicting_types_pair(tmp_path):
    a, b = nf.write_conflicting_types_pair(tmp_path)
    with NWBHDF5IO(str(a), "r") as io_a, NWBHDF5IO(str(b), "r") as io_b:
        ua, ub = io_a.read().units.to_dataframe(), io_b.read().units.to_dataframe()
        ta, tb = io_a.read().trials.to_dataframe(), io_b.read().trials.to_dataframe()
    assert ua["quality"].dtype == np.float64 and isinstance(ub["quality"].iloc[0], str)
    assert ta["contrast"].dtype == np.float64 and isinstance(tb["contrast"].iloc[0], str)
    assert ua["unit_id"].dtype == ub["unit_id"].dtype


# ----------------------------------------------------------------------------- invalid inputs
def test_non_nwb_hdf5(tmp_path):
    p = nf.write_non_nwb_hdf5(tmp_path / "plain.h5")
    with h5py.File(p, "r") as f:
        assert "data" in f and "nwb_version" not in f.attrs
    # pynwb 4.2: TypeError("Missing NWB version in file. The file is not a valid NWB file.")
    with pytest.raises((TypeError, ValueError, KeyError)):
        with NWBHDF5IO(str(p), "r") as io:
            io.read()


def test_truncated_copy(tmp_path, rich_hdf5):
    p = nf.write_truncated_copy(tmp_path / "trunc.nwb", source=rich_hdf5)
    assert p.stat().st_size == int(rich_hdf5.stat().st_size * 0.3)
    assert p.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    with pytest.raises(OSError, match="truncated file"):
        h5py.File(p, "r")
    # default: generates its own source
    assert nf.write_truncated_copy(tmp_path / "trunc2.nwb").stat().st_size > 0


def test_text_file_with_nwb_suffix(tmp_path):
    p = nf.write_text_file_with_nwb_suffix(tmp_path / "notes.nwb")
    assert p.suffix == ".nwb" and not h5py.is_hdf5(p)
    with pytest.raises(OSError, match="file signature not found"):
        NWBHDF5IO(str(p), "r")
