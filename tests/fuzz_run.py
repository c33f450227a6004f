"""Run a fuzz target over many mutated inputs, in a process of its own (bounded memory).

    python tests/fuzz_run.py engine --examples 12000 --seeds DIR   # hypothesis, derandomized
    python tests/fuzz_run.py zarr --examples 300 --seeds DIR
    python tests/fuzz_run.py api --examples 150 --seeds DIR        # supervised children
    python tests/fuzz_run.py replay tests/fuzz_corpus/*            # regression inputs

`engine` and `zarr` run hypothesis (derandomize=True: the same inputs on every run) with a
per-input deadline and a hard alarm, under an address-space cap (`--memory-mb` above what
the process maps after its imports). `api` drives the public API with the native engine;
when the engine refuses a file the catalog falls back to libhdf5, which may crash or hang
on hostile bytes, so inputs run in child processes that a supervisor restarts and reports
(`libhdf5_crashes`, `libhdf5_hangs` in the summary).

Each run prints a JSON summary as its last line: inputs run, outcomes, seconds, peak RSS.
A failing input is shrunk by hypothesis and saved to `--save` (default
tests/fuzz_corpus/new/) so it can become a regression input; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import logging
import os
import select
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fuzz_inputs as fi  # noqa: E402
import fuzz_targets as ft  # noqa: E402

CORPUS = HERE / "fuzz_corpus"


def _save(directory: Path, prefix: str, suffix: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{prefix}-{hashlib.sha1(data).hexdigest()[:12]}{suffix}"
    path.write_bytes(data)
    return path


def _summary(target: str, counts: collections.Counter, started: float, **extra) -> dict:  # noqa: ANN003
    import resource

    return {
        "target": target,
        "inputs": sum(counts.values()),
        "outcomes": dict(sorted(counts.items())),
        "seconds": round(time.monotonic() - started, 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        **extra,
    }


def hdf5_seeds(directory: Path) -> list[fi.H5Seed]:
    """Every HDF5 seed, with where its structures are (from a clean engine run)."""
    seeds = []
    for path in fi.hdf5_seed_files(directory):
        data = path.read_bytes()
        ranges: list[tuple] = []
        read = ft.over_bytes(data)

        def recording(rs, read=read, ranges=ranges):  # noqa: ANN001, ANN202
            ranges.extend(rs)
            return read(rs)

        ft.engine_target(data, recording)
        seeds.append(fi.analyse(path.name, data, ranges))
    return seeds


def _hypothesis_run(args: argparse.Namespace, make_input, check) -> int:  # noqa: ANN001
    """Run `check(input)` on `args.examples` inputs drawn by `make_input(chooser)`."""
    from hypothesis import HealthCheck, Phase, given, note, seed, settings
    from hypothesis import strategies as st

    counts: collections.Counter = collections.Counter()
    failing: dict[tuple, tuple] = {}  # (error, where) -> the last (smallest) input failing so
    cap = ft.limit_memory(args.memory_mb << 20)
    started = time.monotonic()

    @settings(max_examples=args.examples, derandomize=args.seed is None, database=None,
              deadline=args.deadline_ms, phases=(Phase.generate, Phase.shrink),
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(st.data())
    @seed(args.seed or 0)
    def fuzz(data: st.DataObject) -> None:
        label, value = make_input(fi.DrawChooser(data.draw))
        note(label)
        try:
            with ft.time_limit(args.alarm):
                outcome = check(value)
        except ft.Hang as exc:
            failing[("Hang", "")] = (label, value)
            raise ft.Bug(f"hang: {exc}") from None
        except BaseException as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            failing[(type(exc).__name__, f"{frame.filename}:{frame.lineno}")] = (label, value)
            raise
        counts[outcome] += 1

    try:
        fuzz()
    except Exception:
        failed = {f"{error} at {where}": [label, str(_save_input(args, value))]
                  for (error, where), (label, value) in failing.items()}
        print(json.dumps(_summary(args.target, counts, started, failed=failed,
                                  address_space_cap_mb=cap >> 20)))
        raise
    print(json.dumps(_summary(args.target, counts, started, address_space_cap_mb=cap >> 20)))
    return 0


def _save_input(args: argparse.Namespace, value) -> Path:  # noqa: ANN001
    if args.target == "zarr":
        return _save(args.save, "zarr", ".zarr.json", json.dumps(
            {k: v.hex() for k, v in value[1].items()}, indent=0).encode())
    return _save(args.save, args.target, ".h5", value)


def run_engine(args: argparse.Namespace) -> int:
    seeds = hdf5_seeds(args.seeds)
    return _hypothesis_run(args, lambda c: fi.mutate_hdf5(seeds, c), ft.engine_target)


class StoreDir:
    """A Zarr store on disk that takes each input's changed keys and restores them after."""

    def __init__(self, base: fi.Store, root: Path):
        self.base, self.path = base, root / "input.nwb.zarr"
        for key, value in base.items():
            (self.path / key).parent.mkdir(parents=True, exist_ok=True)
            (self.path / key).write_bytes(value)

    def _write(self, key: str, value: bytes | None) -> None:
        target = self.path / key
        if value is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(value)

    def touched(self, store: fi.Store, changed: set[str]) -> set[str]:
        """The arrays (and groups) whose metadata or chunks an input changed."""
        dirs = {k.rsplit("/", 1)[0] if "/" in k else "" for k in changed - {".zmetadata"}}
        if ".zmetadata" in changed and ".zmetadata" in self.base and ".zmetadata" in store:
            try:
                old = json.loads(self.base[".zmetadata"])["metadata"]
                new = json.loads(store[".zmetadata"])["metadata"]
                dirs |= {k.rsplit("/", 1)[0] if "/" in k else "" for k in old.keys() | new.keys()
                         if old.get(k) != new.get(k)}
            except (ValueError, TypeError, KeyError, AttributeError):
                pass
        return {"/" + d for d in dirs}

    def check(self, store: fi.Store) -> str:
        changed = {k for k in self.base.keys() | store.keys() if self.base.get(k) != store.get(k)}
        for key in changed:
            self._write(key, store.get(key))
        try:
            return ft.zarr_target(self.path, self.touched(store, changed) if self.base else None)
        finally:
            for key in changed:
                self._write(key, self.base.get(key))


