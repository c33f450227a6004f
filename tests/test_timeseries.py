"""get_timeseries / TimeSeries against pynwb on every series of the session's HDF5 and Zarr
files and of every file in ../shared/data; lazy slicing semantics; time-window search; and
bounded reads over HTTP proven with server and transport counters."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from conftest import SHARED_FILES, SHARED_SOURCES, is_nwb1

import lazynwb_explorer as lazynwb
from lazynwb_explorer import SeriesFieldError, get_timeseries
from lazynwb_explorer.catalog import forget
from lazynwb_explorer.errors import UnsupportedFileError
from lazynwb_explorer.nwb.lazy_array import searchsorted
from lazynwb_explorer.sources import to_source
from lazynwb_explorer.transport import counting

from pynwb_reference import one_value, pynwb_reads, reference_series

ZARR_KINDS = ["rich_zarr", "rich_zarr_v3", "rich_zarr_v3_sharded", "rich_zarr_v3_unconsolidated"]
FILES = ["rich_hdf5", *ZARR_KINDS, *[str(p) for p in SHARED_SOURCES]]
# Plain HTTP cannot list a store: one without consolidated metadata is walked through the
# server's directory index ("http-index"); the NWB-structure walk (no index) finds only what
# names state, and is tested apart (test_zarr.py)
ZARR_EVERYWHERE = [(kind, where) for kind in ZARR_KINDS for where in ("local", "http", "http-index", "s3")
                   if not (kind.endswith("unconsolidated") and where == "http")]


def _path(request, name: str) -> Path:
    return Path(request.getfixturevalue(name)) if name.startswith("rich") else Path(name)


def _h5py_series(path: Path) -> dict[str, dict[str, Any]]:
    """The oracle where pynwb cannot open the file: every group holding data with
    timestamps or starting_time, read with h5py."""
    out = {}
    with h5py.File(path, "r") as f:
        groups = []
        f.visititems(lambda n, o: groups.append("/" + n) if isinstance(o, h5py.Group)
                     and "data" in o and ("timestamps" in o or "starting_time" in o) else None)
        for name in groups:
            g = f[name]
            data = g["data"]
            start = g.get("starting_time")
            rate = one_value(start.attrs["rate"]) if start is not None else None
            n = data.shape[0] if data.shape else 0
            out[name] = {
                "data": data[()],
                "timestamps": g["timestamps"][()] if "timestamps" in g
                else float(start[()]) + np.arange(n) / rate,
                "rate": rate,
                "starting_time": float(start[()]) if start is not None else None,
                "unit": one_value(data.attrs.get("unit")),
                "conversion": one_value(data.attrs.get("conversion", 1.0)),
                "offset": one_value(data.attrs.get("offset", 0.0)),
                "resolution": one_value(data.attrs.get("resolution", -1.0)),
                "description": one_value(g.attrs.get("description")),
                "electrodes": g["electrodes"][()] if "electrodes" in g else None,
                "stored_data": True,
                "stored_unit": "unit" in data.attrs,
                "time_unit": one_value((g["timestamps"] if "timestamps" in g else start).attrs.get("unit")),
            }
    return out


def _decoded(values: np.ndarray) -> np.ndarray:
    """pynwb hands ASCII text datasets out as bytes (h5py's default); we give str."""
    if values.dtype == object and any(isinstance(v, bytes) for v in values.reshape(-1)):
        return np.array([v.decode() if isinstance(v, bytes) else v for v in values.reshape(-1)],
                        dtype=object).reshape(values.shape)
    return values


@pytest.mark.parametrize("name", FILES, ids=lambda n: Path(n).name)
def test_every_series_matches_pynwb(request, name: str) -> None:
    """pynwb is the oracle where it opens the file, h5py where it cannot (MatNWB 2.0b);
    NWB 1.x is refused naming the file."""
    path = _path(request, name)
    if is_nwb1(path):
        with pytest.raises(UnsupportedFileError, match="NWB 1.x") as info:
            get_timeseries(path, match_all=True)
        assert str(path) in str(info.value)
        return
    _check_series(path, str(path))


@pytest.mark.parametrize("kind,where", ZARR_EVERYWHERE)
def test_every_zarr_series_matches_pynwb_everywhere(request, locate, kind: str, where: str) -> None:
    path = _path(request, kind)
    _check_series(path, locate(path, where))


def _check_series(path: Path, source: str, one_by_one: bool = False) -> list[str]:
    """Every series the oracle sees in the file at `path` (pynwb where it opens the file,
    h5py where it cannot), read by us from `source`: all found at once (match_all: the
    whole file walked), or `one_by_one` by exact path, each from a cold open that walks
    only its series (and its timestamps when first used)."""
    reference = reference_series(path) if pynwb_reads(path) else _h5py_series(path)
    ours = {} if one_by_one else get_timeseries(source, match_all=True)
    walked_narrow: list[str] = []
    assert one_by_one or set(reference) <= set(ours), "a series the oracle sees was not found"
    for series_path, ref in reference.items():
        if one_by_one:
            forget(to_source(source).uri)  # cold: nothing known of the file
            ours[series_path] = get_timeseries(source, series_path, exact_path=True)
            narrow = ours[series_path]._catalog
            group = narrow.get(series_path)
            kind = str(group.neurodata_type or "").lower() if group is not None else ""
            if narrow.scopes is not None and "data" in group.children and kind.endswith("series"):
                # walked in part, a series by its type and data: stored timestamps wait for use
                assert not narrow.covers(f"{series_path}/timestamps"), series_path
                walked_narrow.append(series_path)
        ts = ours[series_path]
        where = f"{source}:{series_path}"
        if not ref["stored_data"]:
            with pytest.raises(SeriesFieldError, match="no data") as info:
                ts.data  # noqa: B018
            assert source in str(info.value) and ts._table_path in str(info.value)
            assert isinstance(info.value, AttributeError)
        else:
            np.testing.assert_array_equal(np.asarray(ts.data[:]), _decoded(ref["data"]),
                                          err_msg=where)
            assert ts.data.shape == ref["data"].shape
        if ref["timestamps"] is not None:
            np.testing.assert_array_equal(np.asarray(ts.timestamps[:]), ref["timestamps"],
                                          err_msg=where)
        assert ts.rate == ref["rate"], where
        expected_start = ref["starting_time"]
        if expected_start is None and ref["timestamps"] is not None and len(ref["timestamps"]):
            expected_start = ref["timestamps"][0]
        if expected_start is not None:
            assert ts.starting_time == expected_start, where
        for attr in ("conversion", "offset", "resolution", "description"):
            assert getattr(ts, attr) == ref[attr], (where, attr)
        # The file's own unit of time, as lazynwb reads it (pynwb always says 'seconds', the
        # schema's fixed value, even where a writer stored 'Seconds')
        assert ts.timestamps_unit == ref["time_unit"], where
        assert ts.unit == (ref["unit"] if ref["stored_unit"] else None), where
        if ref["electrodes"] is not None:
            np.testing.assert_array_equal(ts.electrodes[:], ref["electrodes"])
        else:
            with pytest.raises(AttributeError):
                ts.electrodes  # noqa: B018
    return walked_narrow


HDF5_FILES = ["rich_hdf5", *[str(p) for p in SHARED_FILES]]


@pytest.mark.parametrize("name", HDF5_FILES, ids=lambda n: Path(n).name)
def test_every_series_by_its_path_matches_pynwb(request, name: str) -> None:
    """get_timeseries(f, path, exact_path=True) opens only the series' part of the file,
    its data and starting_time first (issue 16), and its stored timestamps when first used:
    every field still equals the oracle's."""
    path = _path(request, name)
    if is_nwb1(path):
        return  # refused by name: test_every_series_matches_pynwb
    narrow = _check_series(path, str(path), one_by_one=True)
    print(f"\n{path.name}: {len(narrow)} series opened narrow")


@pytest.mark.parametrize("kind", ["rich_hdf5", *ZARR_KINDS])
def test_slicing_matches_numpy(request, kind: str) -> None:
    path = request.getfixturevalue(kind)
    ts = get_timeseries(path, "/acquisition/raw_data", exact_path=True)
    full = np.asarray(ts.data[:])
    keys = [
        5, -1, slice(10, 20), slice(None, None, 7), slice(100, 3, -9), slice(-5, None),
        [3, 1, 3, 2999], np.arange(3000) % 2 == 0, (slice(10, 40), 3), (slice(0, 9), [0, 5, 2]),
        (slice(3, 30, 4), slice(2, 12, 3)), (Ellipsis, 1), (2, -1), (slice(50, 50),),
        (np.array([7, 1]), slice(None, None, -1)), (),
    ]
    for key in keys:
        np.testing.assert_array_equal(ts.data[key], full[key], err_msg=repr(key))
    with pytest.raises(IndexError):
        ts.data[5000]
    rate_ts = ts.timestamps
    assert type(rate_ts).__name__ == "RateTimestamps"
    expected = np.arange(3000) / ts.rate + ts.starting_time
    for key in (slice(100, 200), 7, [5, 3], slice(None, None, 100)):
        np.testing.assert_array_equal(rate_ts[key], expected[key])


@pytest.mark.parametrize("kind", ["rich_hdf5", *ZARR_KINDS])
def test_sample_range_matches_searchsorted(request, kind: str) -> None:
    path = request.getfixturevalue(kind)
    rng = np.random.default_rng(3)
    for term in ("running_speed", "lick_sensor", "reward_times"):
        ts = get_timeseries(path, term)
        times = np.asarray(ts.timestamps[:])
        probes = np.concatenate([rng.uniform(times[0] - 1, times[-1] + 1, 40), times[[0, -1, 5]],
                                 [times[0] - 10, times[-1] + 10]])
        for t0 in probes:
            t1 = t0 + rng.uniform(0, 20)
            expected = (int(np.searchsorted(times, t0, "left")),
                        int(np.searchsorted(times, t1, "right")))
            assert ts.sample_range(t0, t1) == expected, (term, t0, t1)
        window_t, window_x = ts.read_window(times[10], times[15])
        np.testing.assert_array_equal(window_t, times[10:16])
        np.testing.assert_array_equal(window_x, np.asarray(ts.data[10:16]))


def test_search_warns_and_errors_name_things(rich_hdf5: Path) -> None:
    with pytest.warns(UserWarning, match="lick_sensor") as record:
        ts = get_timeseries(rich_hdf5, "acquisition")
    assert "raw_data" in str(record[0].message) and ts._table_path.startswith("/acquisition/")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a whole-name match is not ambiguous
        assert get_timeseries(rich_hdf5, "pupil_area")._table_path.endswith("/pupil_area")
        assert get_timeseries(rich_hdf5, "/acquisition/lick_sensor/data")._table_path == (
            "/acquisition/lick_sensor")
    with pytest.raises(lazynwb.InternalPathError, match="running_speed") as info:
        get_timeseries(rich_hdf5, "no_such_series")
    assert str(rich_hdf5) in str(info.value)
    with pytest.raises(lazynwb.InternalPathError, match="not found"):
        get_timeseries(rich_hdf5, "lick_sensor", exact_path=True)
    with pytest.raises(lazynwb.InternalPathError, match="not a time series"):
        get_timeseries(rich_hdf5, "/units", exact_path=True)
    found = get_timeseries(rich_hdf5, "behavior", match_all=True)
    assert sorted(found) == ["/processing/behavior/BehavioralEvents/reward_times",
                             "/processing/behavior/BehavioralTimeSeries/pupil_area"]
    with pytest.raises(ValueError):
        get_timeseries(rich_hdf5)


def test_other_attributes_and_missing_fields(rich_hdf5: Path) -> None:
    raw = get_timeseries(rich_hdf5, "raw_data")
    assert raw.filtering == "300 Hz high-pass"  # child dataset, lazily read
    assert raw.comments == h5py.File(rich_hdf5)["/acquisition/raw_data"].attrs["comments"]
    with pytest.raises(AttributeError, match="no_such_field"):
        raw.no_such_field  # noqa: B018
    no_data = get_timeseries(
        next(p for p in SHARED_FILES if p.name == "1.5.1_timeseries_no_data.nwb"), "test_timeseries")
    assert len(no_data.timestamps) == 0 and no_data.starting_time == 0.0 and no_data.rate == 1.0
    assert no_data.sample_range(0, 10) == (0, 0)


# -- bounded reads over HTTP -----------------------------------------------------------------

N_LONG = 10_000_000
CHUNK = 65_536


@pytest.fixture(scope="module")
def long_file(served: Path) -> Path:
    """10 M samples twice: contiguous float64 with stored (irregular) timestamps, and gzip
    chunked int16 sampled at a rate."""
    from datetime import datetime, timezone

    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    path = served / "timeseries_10m_samples.nwb"  # unique: other modules write to served/ too
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    nwb = NWBFile(session_description="long", identifier="long",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    times = np.cumsum(rng.uniform(0.5, 1.5, N_LONG)) / 1000.0
    nwb.add_acquisition(TimeSeries(name="contiguous", data=np.sin(times), unit="V",
                                   timestamps=times))
    ramp = (np.arange(N_LONG) % 1000).astype(np.int16)
    nwb.add_acquisition(TimeSeries(
        name="chunked", unit="V", rate=30_000.0, starting_time=0.0,
        data=H5DataIO(ramp, chunks=(CHUNK,), compression="gzip")))
    grid = (np.arange(100_000 * 32) % 30_011).astype(np.int16).reshape(100_000, 32)
    nwb.add_acquisition(TimeSeries(
        name="channels", unit="uV", rate=1000.0, starting_time=0.0,
        data=H5DataIO(grid, chunks=(10_000, 8))))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def _chunk_bytes(path: Path, internal: str, a: int, b: int) -> int:
    with h5py.File(path) as f:
        ds = f[internal]
        return sum(ds.id.get_chunk_info_by_coord((c * CHUNK,)).size
                   for c in range(a // CHUNK, (b - 1) // CHUNK + 1))


def test_10k_slice_of_10m_series_reads_only_its_bytes(long_file: Path, http_server, locate) -> None:
    url = locate(long_file, "http")
    a, b = 4_321_000, 4_331_000
    http_server.reset_stats()
    with counting() as cold:
        ts = get_timeseries(url, "/acquisition/contiguous", exact_path=True)
        values = ts.data[a:b]
    cold_bytes = http_server.stats.bytes_sent
    with h5py.File(long_file) as f:
        np.testing.assert_array_equal(values, f["/acquisition/contiguous/data"][a:b])
    http_server.reset_stats()
    with counting() as warm:
        again = ts.data[a:b]
    np.testing.assert_array_equal(again, values)
    slice_bytes = (b - a) * 8
    assert http_server.stats.bytes_sent == warm.bytes == slice_bytes, warm
    assert warm.requests == 1 and warm.rounds == 1
    metadata_bytes = cold_bytes - slice_bytes
    assert metadata_bytes < 2 * 1024 * 1024, (cold, cold_bytes)  # vs an 160 MB file
    print(f"\n10k of 10M contiguous over HTTP: cold {cold.requests} requests / {cold_bytes} bytes "
          f"({metadata_bytes} metadata); warm {warm.requests} request / {warm.bytes} bytes")

    chunked = get_timeseries(url, "/acquisition/chunked", exact_path=True)
    http_server.reset_stats()
    with counting() as c:
        ramp = chunked.data[a:b]
    np.testing.assert_array_equal(ramp, (np.arange(a, b) % 1000).astype(np.int16))
    touched = _chunk_bytes(long_file, "/acquisition/chunked/data", a, b)
    assert http_server.stats.bytes_sent == c.bytes
    # at most the touched chunks plus the chunk-index (B-tree) blocks they are looked up in
    # (less when small compressed chunks already sit in blocks read with the metadata)
    block = lazynwb.config.block_size
    assert c.bytes <= touched + 3 * block and c.requests <= 4, (c, touched)
    http_server.reset_stats()
    with counting() as c2:  # index now known: the next slice costs its chunks at most
        again = chunked.data[a + 20_000 : b + 20_000]
    np.testing.assert_array_equal(again, (np.arange(a + 20_000, b + 20_000) % 1000).astype(np.int16))
    # (zero when those small chunks already sit in metadata blocks read for the index)
    assert c2.bytes <= _chunk_bytes(long_file, "/acquisition/chunked/data", a + 20_000, b + 20_000)
    assert c2.rounds <= 1
    print(f"10k of 10M gzip-chunked: {c.requests} requests / {c.bytes} bytes "
          f"(touched chunks {touched} bytes); next slice {c2.requests} / {c2.bytes} bytes")
    times = chunked.timestamps[a:b]  # computed, nothing read
    np.testing.assert_array_equal(times, np.arange(a, b) / 30_000.0)


def test_time_window_reads_few_bytes_and_rounds(long_file: Path, http_server, locate) -> None:
    url = locate(long_file, "http")
    ts = get_timeseries(url, "/acquisition/contiguous", exact_path=True)
    with h5py.File(long_file) as f:
        times = f["/acquisition/contiguous/timestamps"]
        t0, t1 = float(times[6_000_000]) + 1e-7, float(times[6_010_000])
        expected = (int(np.searchsorted(times[5_990_000:6_020_000], t0)) + 5_990_000,
                    int(np.searchsorted(times[5_990_000:6_020_000], t1, "right")) + 5_990_000)
    with counting() as c:
        assert ts.sample_range(t0, t1) == expected
    assert c.bytes < 200_000 and c.rounds <= 6, c  # not 80 MB of timestamps
    with counting() as w:
        window_t, window_x = ts.read_window(t0, t1)
    assert len(window_t) == len(window_x) == expected[1] - expected[0]
    assert w.bytes < 2 * (expected[1] - expected[0]) * 8 + 200_000, w
    print(f"\ntime window of 10k samples in 10M: search {c.requests} requests / {c.bytes} bytes /"
          f" {c.rounds} rounds; window read {w.requests} requests / {w.bytes} bytes")
    assert searchsorted(ts.timestamps, [t0], "left") == [expected[0]]


def test_channel_slice_reads_only_its_column_chunks(long_file: Path, http_server, locate) -> None:
    """data[a:b, ch] on a (rows x channels)-chunked dataset fetches the chunks of that
    channel block only, not every channel's."""
    ts = get_timeseries(locate(long_file, "http"), "/acquisition/channels", exact_path=True)
    with h5py.File(long_file) as f:
        expected = f["/acquisition/channels/data"][12_000:15_000, 3]
    ts.data[0:1, 0]  # warm the chunk index
    with counting() as c:
        got = ts.data[12_000:15_000, 3]
    np.testing.assert_array_equal(got, expected)
    chunk_bytes = 10_000 * 8 * 2  # one (10000, 8) int16 chunk
    assert c.bytes == chunk_bytes and c.requests == 1, c  # 1 of the 4 chunks in that row


@pytest.mark.parametrize("kind,where", [("rich_hdf5", "http"), ("rich_hdf5", "s3"),
                                        ("rich_zarr", "s3"), ("rich_zarr_v3_sharded", "http"),
                                        ("rich_zarr_v3_sharded", "s3")])
def test_remote_series_equal_local(request, locate, kind: str, where: str) -> None:
    path = request.getfixturevalue(kind)
    local = get_timeseries(path, match_all=True)
    remote = get_timeseries(locate(path, where), match_all=True)
    assert list(remote) == list(local)
    for name, ts in local.items():
        other = remote[name]
        np.testing.assert_array_equal(other.data[:], ts.data[:])
        np.testing.assert_array_equal(other.timestamps[:], ts.timestamps[:])
        np.testing.assert_array_equal(other.data[3:9], ts.data[3:9])
        assert (other.rate, other.unit, other.conversion) == (ts.rate, ts.unit, ts.conversion)
        times = np.asarray(ts.timestamps[:])
        if len(times) > 2:
            t0, t1 = times[1], times[len(times) // 2]
            assert other.sample_range(t0, t1) == ts.sample_range(t0, t1)
