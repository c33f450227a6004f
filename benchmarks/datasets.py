"""The benchmark files: one realistic session, many small sessions, many sessions with /units.

Why: peers must be compared on the kind of file they meet in practice.

* ``session``: a /units table with 1,000 units, ragged spike_times and a >= 100 MB float32
  waveform_mean chunked one unit per chunk (so a reader that touches it pays for it), 500
  trials, an hour-long series and a gzip-compressed recording (``lazynwb_explorer.demo_data``).
* ``small``: session + subject metadata only, as in a DANDI dandiset's many sessions: one file
  written by pynwb, copied with its identifier, session id, start time and subject id patched
  by h5py (a pynwb write costs ~25 ms a file, a patched copy ~1 ms; the layout is pynwb's).
* ``units``: sessions with a small /units table each (20-150 units: unit_id, presence_ratio,
  location, quality, amplitude, firing_rate, ragged spike_times) and a subject, written by
  pynwb from a per-session seed, for the "filtered /units of many sessions" rows.
* ``session_zarr``: the session exported to Zarr v3 by hdmf-zarr 0.14 (``NWBZarrIO.export``,
  in the zarr3 venv: ``zarr3_export.py``), for the Zarr v3 rows.

Everything is deterministic (seeded) and kept in benchmarks/data/ (gitignored); a folder is
rewritten only when this module's ``VERSION`` of it changed, and only missing files are added.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from lazynwb_explorer.demo_data import LOCATIONS, QUALITIES, DemoSpec, is_current, write_session

DATA_DIR = Path(__file__).resolve().parent / "data"
VERSION = {"small": "small-1", "units": "units-1"}  # bump to rewrite a folder
START = datetime(2023, 5, 2, 9, 15, 0, tzinfo=timezone(timedelta(hours=-7)))

FULL = DemoSpec(
    "bench",
    n_units=1000,
    waveform_shape=(82, 384),  # 1000 x 82 x 384 float32 = 126 MB
    waveform_chunk_per_unit=True,
    n_trials=500,
    session_seconds=3600.0,
    ephys_seconds=10.0,
    ephys_channels=32,
)
QUICK = DemoSpec(
    "bench-quick",
    n_units=200,
    waveform_shape=(41, 96),
    waveform_chunk_per_unit=True,
    n_trials=100,
    session_seconds=600.0,
    ephys_seconds=2.0,
    ephys_channels=16,
)


@dataclasses.dataclass(frozen=True)
class Scale:
    """How many files the multi-file rows use."""

    few: int  # session + subject metadata of a few sessions (with units)
    many: int  # metadata of many small files, all in flight (issue 5)
    lots: int  # metadata of lots of small files (issue 7)
    units: int  # filtered /units of many sessions (issue 7)


FULL_SCALE = Scale(few=10, many=100, lots=1000, units=300)
QUICK_SCALE = Scale(few=10, many=20, lots=100, units=30)


@dataclasses.dataclass(frozen=True)
class Data:
    session: Path
    small: list[Path]  # the metadata rows use the first n
    units: list[Path]
    spec: DemoSpec
    scale: Scale
    session_zarr: Path | None = None  # the session as Zarr v3 (None: no zarr3 venv)


def spec_for(quick: bool) -> DemoSpec:
    return QUICK if quick else FULL


def scale_for(quick: bool) -> Scale:
    return QUICK_SCALE if quick else FULL_SCALE


def ensure_session(quick: bool, seed: int = 0) -> Path:
    """The benchmark session file (written if missing or stale)."""
    spec = spec_for(quick)
    path = DATA_DIR / f"{spec.name}.nwb"
    if not is_current(path, spec, seed):
        print(f"writing {path.relative_to(DATA_DIR.parent.parent)} ...", flush=True)
        write_session(path, spec, seed)
    return path


def ensure_all(quick: bool) -> Data:
    scale = scale_for(quick)
    session = ensure_session(quick)
    return Data(
        session=session,
        small=ensure_small_sessions(max(scale.many, scale.lots)),
        units=ensure_unit_sessions(max(scale.units, scale.few)),
        spec=spec_for(quick),
        scale=scale,
        session_zarr=ensure_zarr_session(session),
    )


ZARR3_PYTHON = DATA_DIR.parent.parent / ".venv-zarr3" / "bin" / "python"


def ensure_zarr_session(session: Path) -> Path | None:
    """The session exported to Zarr v3 by hdmf-zarr 0.14 (redone when the session changed);
    None when the zarr3 venv is missing (``make zarr3-venv``)."""
    import subprocess

    target = session.with_name(session.name + ".zarr")
    stamp = target / ".exported-from"
    source = f"{session.stat().st_size} {session.stat().st_mtime_ns}"
    if stamp.is_file() and stamp.read_text() == source:
        return target
    if not ZARR3_PYTHON.exists():
        print(f"no {ZARR3_PYTHON}: the Zarr v3 rows are skipped (make zarr3-venv)", flush=True)
        return None
    print(f"exporting {session.name} to Zarr v3 with hdmf-zarr 0.14 ...", flush=True)
    subprocess.run([str(ZARR3_PYTHON), "-m", "benchmarks.zarr3_export", str(session), str(target)],
                   cwd=DATA_DIR.parent.parent, check=True)
    stamp.write_text(source)
    return target


# ------------------------------------------------------------------------------- folders
def _folder(kind: str) -> Path:
    """benchmarks/data/<kind>/, emptied first when its files are from another VERSION."""
    folder = DATA_DIR / kind
    stamp = folder / ".version"
    if folder.is_dir() and (not stamp.is_file() or stamp.read_text() != VERSION[kind]):
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(VERSION[kind])
    return folder


def _write_atomic(path: Path, write: object) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        write(partial)  # type: ignore[operator]
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _nwbfile(kind: str, i: int) -> object:
    from pynwb import NWBFile
    from pynwb.file import Subject

    nwbfile = NWBFile(
        session_description=f"Synthetic {kind} session {i} for lazynwb_explorer benchmarks.",
        identifier=f"bench-{kind}-{i:04d}",
        session_start_time=START + timedelta(days=i),
        session_id=f"{kind}_{i:04d}",
        experimenter=["Doe, Jane"],
        lab="Synthetic Systems Neuroscience Lab",
        institution="Institute of Generated Data",
        experiment_description="Head-fixed mouse viewing visual stimuli.",
        keywords=["ecephys", "benchmark"],
    )
    nwbfile.subject = Subject(
        subject_id=f"mouse_{700000 + i}",
        species="Mus musculus",
        sex="MF"[i % 2],
        age="P90D",
        genotype="wt/wt",
        description="Synthetic adult mouse.",
    )
    return nwbfile


def _write_nwb(path: Path, nwbfile: object) -> None:
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)


# ------------------------------------------------------------------------------- small
def ensure_small_sessions(n: int) -> list[Path]:
    """``n`` metadata-only sessions: a pynwb-written template, copied and patched."""
    import h5py

    folder = _folder("small")
    paths = [folder / f"small-{i:04d}.nwb" for i in range(n)]
    missing = [(i, p) for i, p in enumerate(paths) if not p.is_file()]
    if not missing:
        return paths
    print(f"writing {len(missing)} small sessions in {folder} ...", flush=True)
    template = folder / ".template.nwb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _write_atomic(template, lambda p: _write_nwb(p, _nwbfile("small", 0)))

    def copy(i: int, target: Path) -> None:
        shutil.copyfile(template, target)
        with h5py.File(target, "r+") as f:
            f["identifier"][()] = f"bench-small-{i:04d}"
            f["session_start_time"][()] = (START + timedelta(days=i)).isoformat()
            f["general/session_id"][()] = f"small_{i:04d}"
            f["general/subject/subject_id"][()] = f"mouse_{700000 + i}"
            f["general/subject/sex"][()] = "MF"[i % 2]

    for i, path in missing:
        _write_atomic(path, lambda p, i=i: copy(i, p))
    template.unlink()
    return paths


# ------------------------------------------------------------------------------- units
def _units_session(i: int) -> object:
    from pynwb.misc import Units

    rng = np.random.default_rng([i, 7])
    nwbfile = _nwbfile("units", i)
    n = int(rng.integers(20, 151))
    presence = np.round(rng.beta(8.0, 1.0, size=n), 3)
    rates = np.clip(rng.lognormal(np.log(2.0), 1.0, size=n), 0.05, 40.0)
    duration = 120.0
    trains = []
    for rate, ratio in zip(rates, presence):
        start = rng.uniform(0.0, duration * (1 - ratio))
        trains.append(np.sort(rng.uniform(start, start + duration * ratio, rng.poisson(rate * 100))))
    ends = np.cumsum([len(t) for t in trains])
    units = Units(name="units", id=list(range(n)), description="synthetic sorted units")
    columns = {
        "unit_id": np.sort(rng.choice(np.arange(4 * n), size=n, replace=False)).tolist(),
        "presence_ratio": presence.tolist(),
        "location": rng.choice(LOCATIONS, size=n).tolist(),
        "quality": rng.choice(QUALITIES, size=n).tolist(),
        "amplitude": np.round(rng.lognormal(np.log(90.0), 0.5, size=n), 2).tolist(),
        "firing_rate": np.round(rates, 3).tolist(),
    }
    for name, data in columns.items():
        units.add_column(name=name, description=name, data=data)
    units.add_column(
        name="spike_times", description="spike times (s)",
        data=np.concatenate(trains), index=ends.tolist(),
    )  # fmt: skip
    nwbfile.units = units  # type: ignore[attr-defined]
    return nwbfile


def ensure_unit_sessions(n: int) -> list[Path]:
    """``n`` sessions with a small /units table each, written by pynwb."""
    folder = _folder("units")
    paths = [folder / f"units-{i:03d}.nwb" for i in range(n)]
    missing = [(i, p) for i, p in enumerate(paths) if not p.is_file()]
    if missing:
        print(f"writing {len(missing)} sessions with /units in {folder} ...", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, path in missing:
            _write_atomic(path, lambda p, i=i: _write_nwb(p, _units_session(i)))
    return paths