def run_zarr(args: argparse.Namespace) -> int:
    stores = fi.zarr_seeds(args.seeds)
    root = Path(tempfile.mkdtemp(prefix="fuzz-zarr-"))
    works = [StoreDir(store, root / str(i)) for i, store in enumerate(stores)]
    return _hypothesis_run(args, lambda c: fi.mutate_zarr(stores, c), lambda v: works[v[0]].check(v[1]))


# -- the API target: children a supervisor restarts --------------------------------------


def _api_input(args: argparse.Namespace, i: int) -> int:
    """The random seed of API input i (other inputs for another --seed)."""
    return (args.seed or 0) << 32 | i


def run_api_child(args: argparse.Namespace) -> int:
    """Inputs args.start .. args.examples, each announced on stdout before it runs."""
    seeds = hdf5_seeds(args.seeds)
    ft.limit_memory(args.memory_mb << 20)
    logging.getLogger("lazynwb_explorer").setLevel(logging.ERROR)  # "read with h5py (...)"
    path = Path(tempfile.mkdtemp(prefix="fuzz-api-")) / "input.nwb"
    for i in range(args.start, args.examples):
        label, data = fi.mutate_hdf5(seeds, fi.RandomChooser(_api_input(args, i)))
        path.write_bytes(data)
        print(f"start {i}", flush=True)
        try:
            with ft.time_limit(args.alarm):
                outcome = ft.api_target(path)
        except BaseException as exc:  # noqa: BLE001 - reported to the supervisor
            print(f"bug {i} {json.dumps(label)} {type(exc).__name__}: {exc}", flush=True)
            return 1
        print(f"done {i} {outcome}", flush=True)
    return 0


