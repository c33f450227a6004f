"""Deterministic writers of realistic NWB test files (HDF5 via pynwb, Zarr via hdmf-zarr).

These are fixtures for the reader's tests, which compare ``lazynwb_explorer`` against what
pynwb itself returns.  Everything is generated from a seeded ``numpy.random.default_rng`` so the
*data* is reproducible; note that pynwb assigns random ``object_id`` UUIDs to every container, so
files are not byte-identical between runs.

Public API (all writers take an output path first, write the file, and return the path):

* :func:`make_rich_nwbfile` -> in-memory ``pynwb.NWBFile`` (no backend-specific wrappers, so it can
  be written with either backend)
* :func:`write_hdf5`, :func:`write_zarr`
* :func:`write_units_pushdown_file` (large, chunked /units table for predicate-pushdown tests)
* :func:`write_many_sessions`
* :func:`write_conflicting_types_pair`
* :func:`write_non_nwb_hdf5`, :func:`write_truncated_copy`, :func:`write_text_file_with_nwb_suffix`

Layout summary of the "rich" file (defaults n_units=50, n_trials=40, n_electrodes=16):

* ``/general/extracellular_ephys/electrodes``: x, y, z, imp (float64), location (str),
  filtering (str), group (object reference -> ElectrodeGroup), group_name (str),
  bad_channel (bool)
* ``/units``: unit_id (int64), presence_ratio (float64), location (str), quality (str),
  is_good (bool), spike_times (+ _index, ragged float64), obs_intervals (+ _index, ragged
  (n, 2) float64), electrodes (+ _index, ragged DynamicTableRegion int), waveform_mean
  (float32, (n_units, 30, 4)), spike_amplitudes_by_epoch (+ _index + _index_index, doubly
  ragged float64)
* ``/intervals/trials``: start_time, stop_time (float64), correct (bool), response (str),
  contrast (float64), stim_name (str), tags (+ _index, ragged str), lick_times (+ _index,
  ragged float64, some rows empty)
* ``/intervals/epochs``: start_time, stop_time, tags (+ _index), timeseries (+ _index,
  TimeSeriesReferenceVectorData compound (idx_start, count, timeseries ref))
* ``/acquisition``: running_speed (timestamps), lick_sensor (starting_time + rate),
  raw_data (ElectricalSeries int16, conversion/offset != 1/0)
* ``/processing/behavior``: BehavioralTimeSeries/pupil_area, BehavioralEvents/reward_times
* ``/events/lick_events`` (EventsTable; only when the installed pynwb has EventsTable)
* ``/stimulus/presentation/grating_contrast``
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np
import pynwb
from hdmf.backends.hdf5.h5_utils import H5DataIO
from hdmf.data_utils import DataChunkIterator
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.behavior import BehavioralEvents, BehavioralTimeSeries
from pynwb.ecephys import ElectricalSeries
from pynwb.file import Subject
from pynwb.misc import Units

try:  # pynwb >= 3.1 (NWB schema 2.9+)
    from pynwb.event import EventsTable
except ImportError:  # pragma: no cover - older pynwb
    EventsTable = None

PathLike = str | Path

SESSION_START_TIME = datetime(2023, 5, 17, 13, 45, 7, tzinfo=timezone(timedelta(hours=-7)))
DATE_OF_BIRTH = datetime(2023, 2, 16, tzinfo=timezone(timedelta(hours=-8)))

UNIT_LOCATIONS = ("VISp", "CA1", "LGd")
ELECTRODE_LOCATIONS = ("VISp", "VISp", "CA1", "CA1", "LGd", "DG")
QUALITIES = ("good", "mua", "noise")
RESPONSES = ("left", "right", "no_go")
STIM_NAMES = ("drifting_gratings", "static_gratings", "natural_scenes")
TRIAL_TAGS = ("go", "nogo", "catch", "opto", "reward")

WAVEFORM_N_SAMPLES = 30
WAVEFORM_N_CHANNELS = 4
RAW_RATE = 30_000.0
RAW_CONVERSION = 0.195e-6
RAW_OFFSET = -1.5e-4
LICK_RATE = 100.0
LICK_STARTING_TIME = 0.5


# --------------------------------------------------------------------------------------
# feature detection for version quirks
# --------------------------------------------------------------------------------------
def _docval_arg_names(func) -> set[str]:
    return {a["name"] for a in getattr(func, "__docval__", {}).get("args", [])}


SUBJECT_SUPPORTS_AGE_REFERENCE = "age__reference" in _docval_arg_names(Subject.__init__)
TIMESERIES_SUPPORTS_OFFSET = "offset" in _docval_arg_names(TimeSeries.__init__)
HAS_EVENTS_TABLE = EventsTable is not None and hasattr(NWBFile, "add_events_table")


def _supports_doubly_ragged() -> bool:
    from hdmf.common import DynamicTable

    t = DynamicTable(name="probe", description="probe")
    try:
        t.add_column(name="x", description="x", index=2)
        t.add_row(x=[[1.0, 2.0], [3.0]])
    except Exception:  # pragma: no cover - old hdmf
        return False
    return True


SUPPORTS_INDEX_2 = _supports_doubly_ragged()


# --------------------------------------------------------------------------------------
# rich in-memory NWBFile
# --------------------------------------------------------------------------------------
def _sorted_uniform(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    return np.sort(rng.uniform(lo, hi, size=n))


def make_rich_nwbfile(
    seed: int = 0,
    n_units: int = 50,
    n_trials: int = 40,
    n_electrodes: int = 16,
    *,
    n_running_samples: int = 10_000,
    n_lick_samples: int = 20_000,
    n_raw_samples: int = 3_000,
    n_pupil_samples: int = 2_000,
    max_spikes_per_unit: int = 200,
    session_duration: float = 200.0,
    identifier: str | None = None,
    session_id: str | None = None,
    include_doubly_ragged: bool = True,
    include_epochs: bool = True,
    include_epoch_timeseries: bool = True,
    include_events_table: bool = True,
) -> NWBFile:
    """Build (in memory, not written) a realistic ``NWBFile``; deterministic given ``seed``.

    Guarantees the tests can rely on:

    * units row 1 has zero spikes (when n_units >= 2), row 0 at least one; spike counts otherwise
      in ``[0, max_spikes_per_unit]``; spike_times sorted within each unit
    * exactly ``round(n_units / 3)`` units have ``presence_ratio >= 0.95``
    * ``unit_id = 1000 + 7 * row`` (distinct from the table's ``id`` = row)
    * ``is_good == (quality == 'good')``
    * unit ``location`` cycles deterministically with shuffled order over VISp/CA1/LGd (every
      value present when n_units >= 3)
    * trials row 0 has an empty ``lick_times`` list (when n_trials >= 2), row 1 a non-empty one;
      trials are non-overlapping and sorted
    """
    rng = np.random.default_rng(seed)
    identifier = identifier or f"lazynwb-explorer-test-seed{seed:04d}"
    session_id = session_id or f"session_{seed:04d}"

    nwbfile = NWBFile(
        session_description=f"Synthetic visual behavior + ephys session (seed={seed})",
        identifier=identifier,
        session_start_time=SESSION_START_TIME + timedelta(days=seed),
        session_id=session_id,
        experiment_description="Head-fixed mouse performing a visual change detection task "
        "while Neuropixels probes record from visual cortex, hippocampus and thalamus.",
        experimenter=["Doe, Jane", "Roe, Richard"],
        lab="Synthetic Neurophysiology Lab",
        institution="Institute for Deterministic Test Data",
        keywords=["ecephys", "visual cortex", "neuropixels", "behavior"],
        related_publications=["doi:10.1234/lazynwb.0001", "https://example.org/paper"],
        notes="Generated by tests/nwb_factory.py; not real data.",
        pharmacology="none",
        surgery="Headpost implantation and craniotomy over VISp.",
    )

    subject_kwargs: dict[str, Any] = dict(
        subject_id=f"mouse_{600000 + seed}",
        age="P90D",
        sex="M",
        species="Mus musculus",
        genotype="Sst-IRES-Cre/wt;Ai32(RCL-ChR2(H134R)_EYFP)/wt",
        strain="C57BL/6J",
        date_of_birth=DATE_OF_BIRTH,
        weight="0.025 kg",
        description="Synthetic adult mouse used for reader tests.",
    )
    if SUBJECT_SUPPORTS_AGE_REFERENCE:
        subject_kwargs["age__reference"] = "birth"
    nwbfile.subject = Subject(**subject_kwargs)

    # ---------------------------------------------------------------- electrodes
    n_groups = 2 if n_electrodes >= 2 else 1
    groups = []
    for g in range(n_groups):
        probe_name = f"probe{'ABCDEF'[g]}"
        with warnings.catch_warnings():
            # pynwb 4 deprecates Device.manufacturer (-> DeviceModel); most files in the wild use it
            warnings.filterwarnings(
                "ignore", message=".*manufacturer.*", category=DeprecationWarning
            )
            device = nwbfile.create_device(
                name=probe_name,
                description=f"Neuropixels 1.0 probe {probe_name}",
                manufacturer="IMEC",
            )
        groups.append(
            nwbfile.create_electrode_group(
                name=f"{probe_name}_shank0",
                description=f"Shank 0 of {probe_name}",
                location="VISp" if g == 0 else "CA1",
                device=device,
            )
        )
    nwbfile.add_electrode_column(name="bad_channel", description="channel flagged as bad")
    bad = rng.random(n_electrodes) < 0.15
    for i in range(n_electrodes):
        group = groups[i * n_groups // n_electrodes]
        nwbfile.add_electrode(
            x=float(8000.0 + 20.0 * (i % 2)),
            y=float(2000.0 - 20.0 * i),
            z=float(6000.0 + rng.normal(0, 5)),
            imp=float(rng.uniform(1.0e5, 3.0e5)),
            location=ELECTRODE_LOCATIONS[i * len(ELECTRODE_LOCATIONS) // n_electrodes],
            filtering="AP band: 500 Hz high-pass; LFP band: 1000 Hz low-pass",
            group=group,
            bad_channel=bool(bad[i]),
        )

    # ---------------------------------------------------------------- units
    units = Units(
        name="units",
        description="Sorted units (synthetic Kilosort-like output)",
        electrode_table=nwbfile.electrodes,
        waveform_rate=RAW_RATE,
        waveform_unit="volts",
        resolution=1.0 / RAW_RATE,
    )
    nwbfile.units = units
    units.add_column(name="unit_id", description="sorter cluster id")
    units.add_column(name="presence_ratio", description="fraction of session the unit was present")
    units.add_column(name="location", description="brain area of the peak channel")
    units.add_column(name="quality", description="curation label")
    units.add_column(name="is_good", description="passes quality control")
    if include_doubly_ragged and SUPPORTS_INDEX_2:
        units.add_column(
            name="spike_amplitudes_by_epoch",
            description="spike amplitudes (uV) grouped by behavioral epoch (doubly ragged)",
            index=2,
        )

    n_high = int(round(n_units / 3))
    presence = rng.uniform(0.05, 0.94, size=n_units)
    high_rows = rng.permutation(n_units)[:n_high]
    presence[high_rows] = rng.uniform(0.95, 1.0, size=n_high)
    loc_order = rng.permutation(len(UNIT_LOCATIONS))
    spike_counts = rng.integers(0, max_spikes_per_unit + 1, size=n_units)
    if n_units >= 1:
        spike_counts[0] = max(int(spike_counts[0]), 1)
    if n_units >= 2:
        spike_counts[1] = 0
    t_wave = np.arange(WAVEFORM_N_SAMPLES, dtype=np.float64)
    template = -np.exp(-0.5 * ((t_wave - 10) / 2.0) ** 2) + 0.4 * np.exp(
        -0.5 * ((t_wave - 16) / 4.0) ** 2
    )
    for row in range(n_units):
        quality = QUALITIES[int(rng.integers(0, len(QUALITIES)))]
        spike_times = _sorted_uniform(rng, int(spike_counts[row]), 0.0, session_duration)
        n_obs = int(rng.integers(1, 4))
        edges = _sorted_uniform(rng, 2 * n_obs, 0.0, session_duration)
        obs_intervals = edges.reshape(n_obs, 2).tolist()
        n_el = int(rng.integers(1, min(4, n_electrodes) + 1))
        first = int(rng.integers(0, n_electrodes - n_el + 1))
        electrodes = list(range(first, first + n_el))
        amp = rng.uniform(40.0, 200.0) * 1e-6
        profile = np.exp(-0.5 * (np.arange(WAVEFORM_N_CHANNELS) - rng.uniform(0, 3)) ** 2)
        waveform = (amp * template[:, None] * profile[None, :]).astype(np.float32)
        kw: dict[str, Any] = dict(
            spike_times=spike_times,
            obs_intervals=obs_intervals,
            electrodes=electrodes,
            waveform_mean=waveform,
            unit_id=1000 + 7 * row,
            presence_ratio=float(presence[row]),
            location=UNIT_LOCATIONS[loc_order[row % len(UNIT_LOCATIONS)]],
            quality=quality,
            is_good=quality == "good",
        )
        if "spike_amplitudes_by_epoch" in units.colnames:
            n_epochs = int(rng.integers(1, 4))
            kw["spike_amplitudes_by_epoch"] = [
                np.round(rng.uniform(20, 300, size=int(rng.integers(1, 6))), 3).tolist()
                for _ in range(n_epochs)
            ]
        units.add_unit(**kw)

    # ---------------------------------------------------------------- acquisition
    mean_dt = session_duration / n_running_samples
    dt = np.clip(rng.normal(mean_dt, 0.05 * mean_dt, size=n_running_samples), 0.5 * mean_dt, None)
    running_ts = 0.25 + np.cumsum(dt) - dt[0]  # irregular, strictly increasing
    running = TimeSeries(
        name="running_speed",
        description="running speed of the mouse on the wheel",
        data=(10 + 5 * np.sin(running_ts / 7.0) + rng.normal(0, 1, n_running_samples)).astype(
            np.float32
        ),
        unit="cm/s",
        timestamps=running_ts,
    )
    lick = TimeSeries(
        name="lick_sensor",
        description="capacitive lick sensor (1 = tongue contact)",
        data=(rng.random(n_lick_samples) < 0.05).astype(np.uint8),
        unit="n.a.",
        starting_time=LICK_STARTING_TIME,
        rate=LICK_RATE,
        continuity="step",
    )
    raw_kwargs: dict[str, Any] = dict(
        name="raw_data",
        description="raw AP-band voltage",
        data=rng.normal(0, 200, size=(n_raw_samples, n_electrodes)).astype(np.int16),
        electrodes=nwbfile.create_electrode_table_region(
            region=list(range(n_electrodes)), description="all electrodes"
        ),
        starting_time=0.0,
        rate=RAW_RATE,
        conversion=RAW_CONVERSION,
        filtering="300 Hz high-pass",
    )
    if TIMESERIES_SUPPORTS_OFFSET:
        raw_kwargs["offset"] = RAW_OFFSET
    raw = ElectricalSeries(**raw_kwargs)
    for ts in (running, lick, raw):
        nwbfile.add_acquisition(ts)

    # ---------------------------------------------------------------- processing/behavior
    behavior = nwbfile.create_processing_module(
        name="behavior", description="processed behavioral data"
    )
    pupil_ts = np.linspace(0.0, session_duration, n_pupil_samples)
    bts = BehavioralTimeSeries(name="BehavioralTimeSeries")
    bts.add_timeseries(
        TimeSeries(
            name="pupil_area",
            description="pupil area from ellipse fit",
            data=(1500 + 200 * np.cos(pupil_ts / 13.0) + rng.normal(0, 20, n_pupil_samples)),
            unit="pixels ** 2",
            timestamps=pupil_ts,
        )
    )
    behavior.add(bts)
    n_rewards = max(1, n_trials // 2)
    reward_times = _sorted_uniform(rng, n_rewards, 0.0, session_duration)
    with warnings.catch_warnings():
        # pynwb >= 3.1 deprecates BehavioralEvents in favour of EventsTable; files in the wild still
        # have it, so keep writing one.
        warnings.filterwarnings("ignore", message="BehavioralEvents is deprecated")
        bev = BehavioralEvents(name="BehavioralEvents")
    bev.add_timeseries(
        TimeSeries(
            name="reward_times",
            description="water reward deliveries (volume in uL)",
            data=np.full(n_rewards, 5.0),
            unit="uL",
            timestamps=reward_times,
        )
    )
    behavior.add(bev)

    # ---------------------------------------------------------------- trials
    nwbfile.add_trial_column(name="correct", description="mouse responded correctly")
    nwbfile.add_trial_column(name="response", description="response direction")
    nwbfile.add_trial_column(name="contrast", description="stimulus contrast (0-1)")
    nwbfile.add_trial_column(name="stim_name", description="stimulus block name")
    nwbfile.add_trial_column(name="lick_times", description="lick times within trial", index=True)
    t = 1.0
    trial_starts = []
    contrasts = rng.choice([0.0, 0.05, 0.1, 0.25, 0.5, 1.0], size=n_trials)
    for i in range(n_trials):
        start = t
        stop = start + float(rng.uniform(2.5, 3.5))
        t = stop + float(rng.uniform(0.5, 1.5))
        trial_starts.append(start)
        # row 0 empty, row 1 non-empty (so the column dtype can always be inferred)
        n_licks = 0 if (i == 0 and n_trials > 1) else int(rng.integers(1 if i <= 1 else 0, 6))
        n_tags = int(rng.integers(1, 3))
        nwbfile.add_trial(
            start_time=float(start),
            stop_time=float(stop),
            tags=[str(x) for x in rng.choice(TRIAL_TAGS, size=n_tags, replace=False)],
            correct=bool(rng.random() < 0.7),
            response=RESPONSES[int(rng.integers(0, len(RESPONSES)))],
            contrast=float(contrasts[i]),
            stim_name=STIM_NAMES[(i * len(STIM_NAMES)) // n_trials],
            lick_times=_sorted_uniform(rng, n_licks, start, stop).tolist(),
        )

    # ---------------------------------------------------------------- epochs
    if include_epochs:
        # keep epochs inside the span of both referenced series so idx_start/count are valid
        lo = max(float(running_ts[0]), LICK_STARTING_TIME)
        hi = min(float(running_ts[-1]), LICK_STARTING_TIME + (n_lick_samples - 1) / LICK_RATE)
        edges = np.linspace(lo, hi, 4)
        for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            nwbfile.add_epoch(
                start_time=float(a),
                stop_time=float(b),
                tags=[STIM_NAMES[k], "task" if k != 1 else "passive"],
                timeseries=[running, lick] if include_epoch_timeseries else None,
            )

    # ---------------------------------------------------------------- events table
    if include_events_table and HAS_EVENTS_TABLE:
        lick_events = EventsTable(
            name="lick_events",
            description="lick onsets detected from lick_sensor",
            source_description="Thresholding of lick_sensor at 0.5",
        )
        lick_events.add_column(name="lick_side", description="spout that was licked")
        on = np.flatnonzero(np.asarray(lick.data))[:25]
        for j, idx in enumerate(on):
            lick_events.add_event(
                timestamp=float(LICK_STARTING_TIME + idx / LICK_RATE),
                duration=float(1 / LICK_RATE),
                lick_side="left" if j % 2 == 0 else "right",
            )
        nwbfile.add_events_table(lick_events)

    # ---------------------------------------------------------------- stimulus
    nwbfile.add_stimulus(
        TimeSeries(
            name="grating_contrast",
            description="contrast of the presented grating at each trial onset",
            data=contrasts.astype(np.float64),
            unit="n.a.",
            timestamps=np.asarray(trial_starts, dtype=np.float64),
        )
    )
    return nwbfile


# --------------------------------------------------------------------------------------
# generic writers
# --------------------------------------------------------------------------------------
def _hdmf_write_supports_expandable() -> bool:
    from hdmf.backends.hdf5.h5tools import HDF5IO

    return "expandable" in _docval_arg_names(HDF5IO.write)


#: hdmf >= 4.x writes DynamicTable columns / ids "expandable" (maxshape=(None, ...), hence chunked
#: with hdmf's default chunk shape) unless ``io.write(..., expandable=())`` is passed.
HDMF_WRITE_SUPPORTS_EXPANDABLE = _hdmf_write_supports_expandable()


def _hdf5_write(path: Path, nwbfile: NWBFile, contiguous: bool, libver: str | None = None) -> None:
    kwargs: dict[str, Any] = {}
    if contiguous and HDMF_WRITE_SUPPORTS_EXPANDABLE:
        kwargs["expandable"] = ()
    if libver is None:
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwbfile, **kwargs)
        return
    with h5py.File(path, "w", libver=libver) as f, NWBHDF5IO(file=f, mode="w") as io:
        io.write(nwbfile, **kwargs)


def write_hdf5(
    path: PathLike,
    nwbfile: NWBFile | None = None,
    *,
    contiguous: bool = False,
    libver: str | None = None,
    **opts: Any,
) -> Path:
    """Write ``nwbfile`` (or a fresh ``make_rich_nwbfile(**opts)``) with ``NWBHDF5IO``.

    ``contiguous=False`` (default) keeps hdmf's own default layout: with the installed hdmf
    (>= 4) every DynamicTable column and ``id`` is chunked + resizable (maxshape ``(None, ...)``),
    while TimeSeries data/timestamps are contiguous.  ``contiguous=True`` passes
    ``expandable=()`` so table columns are contiguous too (the layout of files written by older
    hdmf, which is what most files on DANDI look like).  ``libver='latest'`` writes through an
    h5py file with the newest format structures (v2 object headers, link messages, fixed /
    extensible array chunk indexes), as some converters do.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if nwbfile is None:
        nwbfile = make_rich_nwbfile(**opts)
    elif opts:
        raise TypeError("pass either an nwbfile or make_rich_nwbfile options, not both")
    _hdf5_write(path, nwbfile, contiguous, libver)
    return path


@contextlib.contextmanager
def pickle_decode_allowed(allow: bool = True) -> Iterator[None]:
    """Temporarily set ``numcodecs.pickles.ALLOW_UNSAFE_PICKLE_DECODE`` (restored on exit).

    The installed numcodecs refuses ``Pickle.decode`` unless this process-wide flag is set (or the
    ``NUMCODECS_ALLOW_UNSAFE_PICKLE_DECODE=1`` env var was set before import).  hdmf-zarr's
    default object codec is Pickle, used for object references (electrodes ``group`` column,
    epochs ``timeseries`` compound column), so reading such files back with ``NWBZarrIO``
    -- and even *writing* the compound column, because zarr decodes the pickled fill_value --
    needs this.  Older numcodecs has no such flag; then this is a no-op.
    """
    import numcodecs.pickles as _pickles

    had = hasattr(_pickles, "ALLOW_UNSAFE_PICKLE_DECODE")
    old = getattr(_pickles, "ALLOW_UNSAFE_PICKLE_DECODE", None)
    if had:
        _pickles.ALLOW_UNSAFE_PICKLE_DECODE = allow
    try:
        yield
    finally:
        if had:
            _pickles.ALLOW_UNSAFE_PICKLE_DECODE = old


def write_zarr(
    path: PathLike,
    nwbfile: NWBFile | None = None,
    *,
    object_codec: Literal["pickle", "json"] = "pickle",
    **opts: Any,
) -> Path:
    """Write ``nwbfile`` (or a fresh ``make_rich_nwbfile(**opts)``) as a Zarr directory.

    * ``object_codec="pickle"`` (default, what ``NWBZarrIO(path, mode="w")`` produces and what
      real hdmf-zarr files contain): written with ``NWBZarrIO``; object-reference datasets get
      ``filters=[{"id": "pickle", "protocol": 5}]``.  Pickle decoding is enabled only for the
      duration of the write (see :func:`pickle_decode_allowed`).
    * ``object_codec="json"``: ``NWBZarrIO`` silently drops its ``object_codec_class`` argument
      (hdmf-zarr 0.13), so this uses ``hdmf_zarr.backend.ZarrIO`` with ``pynwb.get_manager()`` and
      ``numcodecs.JSON``.  numcodecs.JSON cannot decode the compound
      (idx_start, count, timeseries-ref) dtype, so when building the file here the epochs
      ``timeseries`` column is omitted (``include_epoch_timeseries=False``).

    Strings are always ``dtype "|O"`` with ``filters=[{"id": "vlen-utf8"}]`` (safe to decode).
    """
    import numcodecs
    from hdmf_zarr.backend import ZarrIO
    from hdmf_zarr.nwb import NWBZarrIO

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if nwbfile is None:
        if object_codec == "json":
            opts.setdefault("include_epoch_timeseries", False)
        nwbfile = make_rich_nwbfile(**opts)
    elif opts:
        raise TypeError("pass either an nwbfile or make_rich_nwbfile options, not both")
    if object_codec == "pickle":
        with pickle_decode_allowed(), NWBZarrIO(str(path), mode="w") as io:
            io.write(nwbfile)
    elif object_codec == "json":
        with ZarrIO(
            str(path), mode="w", manager=pynwb.get_manager(), object_codec_class=numcodecs.JSON
        ) as io:
            io.write(nwbfile)
    else:
        raise ValueError(f"object_codec must be 'pickle' or 'json', got {object_codec!r}")
    return path


def _write(
    path: PathLike, nwbfile: NWBFile, fmt: Literal["hdf5", "zarr"], contiguous: bool = False
) -> Path:
    if fmt == "hdf5":
        return write_hdf5(path, nwbfile, contiguous=contiguous)
    if fmt == "zarr":
        return write_zarr(path, nwbfile)
    raise ValueError(f"unknown fmt {fmt!r}; expected 'hdf5' or 'zarr'")


# --------------------------------------------------------------------------------------
# large units file for predicate pushdown / byte-count tests
# --------------------------------------------------------------------------------------
PUSHDOWN_OTHER_LOCATIONS = ("CA1", "LGd", "MOs", "DG")


def pushdown_waveform(row: int, waveform_shape: tuple[int, int] = (82, 384)) -> np.ndarray:
    """The exact float32 waveform_mean written for ``row`` by :func:`write_units_pushdown_file`.

    Cheap rank-1 outer product: a spike template along samples times a Gaussian channel profile
    centred on a row-dependent peak channel, scaled by ``1 + row``; so every row is distinct and
    ``waveform[row].min() == -(1 + row) * 1e-6`` exactly (up to float32 rounding).
    """
    n_samples, n_channels = waveform_shape
    t = np.arange(n_samples, dtype=np.float64)
    template = -np.exp(-0.5 * ((t - n_samples * 0.35) / 3.0) ** 2)
    peak = (row * 37) % n_channels
    profile = np.exp(-0.5 * ((np.arange(n_channels) - peak) / 6.0) ** 2)
    template /= -template.min()
    profile /= profile.max()
    return ((1 + row) * 1e-6 * np.outer(template, profile)).astype(np.float32)


def _pushdown_waveform_iter(n_units: int, waveform_shape: tuple[int, int]) -> Iterator[np.ndarray]:
    for row in range(n_units):
        yield pushdown_waveform(row, waveform_shape)


def make_units_pushdown_nwbfile(
    n_units: int = 1000,
    waveform_shape: tuple[int, int] = (82, 384),
    seed: int = 0,
    *,
    column_io: Callable[[str, Any], Any] | None = None,
    mean_spikes_per_unit: int = 300,
    visp_fraction: float = 0.2,
    session_duration: float = 3600.0,
) -> NWBFile:
    """The in-memory NWBFile of :func:`write_units_pushdown_file` (see there for the columns).

    ``column_io(name, data)`` may wrap a column's data (``unit_id``, ``presence_ratio``,
    ``location``, ``spike_times``, ``waveform_mean``) in a backend's DataIO (chunking,
    sharding); ``waveform_mean`` is then handed over as a DataChunkIterator (memory stays
    small). Without it the data is given as is (``waveform_mean`` as an array in memory).
    """
    rng = np.random.default_rng(seed)
    waveform_shape = tuple(int(s) for s in waveform_shape)
    wrap = column_io or (lambda name, data: data)

    nwbfile = NWBFile(
        session_description="Large units table for predicate pushdown tests",
        identifier=f"lazynwb-pushdown-seed{seed:04d}",
        session_start_time=SESSION_START_TIME,
        session_id=f"pushdown_{seed:04d}",
    )

    counts = rng.poisson(mean_spikes_per_unit, size=n_units)
    ends = np.cumsum(counts)
    unit_of_spike = np.repeat(np.arange(n_units), counts)
    raw_times = rng.uniform(0.0, session_duration, size=int(ends[-1]) if n_units else 0)
    spike_times = raw_times[np.lexsort((raw_times, unit_of_spike))]

    n_visp = int(round(visp_fraction * n_units))
    locations = np.array(
        [PUSHDOWN_OTHER_LOCATIONS[i % len(PUSHDOWN_OTHER_LOCATIONS)] for i in range(n_units)],
        dtype=object,
    )
    locations[rng.permutation(n_units)[:n_visp]] = "VISp"
    presence = rng.uniform(0.0, 1.0, size=n_units)

    units = Units(
        name="units",
        id=list(range(n_units)),
        description="large synthetic units table",
        waveform_rate=RAW_RATE,
        waveform_unit="volts",
        resolution=1.0 / RAW_RATE,
    )
    units.add_column(name="unit_id", description="sorter cluster id",
                     data=wrap("unit_id", (5000 + np.arange(n_units)).tolist()))
    units.add_column(name="presence_ratio", description="presence ratio",
                     data=wrap("presence_ratio", presence.tolist()))
    units.add_column(name="location", description="brain area",
                     data=wrap("location", locations.tolist()))
    with warnings.catch_warnings():
        # passing explicit index offsets for a predefined index=True column warns in hdmf>=4
        warnings.filterwarnings("ignore", message="Column 'spike_times' is predefined")
        units.add_column(
            name="spike_times", description="spike times (s)",
            data=wrap("spike_times", spike_times), index=ends.tolist(),
        )
    if column_io is None:
        waveforms = np.stack([pushdown_waveform(r, waveform_shape) for r in range(n_units)])
    else:
        waveforms = column_io("waveform_mean", DataChunkIterator(
            data=_pushdown_waveform_iter(n_units, waveform_shape),
            maxshape=(n_units, *waveform_shape), dtype=np.dtype("float32"), buffer_size=8,
        ))
    units.add_column(name="waveform_mean", description="mean waveform", data=waveforms)
    nwbfile.units = units
    return nwbfile


def write_units_pushdown_file(
    path: PathLike,
    n_units: int = 1000,
    waveform_shape: tuple[int, int] = (82, 384),
    seed: int = 0,
    chunked: bool = True,
    *,
    mean_spikes_per_unit: int = 300,
    spike_times_chunk: int = 10_000,
    visp_fraction: float = 0.2,
    session_duration: float = 3600.0,
) -> Path:
    """HDF5 NWB file whose /units has ``n_units`` rows and a big float32 ``waveform_mean``.

    Columns: unit_id (int64, ``= 5000 + row``), presence_ratio (float64 in [0, 1]),
    location (str; exactly ``round(visp_fraction * n_units)`` rows are 'VISp', others from
    CA1/LGd/MOs/DG), spike_times (ragged float64, Poisson(mean_spikes_per_unit) counts),
    waveform_mean (float32, ``(n_units, *waveform_shape)``, see :func:`pushdown_waveform`).

    With ``chunked=True``: waveform_mean is written uncompressed with chunks
    ``(1, *waveform_shape)`` (one chunk per unit) and spike_times with chunks
    ``(spike_times_chunk,)``; the waveform is streamed through a DataChunkIterator so memory
    stays small.  With ``chunked=False`` all /units datasets are written contiguous (the waveform
    array is then built in memory, ~126 MB by default, and ``expandable=()`` is passed to the
    writer).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    waveform_shape = tuple(int(s) for s in waveform_shape)

    def chunked_io(name: str, data: Any) -> Any:
        if name == "spike_times":
            return H5DataIO(data, chunks=(min(spike_times_chunk, max(1, len(data))),))
        if name == "waveform_mean":
            return H5DataIO(data, chunks=(1, *waveform_shape))
        return data

    nwbfile = make_units_pushdown_nwbfile(
        n_units, waveform_shape, seed, column_io=chunked_io if chunked else None,
        mean_spikes_per_unit=mean_spikes_per_unit, visp_fraction=visp_fraction,
        session_duration=session_duration,
    )
    _hdf5_write(path, nwbfile, contiguous=not chunked)
    return path


# --------------------------------------------------------------------------------------
# multiple sessions / conflicting types
# --------------------------------------------------------------------------------------
def write_many_sessions(
    dir: PathLike,
    n: int = 3,
    seed: int = 0,
    fmt: Literal["hdf5", "zarr"] = "hdf5",
    *,
    n_units: int = 12,
    n_trials: int = 10,
    n_electrodes: int = 8,
    vary_sizes: bool = False,
    contiguous: bool = False,
) -> list[Path]:
    """Write ``n`` small sessions with identical table schemas but different data.

    Session ``i`` uses ``make_rich_nwbfile(seed=seed + i, ...)`` with session_id
    ``f"session_{seed + i:04d}"``; file names are ``session_{i}.nwb`` (hdf5) or
    ``session_{i}.nwb.zarr`` (zarr).  With ``vary_sizes=True`` session i has
    ``n_units + 3 * i`` units and ``n_trials + 2 * i`` trials.  ``contiguous`` is passed to
    :func:`write_hdf5` (ignored for zarr).
    """
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    suffix = ".nwb" if fmt == "hdf5" else ".nwb.zarr"
    paths = []
    for i in range(n):
        nwbfile = make_rich_nwbfile(
            seed=seed + i,
            n_units=n_units + (3 * i if vary_sizes else 0),
            n_trials=n_trials + (2 * i if vary_sizes else 0),
            n_electrodes=n_electrodes,
            n_running_samples=500,
            n_lick_samples=6_000,
            n_raw_samples=300,
            n_pupil_samples=200,
            max_spikes_per_unit=50,
            session_duration=60.0,
        )
        paths.append(_write(dir / f"session_{i}{suffix}", nwbfile, fmt, contiguous))
    return paths


def _minimal_nwbfile(identifier: str, session_id: str) -> NWBFile:
    return NWBFile(
        session_description="minimal file for type-conflict tests",
        identifier=identifier,
        session_start_time=SESSION_START_TIME,
        session_id=session_id,
    )


def write_conflicting_types_pair(
    dir: PathLike, fmt: Literal["hdf5", "zarr"] = "hdf5", n_rows: int = 5
) -> list[Path]:
    """Two small NWB files with same-named but incompatibly-typed columns.

    * ``/units``: ``quality`` is float64 in ``conflict_a`` and str in ``conflict_b``;
      ``unit_id`` (int64) and ``spike_times`` are compatible in both.
    * ``/intervals/trials``: ``contrast`` is float64 in ``conflict_a`` and str in
      ``conflict_b``; ``correct`` (bool) is compatible in both.
    """
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    suffix = ".nwb" if fmt == "hdf5" else ".nwb.zarr"
    out = []
    for name, as_str in (("conflict_a", False), ("conflict_b", True)):
        rng = np.random.default_rng(1 if as_str else 0)
        nwbfile = _minimal_nwbfile(f"lazynwb-{name}", name)
        nwbfile.add_unit_column(name="unit_id", description="cluster id")
        nwbfile.add_unit_column(name="quality", description="quality (type differs between files)")
        for i in range(n_rows):
            q: Any = ["good", "mua", "noise"][i % 3] if as_str else float(rng.uniform(0, 1))
            nwbfile.add_unit(
                spike_times=_sorted_uniform(rng, 5 + i, 0.0, 10.0), unit_id=i, quality=q
            )
        nwbfile.add_trial_column(name="correct", description="correct response")
        nwbfile.add_trial_column(name="contrast", description="contrast (type differs)")
        for i in range(n_rows):
            c: Any = f"{0.1 * i:.1f}" if as_str else 0.1 * i
            nwbfile.add_trial(
                start_time=float(2 * i), stop_time=float(2 * i + 1), correct=i % 2 == 0, contrast=c
            )
        out.append(_write(dir / f"{name}{suffix}", nwbfile, fmt))
    return out


# The column types of each file of write_widening_types_pair (numpy dtypes as stored)
WIDENING_TYPES = (
    {"id": "int32", "start_time": "float32", "stop_time": "float32", "count": "uint8",
     "flag": "bool"},
    {"id": "int64", "start_time": "float64", "stop_time": "float64", "count": "int8",
     "flag": "int8"},
)


def write_widening_types_pair(
    dir: PathLike, fmt: Literal["hdf5", "zarr"] = "hdf5", n_rows: int = 6
) -> list[Path]:
    """Two files whose trials tables have the same columns stored with different but
    compatible types (WIDENING_TYPES: id int32 vs int64, start_time float32 vs float64,
    count uint8 vs int8, flag bool vs int8), as different tools and versions write them."""
    from hdmf.common import ElementIdentifiers, VectorData
    from pynwb.epoch import TimeIntervals

    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    suffix = ".nwb" if fmt == "hdf5" else ".nwb.zarr"
    out = []
    for i, types in enumerate(WIDENING_TYPES):
        rng = np.random.default_rng(10 + i)
        starts = np.sort(rng.uniform(0, 100, n_rows))
        values = {
            "start_time": starts, "stop_time": starts + 0.5,
            "count": rng.integers(0, 100, n_rows), "flag": rng.integers(0, 2, n_rows),
        }
        columns = [VectorData(name=name, description=name, data=np.asarray(v).astype(types[name]))
                   for name, v in values.items()]
        trials = TimeIntervals(
            name="trials", description="types differ between files",
            id=ElementIdentifiers(name="id", data=np.arange(n_rows).astype(types["id"])),
            columns=columns,
        )
        nwbfile = _minimal_nwbfile(f"widening-{i}", f"widening_{i}")
        nwbfile.trials = trials
        out.append(_write(dir / f"widening_{i}{suffix}", nwbfile, fmt))
    return out


# --------------------------------------------------------------------------------------
# invalid inputs
# --------------------------------------------------------------------------------------
def write_non_nwb_hdf5(path: PathLike) -> Path:
    """A valid HDF5 file that is not NWB (no nwb_version / neurodata_type attributes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["description"] = "plain HDF5 file, not NWB"
        f.create_dataset("data", data=np.arange(100, dtype=np.float64).reshape(10, 10))
        grp = f.create_group("units")
        grp.create_dataset("spike_times", data=np.linspace(0, 1, 20))
    return path


def write_truncated_copy(
    path: PathLike, source: PathLike | None = None, fraction: float = 0.3
) -> Path:
    """Copy the first ``fraction`` of the bytes of an NWB HDF5 file to ``path``.

    If ``source`` is None a small rich HDF5 NWB file is generated in a temporary directory first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = None
    try:
        if source is None:
            tmpdir = tempfile.mkdtemp(prefix="nwb_factory_")
            source = write_hdf5(
                Path(tmpdir) / "full.nwb",
                n_units=10,
                n_trials=8,
                n_electrodes=8,
                n_running_samples=1000,
            )
        data = Path(source).read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return path


def write_text_file_with_nwb_suffix(path: PathLike, text: str | None = None) -> Path:
    """A plain-text file (e.g. ``notes.nwb``) that is neither HDF5 nor Zarr."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text or "This is not an NWB file.\nJust some text with an .nwb suffix.\n")
    return path


def expected_rich_columns() -> dict[str, Sequence[str]]:
    """Column names (as in ``DynamicTable.colnames``) written by :func:`make_rich_nwbfile`."""
    units = [
        "spike_times",
        "obs_intervals",
        "electrodes",
        "waveform_mean",
        "unit_id",
        "presence_ratio",
        "location",
        "quality",
        "is_good",
    ]
    if SUPPORTS_INDEX_2:
        units.append("spike_amplitudes_by_epoch")
    return {
        "units": units,
        "trials": [
            "start_time",
            "stop_time",
            "tags",
            "correct",
            "response",
            "contrast",
            "stim_name",
            "lick_times",
        ],
        "electrodes": [
            "location",
            "group",
            "group_name",
            "x",
            "y",
            "z",
            "imp",
            "filtering",
            "bad_channel",
        ],
        "epochs": ["start_time", "stop_time", "tags", "timeseries"],
    }


__all__ = [
    "HAS_EVENTS_TABLE",
    "HDMF_WRITE_SUPPORTS_EXPANDABLE",
    "SUBJECT_SUPPORTS_AGE_REFERENCE",
    "SUPPORTS_INDEX_2",
    "TIMESERIES_SUPPORTS_OFFSET",
    "expected_rich_columns",
    "make_rich_nwbfile",
    "make_units_pushdown_nwbfile",
    "pushdown_waveform",
    "write_conflicting_types_pair",
    "write_widening_types_pair",
    "write_hdf5",
    "write_many_sessions",
    "write_non_nwb_hdf5",
    "write_text_file_with_nwb_suffix",
    "write_truncated_copy",
    "write_units_pushdown_file",
    "write_zarr",
    "pickle_decode_allowed",
]
