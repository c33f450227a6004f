"""Write a realistic sample NWB file, for the demo notebook, the notebook tests and benchmarks.

Why: `make demo` needs a file worth exploring - and worth looking at the way a
neuroscientist does: rasters, PSTHs, trial-aligned behaviour, a probe, a trajectory - without
downloading anything; the tests and benchmarks need the same shapes at other sizes.
Everything is generated from a seeded ``numpy.random.default_rng``; pynwb writes the file (it
is imported lazily, so the package does not depend on it: it comes with the ``demo`` and
``test`` extras). The extracellular half (probes, units, raw data) is demo_ecephys.py.

Usage::

    python -m lazynwb_explorer.demo_data notebooks/sample.nwb [--seed N] [--small] [--force]

An existing file is kept when it was written from the same variant and seed and is newer than
this module (and demo_ecephys.py), so `make demo` restarts in a second. Files are written to
a temporary name and renamed, so an interrupted run never leaves a half-written file behind.

Layout (the full variant; :data:`SMALL` is the same at a tiny size):

* session + subject metadata (``/general``)
* ``/general/extracellular_ephys``: two probes (probeA through visual cortex into the
  hippocampus, probeB into the thalamus), 96 sites each: x, y, z, rel_x, rel_y, location
* ``/units``: unit_id, presence_ratio, location, quality, amplitude, firing_rate, depth
  (scalars), spike_times (ragged float64; units respond to their preferred stimuli ~60 ms
  after onset, some to rewards), electrodes (the peak channel), waveform_mean
  (float32, ``(n_units, 61, 8)``)
* ``/intervals/trials``: 500 rows (start/stop, stim_start_time, stimulus_name, contrast,
  orientation, is_rewarded, response_time); ``/intervals/epochs``: one per stimulus block
* ``/processing/behavior``: running_speed (one hour at 60 Hz, with timestamps), Position/
  position (a SpatialSeries: x, y in a virtual arena, 30 Hz), rewards (an event series:
  timestamps, volumes); ``/events/licks`` (an EventsTable, where pynwb has it)
* ``/acquisition/ElectricalSeries``: 60 s x 32 channels of probeA at 30 kHz, int16 with a
  conversion factor, chunked and gzip-compressed, written buffer by buffer (bounded memory)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import demo_ecephys
from .demo_ecephys import CONVERSION, SAMPLE_RATE

if TYPE_CHECKING:
    from pynwb import NWBFile

__all__ = [
    "CONVERSION",
    "FULL",
    "SAMPLE_RATE",
    "SMALL",
    "DemoSpec",
    "build_nwbfile",
    "is_current",
    "write_demo_file",
    "write_session",
]

SESSION_START = datetime(2024, 3, 12, 10, 31, 5, tzinfo=timezone(timedelta(hours=-7)))
LOCATIONS = ("VISp", "VISp", "VISl", "CA1", "CA1", "DG", "LGd", "LP", "APN")
QUALITIES = ("good", "good", "good", "mua", "noise")
STIMULI = ("drifting_gratings", "static_gratings", "natural_scenes", "gabors")


@dataclasses.dataclass(frozen=True)
class DemoSpec:
    """Sizes of a generated session. ``name`` is recorded in the file to detect stale files."""

    name: str
    n_units: int = 300
    waveform_shape: tuple[int, int] = (61, 8)
    waveform_chunk_per_unit: bool = False  # chunks (1, *waveform_shape), streamed unit by unit
    median_rate_hz: float = 3.0
    n_trials: int = 500
    session_seconds: float = 3600.0
    running_rate_hz: float = 60.0
    ephys_seconds: float = 60.0
    ephys_channels: int = 32
    channels_per_probe: int = 96
    position_rate_hz: float = 30.0


FULL = DemoSpec("full")
SMALL = DemoSpec(
    "small", n_units=24, n_trials=40, session_seconds=120.0, ephys_seconds=1.0, ephys_channels=8,
    channels_per_probe=16,
)


@dataclasses.dataclass(frozen=True)
class TrialPlan:
    """The trials, drawn before anything is written: the units respond to them."""

    start: np.ndarray
    stop: np.ndarray
    stim_start: np.ndarray
    stimulus: np.ndarray  # index into STIMULI
    contrast: np.ndarray
    orientation: np.ndarray
    is_rewarded: np.ndarray
    response_time: np.ndarray  # after stimulus onset; NaN without a response


def plan_trials(spec: DemoSpec, seed: int) -> TrialPlan:
    rng = np.random.default_rng([seed, 2])
    n = spec.n_trials
    spacing = spec.session_seconds * 0.95 / max(1, n)
    start = 5.0 + np.arange(n) * spacing + rng.uniform(0.0, spacing * 0.2, size=n)
    stop = start + spacing * rng.uniform(0.5, 0.7, size=n)
    stim_start = start + np.minimum(rng.uniform(0.3, 0.6, size=n), (stop - start) / 3)
    rewarded = rng.random(n) < 0.7
    response = np.where(rewarded, rng.uniform(0.2, 0.8, size=n), np.nan)
    return TrialPlan(
        start=start, stop=stop, stim_start=stim_start,
        stimulus=(np.arange(n) * len(STIMULI) // max(1, n)).astype(np.int64),
        contrast=rng.choice([0.05, 0.1, 0.25, 0.5, 0.8, 1.0], size=n),
        orientation=rng.choice([0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0], size=n),
        is_rewarded=rewarded, response_time=response,
    )  # fmt: skip


def _signature(spec: DemoSpec, seed: int) -> str:
    return f"Generated by lazynwb_explorer.demo_data ({spec}, seed={seed}); not real data."


# ------------------------------------------------------------------------------- metadata
def _new_nwbfile(spec: DemoSpec, seed: int) -> NWBFile:
    from pynwb import NWBFile
    from pynwb.file import Subject

    nwbfile = NWBFile(
        session_description="Visual coding session: passive viewing of gratings and scenes "
        "while two probes record from visual cortex, hippocampus and thalamus.",
        identifier=f"lazynwb-explorer-demo-{spec.name}-seed{seed}",
        session_start_time=SESSION_START + timedelta(days=seed),
        session_id=f"demo_{spec.name}_{seed:03d}",
        experimenter=["Doe, Jane", "Roe, Richard"],
        lab="Synthetic Systems Neuroscience Lab",
        institution="Institute of Generated Data",
        experiment_description="Head-fixed mouse on a running wheel viewing visual stimuli.",
        keywords=["ecephys", "visual cortex", "hippocampus", "running"],
        notes=_signature(spec, seed),
    )
    nwbfile.subject = Subject(
        subject_id=f"mouse_{612000 + seed}",
        species="Mus musculus",
        sex="F",
        age="P92D",
        genotype="Sst-IRES-Cre/wt;Ai32(RCL-ChR2(H134R)_EYFP)/wt",
        strain="C57BL/6J",
        description="Synthetic adult mouse.",
    )
    return nwbfile


# ------------------------------------------------------------------------------- trials
def _add_trials(nwbfile: NWBFile, trials: TrialPlan) -> None:
    columns = {
        "stim_start_time": "onset of the stimulus (s)",
        "stimulus_name": "stimulus block",
        "contrast": "stimulus contrast (0-1)",
        "orientation": "grating orientation (degrees)",
        "is_rewarded": "the mouse licked in the response window and got a reward",
        "response_time": "latency of the first lick after stimulus onset (s); NaN without one",
    }
    for name, description in columns.items():
        nwbfile.add_trial_column(name=name, description=description)
    for i in range(len(trials.start)):
        nwbfile.add_trial(
            start_time=float(trials.start[i]),
            stop_time=float(trials.stop[i]),
            stim_start_time=float(trials.stim_start[i]),
            stimulus_name=STIMULI[int(trials.stimulus[i])],
            contrast=float(trials.contrast[i]),
            orientation=float(trials.orientation[i]),
            is_rewarded=bool(trials.is_rewarded[i]),
            response_time=float(trials.response_time[i]),
        )


def _add_epochs(nwbfile: NWBFile, trials: TrialPlan) -> None:
    """One epoch per stimulus block, spanning its trials."""
    nwbfile.add_epoch_column(name="stimulus_name", description="stimulus block")
    for s, name in enumerate(STIMULI):
        rows = np.flatnonzero(trials.stimulus == s)
        if len(rows):
            nwbfile.add_epoch(start_time=float(trials.start[rows[0]]),
                              stop_time=float(trials.stop[rows[-1]]), stimulus_name=name)


# ------------------------------------------------------------------------------- behaviour
def _running(spec: DemoSpec, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps, speed in cm/s): bouts of running and rest, jittered sample times."""
    rng = np.random.default_rng([seed, 3])
    n = int(spec.session_seconds * spec.running_rate_hz)
    period = 1.0 / spec.running_rate_hz
    timestamps = np.arange(n) * period + rng.uniform(0.0, period * 0.1, size=n)
    kernel = np.exp(-np.arange(int(4 * spec.running_rate_hz)) / spec.running_rate_hz)
    smooth = np.convolve(rng.normal(0.0, 1.0, size=n), kernel / kernel.sum(), mode="same")
    bouts = np.sin(2 * np.pi * timestamps / 240.0 + rng.uniform(0, 2 * np.pi)) > 0.2
    speed = np.where(bouts, 25.0 + 60.0 * smooth, 3.0 * smooth) + rng.normal(0.0, 0.5, size=n)
    return timestamps, speed


