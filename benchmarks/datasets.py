"""The benchmark files: realistic sessions written with lazynwb_explorer.demo_data.

Why: peers must be compared on the kind of file they meet in practice: a /units table with
1,000 units, ragged spike_times and a >= 100 MB float32 waveform_mean chunked one unit per
chunk (so a reader that touches it pays for it), 500 trials and an hour-long series. Files are
kept in benchmarks/data/ (gitignored) and rewritten only when stale.
"""

from __future__ import annotations

from pathlib import Path

from lazynwb_explorer.demo_data import DemoSpec, is_current, write_session

DATA_DIR = Path(__file__).resolve().parent / "data"

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


def spec_for(quick: bool) -> DemoSpec:
    return QUICK if quick else FULL


def ensure_session(quick: bool, seed: int = 0) -> Path:
    """The benchmark session file (written if missing or stale)."""
    spec = spec_for(quick)
    path = DATA_DIR / f"{spec.name}.nwb"
    if not is_current(path, spec, seed):
        print(f"writing {path.relative_to(DATA_DIR.parent.parent)} ...", flush=True)
        write_session(path, spec, seed)
    return path