def _lines(child: subprocess.Popen, timeout: float) -> Iterator[str | None]:
    """The child's stdout lines as they come; None when it is silent for `timeout` s.
    (Unbuffered: a buffered readline would hide lines from select.)"""
    fd, pending = child.stdout.fileno(), b""
    while True:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            yield None
            return
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        *lines, pending = (pending + chunk).split(b"\n")
        yield from (line.decode() for line in lines)


def run_api(args: argparse.Namespace) -> int:
    """Supervise children: a child that dies or stops answering marks its input."""
    started = time.monotonic()
    counts: collections.Counter = collections.Counter()
    crashes, hangs, bugs = [], [], []
    seeds = None
    start = 0
    while start < args.examples:
        child = subprocess.Popen(
            [sys.executable, __file__, "api-child", "--start", str(start), *_common(args)],
            stdout=subprocess.PIPE, env={**os.environ, "MALLOC_ARENA_MAX": "2"},
        )
        current = None
        for line in _lines(child, args.alarm + 30):  # + 30: a fresh child analyses its seeds
            if line is None:  # stuck inside C code the alarm cannot interrupt
                child.kill()
                hangs.append(current)
                break
            word, index, *rest = line.split(" ", 2) + [""]
            if word == "start":
                current = int(index)
            elif word == "done":
                counts[rest[0].strip()] += 1
            elif word == "bug":
                bugs.append(line.strip())
        child.wait()
        if child.returncode not in (0, 1) and current is not None and current not in hangs:
            crashes.append(current)
        if current is None or child.returncode == 0:
            break
        seeds = seeds or hdf5_seeds(args.seeds)
        _, data = fi.mutate_hdf5(seeds, fi.RandomChooser(_api_input(args, current)))
        _save(args.save, "api-libhdf5" if current in crashes + hangs else "api", ".h5", data)
        start = current + 1
    summary = _summary("api", counts, started, libhdf5_crashes=crashes, libhdf5_hangs=hangs, bugs=bugs)
    summary["inputs"] += len(crashes) + len(hangs) + len(bugs)
    print(json.dumps(summary))
    return 1 if bugs else 0


# -- regression inputs --------------------------------------------------------------------


def replay(path: Path) -> str:
    """One saved input through its target (in this process)."""
    if path.name.endswith(".zarr.json"):
        store = {k: bytes.fromhex(v) for k, v in json.loads(path.read_text()).items()}
        work = StoreDir({}, Path(tempfile.mkdtemp(prefix="fuzz-replay-")))
        return work.check(store)
    return ft.engine_target(path.read_bytes())


def _common(args: argparse.Namespace) -> list[str]:
    return ["--examples", str(args.examples), "--seeds", str(args.seeds), "--save", str(args.save),
            "--alarm", str(args.alarm), "--memory-mb", str(args.memory_mb),
            *(["--seed", str(args.seed)] if args.seed is not None else [])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=["engine", "zarr", "api", "api-child", "replay"])
    parser.add_argument("files", nargs="*", type=Path, help="replay: saved inputs")
    parser.add_argument("--examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", 1000)))
    parser.add_argument("--seeds", type=Path, default=Path(tempfile.gettempdir()) / "lazynwb-fuzz-seeds")
    parser.add_argument("--save", type=Path, default=CORPUS / "new")
    parser.add_argument("--seed", type=int, default=None,
                        help="other inputs than CI's (derandomized) run, reproducible by this number")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--deadline-ms", type=int, default=5000)
    parser.add_argument("--alarm", type=float, default=20.0, help="hard limit per input (s)")
    parser.add_argument("--memory-mb", type=int, default=1024, help="address space above the baseline")
    args = parser.parse_args(argv)
    if args.target == "replay":
        for path in args.files:
            print(f"{path.name}: {replay(path)}")
        return 0
    runner = {"engine": run_engine, "zarr": run_zarr, "api": run_api, "api-child": run_api_child}
    return runner[args.target](args)


if __name__ == "__main__":
    sys.exit(main())