def _slowed_at(times: np.ndarray, speed: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    """The mouse slows down to drink: speed falls by up to 70% after each reward and comes
    back over ~0.6 s (so running speed aligned to the trials differs with the reward)."""
    after = np.searchsorted(rewards, times, side="right") - 1
    since = np.where(after >= 0, times - rewards[np.maximum(after, 0)], np.inf)
    return speed * (1.0 - 0.7 * np.exp(-since / 0.6))


def _position(spec: DemoSpec, seed: int, times: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """x, y (m) in a 1 m virtual arena at `times`: the running speed moves the animal along a
    slowly turning heading, reflected at the walls."""
    rng = np.random.default_rng([seed, 5])
    dt = np.diff(times, prepend=times[:1])
    heading = np.cumsum(rng.normal(0.0, 0.08, size=len(times)))
    step = np.clip(speed, 0.0, None) / 100.0 * dt
    xy = 0.5 + np.cumsum(np.stack([np.cos(heading), np.sin(heading)], axis=1) * step[:, None], axis=0)
    return np.abs((xy + 1.0) % 2.0 - 1.0)  # reflect into [0, 1]


def _add_behavior(nwbfile: NWBFile, spec: DemoSpec, seed: int, trials: TrialPlan) -> None:
    from pynwb import TimeSeries
    from pynwb.behavior import Position, SpatialSeries

    timestamps, speed = _running(spec, seed)
    _licks_at, rewards = _licks(seed, trials)
    speed = _slowed_at(timestamps, speed, rewards)
    behavior = nwbfile.create_processing_module(name="behavior", description="behavior")
    behavior.add(TimeSeries(name="running_speed", description="speed of the running wheel",
                            data=speed.astype(np.float32), unit="cm/s", timestamps=timestamps))
    n = int(spec.session_seconds * spec.position_rate_hz)
    times = np.arange(n) / spec.position_rate_hz
    xy = _position(spec, seed, times, np.interp(times, timestamps, speed))
    position = Position(name="Position")
    position.add_spatial_series(SpatialSeries(
        name="position", description="position in the virtual arena", data=xy.astype(np.float32),
        reference_frame="arena corner (0, 0); x right, y up", unit="meters",
        starting_time=0.0, rate=spec.position_rate_hz))
    behavior.add(position)
    licks, rewards = _licks(seed, trials)
    behavior.add(TimeSeries(name="rewards", description="water reward deliveries (uL)",
                            data=np.full(len(rewards), 3.0, np.float32), unit="uL",
                            timestamps=rewards))
    if hasattr(nwbfile, "add_events_table"):  # NWB 2.9's EventsTable (pynwb >= 3.1)
        from pynwb.event import EventsTable

        table = EventsTable(name="licks", description="lick onsets",
                            source_description="capacitive lickometer")
        table.add_column(name="spout", description="the spout licked")
        for i, t in enumerate(licks.tolist()):
            table.add_event(timestamp=t, spout="left" if i % 3 else "right")
        nwbfile.add_events_table(table)


def _licks(seed: int, trials: TrialPlan) -> tuple[np.ndarray, np.ndarray]:
    """(lick times, reward times): a burst of licks at each rewarded response, the reward
    50 ms after the first lick."""
    rng = np.random.default_rng([seed, 6])
    rewarded = np.flatnonzero(trials.is_rewarded)
    first = trials.stim_start[rewarded] + trials.response_time[rewarded]
    bursts = rng.poisson(4, size=len(first)) + 1
    offsets = np.concatenate([np.arange(k) * 0.13 for k in bursts]) if len(first) else np.zeros(0)
    return np.sort(np.repeat(first, bursts) + offsets), np.sort(first + 0.05)


# ------------------------------------------------------------------------------- writing
def build_nwbfile(spec: DemoSpec = FULL, seed: int = 0) -> NWBFile:
    """The in-memory ``pynwb.NWBFile`` for ``spec`` (large arrays are streamed at write time)."""
    nwbfile = _new_nwbfile(spec, seed)
    trials = plan_trials(spec, seed)
    electrodes = demo_ecephys.add_electrodes(nwbfile, spec)
    demo_ecephys.add_units(nwbfile, spec, seed, trials, electrodes, LOCATIONS, QUALITIES)
    _add_trials(nwbfile, trials)
    _add_epochs(nwbfile, trials)
    _add_behavior(nwbfile, spec, seed, trials)
    demo_ecephys.add_ephys(nwbfile, spec, seed)
    return nwbfile


def write_session(path: str | os.PathLike[str], spec: DemoSpec = FULL, seed: int = 0) -> Path:
    """Write ``spec``'s session to ``path`` (atomically: temporary name, then rename)."""
    from pynwb import NWBHDF5IO

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        with NWBHDF5IO(str(partial), "w") as io:
            io.write(build_nwbfile(spec, seed))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_demo_file(path: str | os.PathLike[str], seed: int = 0, small: bool = False) -> Path:
    """Write the sample NWB file to ``path`` (``small=True``: a tiny variant for tests)."""
    return write_session(path, SMALL if small else FULL, seed)


def is_current(path: str | os.PathLike[str], spec: DemoSpec = FULL, seed: int = 0) -> bool:
    """True when ``path`` was written from ``spec`` and ``seed`` after the generator last
    changed (this module or demo_ecephys.py)."""
    import h5py

    path = Path(path)
    written_by = max(Path(__file__).stat().st_mtime, Path(demo_ecephys.__file__).stat().st_mtime)
    if not path.is_file() or path.stat().st_mtime <= written_by:
        return False
    try:
        with h5py.File(path, "r") as f:
            notes = f["general/notes"][()]
    except (OSError, KeyError):
        return False
    notes = notes.decode() if isinstance(notes, bytes) else str(notes)
    return notes == _signature(spec, seed)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the sample file unless an up-to-date one is already there."""
    parser = argparse.ArgumentParser(
        prog="python -m lazynwb_explorer.demo_data", description=__doc__.split("\n")[0]
    )
    parser.add_argument("out", type=Path, help="output .nwb path")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--small", action="store_true", help="tiny variant (for tests)")
    parser.add_argument("--force", action="store_true", help="rewrite even if up to date")
    args = parser.parse_args(argv)
    spec = SMALL if args.small else FULL
    if not args.force and is_current(args.out, spec, args.seed):
        print(f"{args.out} is up to date; not rewriting (use --force to rewrite)")
        return 0
    t0 = time.perf_counter()
    write_session(args.out, spec, args.seed)
    size_mb = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size_mb:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
