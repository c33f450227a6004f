"""The extracellular half of the sample session (demo_data.py): probes, electrodes, units
that respond to the stimuli, and a raw recording.

Why a module of its own: the units are what the raster, PSTH and probe views are about, so
they carry what those views need - a place on a probe for every unit (the `electrodes`
region names its peak channel, whose `rel_x` / `rel_y` are its place on the shank and whose
`location` is the unit's area), and spikes that answer the trials (a response after stimulus
onset for some stimuli, a reward response after a rewarded lick), so a PSTH grouped by
stimulus or reward shows something. Everything is seeded; pynwb is imported lazily.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pynwb import NWBFile

    from .demo_data import DemoSpec, TrialPlan

# Areas along each probe, from the tip upwards (a probe through cortex into hippocampus and
# one into thalamus), with the share of the shank in each.
PROBES = {
    "probeA": (("DG", 0.2), ("CA1", 0.3), ("VISp", 0.5)),
    "probeB": (("LGd", 0.2), ("LP", 0.15), ("APN", 0.15), ("CA1", 0.2), ("VISl", 0.3)),
}
SITE_X = (43.0, 11.0, 59.0, 27.0)  # a Neuropixels 1.0 checkerboard (um across the shank)
SITE_PITCH = 20.0  # um between rows of two sites
SAMPLE_RATE = 30_000.0
CONVERSION = 0.195e-6  # volts per int16 step (an Intan-style headstage)


@dataclasses.dataclass(frozen=True)
class Electrodes:
    """The electrodes table as written: per row its probe, place and area."""

    probe: np.ndarray  # index into PROBES
    rel_x: np.ndarray
    rel_y: np.ndarray
    location: list[str]


def electrode_layout(channels_per_probe: int) -> Electrodes:
    """Every site of every probe: rel_x / rel_y on the shank, the area at that depth."""
    probe, rel_x, rel_y, location = [], [], [], []
    for p, areas in enumerate(PROBES.values()):
        shares = np.cumsum([share for _, share in areas])
        for c in range(channels_per_probe):
            depth = (c + 0.5) / channels_per_probe  # 0 at the tip
            area = areas[int(np.searchsorted(shares, depth, side="right"))][0]
            probe.append(p)
            rel_x.append(SITE_X[c % 4])
            rel_y.append(SITE_PITCH * (c // 2))
            location.append(area)
    return Electrodes(np.array(probe), np.array(rel_x), np.array(rel_y), location)


def add_electrodes(nwbfile: NWBFile, spec: DemoSpec) -> Electrodes:
    """Devices, electrode groups (one shank per probe) and the electrodes table."""
    layout = electrode_layout(spec.channels_per_probe)
    groups = []
    for name, areas in PROBES.items():
        device = nwbfile.create_device(
            name=name, description=f"silicon probe, {spec.channels_per_probe} sites"
        )
        groups.append(nwbfile.create_electrode_group(
            name=f"{name}_shank0", description="shank 0", location=areas[-1][0], device=device))
    nwbfile.add_electrode_column(name="rel_x", description="x on the shank (um)")
    nwbfile.add_electrode_column(name="rel_y", description="height above the tip (um)")
    for i in range(len(layout.probe)):
        p = int(layout.probe[i])
        nwbfile.add_electrode(
            x=8000.0 + 1500.0 * p, y=3800.0 - float(layout.rel_y[i]), z=6000.0 + 900.0 * p,
            group=groups[p], location=layout.location[i],
            rel_x=float(layout.rel_x[i]), rel_y=float(layout.rel_y[i]),
        )  # fmt: skip
    return layout


# ------------------------------------------------------------------------------- units
def _waveform(rng: np.random.Generator, shape: tuple[int, int], amplitude_uv: float) -> np.ndarray:
    """A biphasic spike template spread over channels around a random peak channel (volts)."""
    n_samples, n_channels = shape
    t = np.arange(n_samples) - n_samples * 0.33
    template = -np.exp(-0.5 * (t / 2.5) ** 2) + 0.35 * np.exp(-0.5 * ((t - 9.0) / 5.0) ** 2)
    template /= np.ptp(template)
    peak = rng.integers(0, n_channels)
    profile = np.exp(-0.5 * ((np.arange(n_channels) - peak) / max(1.0, n_channels / 8)) ** 2)
    wave = amplitude_uv * 1e-6 * np.outer(template, profile)
    wave += rng.normal(0.0, amplitude_uv * 2e-8, size=shape)
    return wave.astype(np.float32)


def _waveforms(seed: int, amplitudes: np.ndarray, shape: tuple[int, int]) -> Iterator[np.ndarray]:
    rng = np.random.default_rng([seed, 1])
    for amplitude in amplitudes:
        yield _waveform(rng, shape, float(amplitude))


def _responses(rng: np.random.Generator, trials: TrialPlan, n_stimuli: int,
               start: float, stop: float) -> np.ndarray:
    """Extra spikes of one unit around the trials: an onset response to its preferred
    stimuli (~60 ms latency, ~250 ms long) and, for some units, a response to rewards."""
    gains = rng.gamma(1.5, 12.0, size=n_stimuli) * (rng.random(n_stimuli) < 0.6)
    onset = trials.stim_start + rng.uniform(0.04, 0.08)
    counts = rng.poisson(gains[trials.stimulus] * 0.25)
    parts = [np.repeat(onset, counts) + rng.exponential(0.1, counts.sum()).clip(0, 0.5)]
    if rng.random() < 0.3:
        rewarded = np.flatnonzero(trials.is_rewarded)
        reward_counts = rng.poisson(rng.uniform(3.0, 10.0), size=len(rewarded))
        at = trials.stim_start[rewarded] + trials.response_time[rewarded] + 0.1
        parts.append(np.repeat(at, reward_counts) + rng.uniform(0, 0.4, reward_counts.sum()))
    extra = np.concatenate(parts)
    return extra[(extra >= start) & (extra < stop)]


def _spike_times(rng: np.random.Generator, rates: np.ndarray, presence: np.ndarray,
                 spec: DemoSpec, trials: TrialPlan) -> tuple[np.ndarray, np.ndarray]:
    """Poisson spike trains, each confined to the window the unit was present, plus its
    responses to the trials; (data, ends)."""
    trains = []
    duration = spec.session_seconds
    n_stimuli = int(trials.stimulus.max()) + 1 if len(trials.stimulus) else 1
    for rate, ratio in zip(rates, presence):
        window = duration * ratio
        start = rng.uniform(0.0, duration - window)
        n = rng.poisson(rate * window)
        baseline = rng.uniform(start, start + window, n)
        trains.append(np.sort(np.concatenate(
            [baseline, _responses(rng, trials, n_stimuli, start, start + window)])))
    ends = np.cumsum([len(t) for t in trains])
    return np.concatenate(trains) if trains else np.zeros(0), ends


def add_units(nwbfile: NWBFile, spec: DemoSpec, seed: int, trials: TrialPlan,
              electrodes: Electrodes, locations: Sequence[str], qualities: Sequence[str]) -> None:
    """/units: scalar columns, ragged spike_times, the peak channel (an `electrodes` region
    of one row per unit), and waveform_mean."""
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from hdmf.data_utils import DataChunkIterator
    from pynwb.misc import Units

    rng = np.random.default_rng([seed, 0])
    n = spec.n_units
    unit_id = np.sort(rng.choice(np.arange(4 * n + 10), size=n, replace=False))
    presence = np.round(rng.beta(8.0, 1.0, size=n), 3)
    rates = np.clip(rng.lognormal(np.log(spec.median_rate_hz), 1.0, size=n), 0.05, 80.0)
    amplitude = np.round(rng.lognormal(np.log(90.0), 0.5, size=n), 2)
    # a unit's area is its peak channel's: units sit where the probes record from `locations`
    allowed = np.flatnonzero(np.isin(electrodes.location, list(locations)))
    peak = np.sort(rng.choice(allowed, size=n)) if len(allowed) else np.zeros(n, np.int64)
    spikes, ends = _spike_times(rng, rates, presence, spec, trials)

    waveforms: Any
    if spec.waveform_chunk_per_unit:
        stream = DataChunkIterator(
            data=_waveforms(seed, amplitude, spec.waveform_shape),
            maxshape=(n, *spec.waveform_shape),
            dtype=np.dtype("float32"),
            buffer_size=16,
        )
        waveforms = H5DataIO(stream, chunks=(1, *spec.waveform_shape))
    else:
        waveforms = np.stack(list(_waveforms(seed, amplitude, spec.waveform_shape)))

    units = Units(
        name="units",
        id=list(range(n)),
        description="Units from spike sorting (synthetic Kilosort-like output)",
        waveform_rate=SAMPLE_RATE,
        waveform_unit="volts",
        resolution=1.0 / SAMPLE_RATE,
        electrode_table=nwbfile.electrodes,
    )
    columns: dict[str, tuple[str, Sequence[Any]]] = {
        "unit_id": ("cluster id from the sorter", unit_id.tolist()),
        "presence_ratio": ("fraction of the session the unit was present", presence.tolist()),
        "location": ("brain area of the peak channel",
                     [electrodes.location[p] for p in peak.tolist()]),
        "quality": ("curation label", rng.choice(qualities, size=n).tolist()),
        "amplitude": ("peak-to-trough amplitude of the mean waveform (uV)", amplitude.tolist()),
        "firing_rate": ("mean firing rate while present (Hz)", np.round(rates, 3).tolist()),
        "depth": ("height of the peak channel above the probe tip (um)",
                  electrodes.rel_y[peak].tolist()),
    }
    for name, (description, data) in columns.items():
        units.add_column(name=name, description=description, data=data)
    with warnings.catch_warnings():  # explicit offsets for the predefined index columns
        warnings.filterwarnings("ignore", message="Column '.*' is predefined")
        units.add_column(
            name="spike_times", description="spike times (s)", data=spikes, index=ends.tolist()
        )
        units.add_column(
            name="electrodes", description="the unit's peak channel", data=peak.tolist(),
            index=list(range(1, n + 1)), table=nwbfile.electrodes,
        )  # fmt: skip
    units.add_column(name="waveform_mean", description="mean waveform (V)", data=waveforms)
    nwbfile.units = units


# ------------------------------------------------------------------------------- ephys
def _ephys_block(seed: int, start: int, stop: int, n_channels: int) -> np.ndarray:
    """Raw int16 samples [start, stop): an LFP-like rhythm shared across channels plus noise."""
    rng = np.random.default_rng([seed, 4, start])
    t = np.arange(start, stop) / SAMPLE_RATE
    lfp = 300.0 * np.sin(2 * np.pi * 7.0 * t) + 120.0 * np.sin(2 * np.pi * 41.0 * t + 1.0)
    gain = np.linspace(1.0, 0.3, n_channels)
    noise = rng.standard_normal((stop - start, n_channels), dtype=np.float32) * 40.0
    return (np.outer(lfp, gain) + noise).astype(np.int16)


def _ephys_data(spec: DemoSpec, seed: int) -> Any:
    """The ElectricalSeries data: generated buffer by buffer, chunked and gzip-compressed."""
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from hdmf.data_utils import GenericDataChunkIterator

    n_samples = max(1, int(spec.ephys_seconds * SAMPLE_RATE))
    n_channels = spec.ephys_channels

    class _Synthetic(GenericDataChunkIterator):
        def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
            rows, cols = selection
            return _ephys_block(seed, rows.start, rows.stop, n_channels)[:, cols]

        def _get_maxshape(self) -> tuple[int, int]:
            return (n_samples, n_channels)

        def _get_dtype(self) -> np.dtype:
            return np.dtype("int16")

    chunk_rows = min(n_samples, 6_000)
    buffer_rows = min(n_samples, chunk_rows * 50)
    stream = _Synthetic(
        chunk_shape=(chunk_rows, n_channels), buffer_shape=(buffer_rows, n_channels)
    )
    return H5DataIO(stream, compression="gzip", compression_opts=4)


def add_ephys(nwbfile: NWBFile, spec: DemoSpec, seed: int) -> None:
    """/acquisition/ElectricalSeries over the first `ephys_channels` sites of probeA."""
    from pynwb.ecephys import ElectricalSeries

    region = nwbfile.create_electrode_table_region(
        region=list(range(spec.ephys_channels)), description="the recorded sites of probeA"
    )
    nwbfile.add_acquisition(
        ElectricalSeries(
            name="ElectricalSeries",
            description="raw wide-band voltage",
            data=_ephys_data(spec, seed),
            electrodes=region,
            rate=SAMPLE_RATE,
            starting_time=0.0,
            conversion=CONVERSION,
        )
    )
