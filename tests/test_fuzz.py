"""Hostile and broken files never crash, hang or exhaust memory: they raise our own errors.

The fuzzer (tests/fuzz_run.py, hypothesis with derandomize=True, so every CI run tries the
same inputs) runs each target in a process of its own under an address-space cap, with a
deadline and a hard alarm per input. In CI (`make test`):

    engine  15,000 mutated HDF5 images through our engine only      (~35 s on 2 cores)
    zarr     1,000 mutated Zarr stores through the public API       (~15 s)
    api        200 mutated HDF5 files through get_internal_paths    (~5 s)

that is 16,200 inputs; `make fuzz` runs 20 times as many with other inputs (FUZZ_SCALE,
FUZZ_SEED). Every input that once failed is kept in tests/fuzz_corpus/ and replayed here,
with the error it must now raise; a new failing input is saved to tests/fuzz_corpus/new/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import pytest

from lazynwb_explorer.catalog import open_catalog
from lazynwb_explorer.errors import LazyNWBError
from lazynwb_explorer.multifile import name_errors
from lazynwb_explorer.sources import to_source

import fuzz_inputs as fi
import fuzz_run as fr
import fuzz_targets as ft

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "fuzz_corpus"
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
SEED = os.environ.get("FUZZ_SEED")  # None: CI's derandomized inputs
EXAMPLES = {"engine": 15_000, "zarr": 1_000, "api": 200}
REPLAY_PEAK = 256 << 20  # bytes a regression input may allocate (tracemalloc)

# What each regression input must now raise (a substring of one of the engine's refusals).
EXPECTED = {
    "engine-blosc-header-declares-2gb.h5": "a blosc chunk declares 2147483647 bytes",
    "engine-btree-cycle.h5": "B-tree cycle",
    "engine-chunk-inflates-beyond-its-size.h5": "inflates beyond its size",
    "engine-compact-data-shorter-than-shape.h5": "compact data of 16 bytes",
    "engine-continuation-cycle.h5": "object header continuation cycle",
    "engine-datatype-of-1e9-bytes.h5": "datatype of 1000000000 bytes",
    "engine-local-heap-of-2to56-bytes.h5": "local heap of 72057594037928024 bytes",
    "engine-object-reference-of-1-byte.h5": "object reference of 1 bytes",
    "engine-shape-of-1e15-elements.h5": "dataspace of 1000000000000000 elements",
    "engine-vlen-heap-address-2to64.h5": "global heap address -1 is outside the file",
    "engine-vlen-type-of-0-bytes.h5": "variable-length type of 0 bytes",
    "engine-zstd-frame-declares-1tb.h5": "a zstd chunk declares 1099511627776 bytes",
    "libhdf5-hangs-after-engine-refusal.h5": "local heap address 2147483648 is outside the file",
    "engine-outside-the-file-and-huge-declared.h5": (
        "Refused: its values are stored in other files", "Refused: it is a virtual dataset",
        "(2400000000 bytes) but stores none of its data",
    ),
    "zarr-pickle-billion-laughs.zarr.json": "partial:MalformedFileError",
    "zarr-dimension-separator-climbs-out.zarr.json": "MalformedFileError",
    "zarr-metadata-keys-start-at-slash.zarr.json": "MalformedFileError",
    "zarr-blosc-header-declares-2gb.zarr.json": "partial:MalformedFileError",
    "zarr-chunks-of-0.zarr.json": "MalformedFileError",
    "zarr-consolidated-metadata-a-list.zarr.json": "MalformedFileError",
    "zarr-lz4-header-declares-4gb.zarr.json": "partial:MalformedFileError",
    "zarr-shape-of-1e15-elements.zarr.json": "MalformedFileError",
    "zarr-shape-of-strings.zarr.json": "MalformedFileError",
    "zarr-unknown-compressor.zarr.json": "MalformedFileError",
    "zarr-unknown-dtype.zarr.json": "MalformedFileError",
    "zarr-vlen-claims-2to30-items.zarr.json": "partial:MalformedFileError",
    "zarr-zlib-chunk-inflates-beyond-its-size.zarr.json": "partial:MalformedFileError",
    "zarr-zstd-frame-declares-1tb.zarr.json": "partial:MalformedFileError",
}
CORPUS_FILES = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md")


@pytest.fixture(scope="module")
def seed_dir(tmp_path_factory) -> Path:
    """Seed files written once for every target (pynwb, hdmf-zarr, h5py)."""
    directory = tmp_path_factory.mktemp("fuzz-seeds")
    fi.hdf5_seed_files(directory)
    fi.zarr_seeds(directory)
    return directory


def _fuzz(target: str, seed_dir: Path, *extra: str) -> dict:
    """Run the fuzzer on `target` in a subprocess; its JSON summary."""
    examples = int(EXAMPLES[target] * SCALE)
    command = [sys.executable, str(HERE / "fuzz_run.py"), target, "--examples", str(examples),
               "--seeds", str(seed_dir), *(["--seed", SEED] if SEED else []), *extra]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600 * max(SCALE, 1),
                          env={**os.environ, "MALLOC_ARENA_MAX": "2"})
    lines = done.stdout.strip().splitlines()
    summary = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    print(f"\n{target}: {summary} ({time.monotonic() - started:.0f} s with start-up)")
    assert done.returncode == 0, f"{summary}\n{done.stderr[-12000:]}"
    assert summary["inputs"] >= examples, summary
    return summary


def test_engine_survives_mutated_hdf5(seed_dir: Path) -> None:
    summary = _fuzz("engine", seed_dir)
    assert summary["outcomes"].get("rejected") and summary["outcomes"].get("ok"), summary


def test_zarr_backend_survives_mutated_stores(seed_dir: Path) -> None:
    summary = _fuzz("zarr", seed_dir)
    assert any(k.endswith("MalformedFileError") for k in summary["outcomes"]), summary


def test_public_api_survives_mutated_hdf5(seed_dir: Path) -> None:
    """With the native engine; a file it refuses goes to libhdf5, which may crash or spin
    on hostile bytes: such inputs are reported (a warning), our own bugs fail the test."""
    summary = _fuzz("api", seed_dir, "--alarm", "10")
    assert not summary["bugs"], summary["bugs"]
    misbehaved = summary["libhdf5_crashes"] + summary["libhdf5_hangs"]
    if misbehaved:
        warnings.warn(f"libhdf5 crashed or hung on inputs {misbehaved} after our engine refused "
                      f"them (saved in tests/fuzz_corpus/new/)", stacklevel=1)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_regression_input(path: Path, tmp_path: Path) -> None:
    """A once-failing input now gets its error, promptly and in bounded memory."""
    tracemalloc.start()
    try:
        with ft.time_limit(30):
            if path.name.endswith(".zarr.json"):
                store = {k: bytes.fromhex(v) for k, v in json.loads(path.read_text()).items()}
                found = [fr.StoreDir({}, tmp_path).check(store)]
            else:
                found = []
                ft.engine_target(path.read_bytes(), errors=found)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < REPLAY_PEAK, f"{peak >> 20} MB allocated"
    expected = EXPECTED[path.name]
    for needle in (expected,) if isinstance(expected, str) else expected:
        assert any(needle in e for e in found), (needle, found)


def test_deflate_bombs_are_refused_in_bounded_memory(tmp_path: Path) -> None:
    """A 1 MB zlib stream of a gigabyte of zeros, in a dataset of 1 KiB chunks and in one
    of 2 GiB chunks: refused, allocating no more than a few megabytes."""
    data = fi.write_deflate_bombs(tmp_path / "bombs.h5", total=1 << 30).read_bytes()
    errors: list[str] = []
    tracemalloc.start()
    try:
        assert ft.engine_target(data, errors=errors) == "partial"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak >> 20} MB allocated"
    assert any("inflates beyond its size (1024 bytes)" in e for e in errors), errors
    assert any("Unsupported: chunks of 2147483648 bytes" in e for e in errors), errors


def test_zarr_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """The same gigabyte in a Zarr chunk: refused at the chunk's size (16 bytes of int64s),
    and for a string column (whose decoded size is unknown) at 256 MiB."""
    store = fi.tiny_zarr_store()
    for array in ("units/id", "units/quality"):
        fi._edit_json(store, f"{array}/.zarray", lambda meta: meta.update(compressor={"id": "zlib"}))
        fi._edit_json(store, ".zmetadata",
                      lambda top, a=array: top["metadata"][f"{a}/.zarray"].update(compressor={"id": "zlib"}))
        store[f"{array}/0"] = fi.zarr_bomb()
    with ft.configured(disable_cache=True):
        catalog = open_catalog(to_source(str(fr.StoreDir(store, tmp_path).path)))
    for array, bound in (("/units/id", 16 << 20), ("/units/quality", 3 * (256 << 20))):
        tracemalloc.start()
        try:
            with pytest.raises(LazyNWBError, match="decodes to"):
                catalog.backend.read(array)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < bound, f"{array}: {peak >> 20} MB allocated"


def test_harness_catches_what_it_is_for() -> None:
    """The targets' guards fire: a hang, a parser that never stops, a stray exception
    hidden behind the API's catch-all, a MemoryError behind one of our errors."""
    with pytest.raises(ft.Hang), ft.time_limit(0.2):
        while True:
            time.sleep(0.01)
    read = ft._bounded_reader(b"")
    with pytest.raises(ft.Hang):
        for _ in range(ft.MAX_ROUNDS + 1):
            read([(0, 1)])
    with pytest.raises(LazyNWBError) as wrapped:
        name_errors(to_source("x.nwb"), lambda: [][1])
    with pytest.raises(ft.Bug, match="stray IndexError"):
        ft.check_api_error(wrapped.value)
    hidden = LazyNWBError("cannot read")
    hidden.__cause__ = MemoryError()
    with pytest.raises(ft.Bug, match="MemoryError"):
        ft.check_api_error(hidden)
