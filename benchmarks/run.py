"""`make bench`: cold and warm, side-by-side reads of NWB files over a slow HTTP link.

Why: speed claims need a reproducible, honest setup. This writes the benchmark files
(benchmarks/datasets.py), computes each row's floor from the files (benchmarks/needed.py),
serves them from 127.0.0.1 with added latency and a shared bandwidth cap
(benchmarks/server.py), runs every task with every tool in fresh subprocesses (a cold run
with an empty cache directory, then a warm run with the directory the cold run filled), and
writes the tables to benchmarks/README.md.

    python -m benchmarks.run [--quick] [--latency 0.05] [--bandwidth-mbps 100] [--repeats N]
                             [--no-playback]  # skip the movie played in a browser (playback.py)
    python -m benchmarks.run --from-json benchmarks/data/last-run.json   # report only
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.datasets import DATA_DIR, ZARR3_PYTHON, Data, ensure_all
from benchmarks.needed import needed_bytes
from benchmarks.playback import Playback
from benchmarks.playback import run as run_playback
from benchmarks.readme import write_readme
from benchmarks.report import Link, Measurement, Row, median_run
from benchmarks.server import SlowRangeServer
from benchmarks.tasks import TASKS, Task
from benchmarks.tools import TOOLS, ZARR3_VENV_TOOLS

ROOT = Path(__file__).resolve().parents[1]
README = Path(__file__).resolve().parent / "README.md"
QUICK_README = DATA_DIR / "README-quick.md"  # a smoke run never overwrites the real table
PARTIAL_README = DATA_DIR / "README-partial.md"  # nor does a run of some tasks or tools


def worker_env(cache: Path) -> dict[str, str]:
    """The environment of a run: every cache any tool keeps lives in ``cache``.

    Our catalog (LAZYNWB_CACHE_DIR) and lazynwb 1.0's SQLite catalog
    (LAZYNWB_CATALOG_CACHE_PATH, else XDG_CACHE_HOME) both go there, so no run sees another
    run's cache, and the user's ~/.cache is never read or written. Other LAZYNWB_* settings
    from the caller's environment are dropped: both tools read them.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYNWB_")}
    env |= {
        "XDG_CACHE_HOME": str(cache),
        "LAZYNWB_CACHE_DIR": str(cache / "lazynwb_explorer"),
        "LAZYNWB_CATALOG_CACHE_PATH": str(cache / "lazynwb" / "catalog.sqlite"),
        "TQDM_DISABLE": "1",
    }
    return env


def _dir_kb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024


def run_once(
    server: SlowRangeServer, tool: str, task: str, phase: str, urls: list[str], cache: Path,
    timeout: float, params: dict[str, Any] | None = None,
) -> Measurement:
    """One run in a fresh process with ``cache`` as every cache directory."""
    server.reset()
    job = json.dumps({"tool": tool, "task": task, "urls": urls, "params": params or {}})
    python = ZARR3_PYTHON if tool in ZARR3_VENV_TOOLS else Path(sys.executable)
    if not python.exists():
        return Measurement(tool, task, phase, error=f"no {python} (make zarr3-venv)")
    cmd = [str(python), "-m", "benchmarks.worker"]
    try:
        done = subprocess.run(
            cmd, cwd=ROOT, env=worker_env(cache), input=job, capture_output=True, text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return Measurement(tool, task, phase, error=f"timeout after {timeout:.0f} s")
    m = Measurement(
        tool, task, phase, requests=server.requests, bytes_sent=server.bytes_sent,
        connections=server.connections_peak, cache_kb=_dir_kb(cache),
    )
    try:
        out = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        m.error = f"worker failed: {tail[0][:200]}"
        return m
    if "error" in out:
        m.error = out["error"]
        return m
    for name in ("wall", "cpu_s", "import_s", "rss_base_mb", "rss_peak_mb", "rows", "check",
                 "result_bytes"):
        setattr(m, name, out[name])
    if out.get("counters"):
        m.rounds = out["counters"]["rounds"]
    return m


def _show(m: Measurement) -> str:
    if m.error:
        return m.error
    rounds = f", {m.rounds} rounds" if m.rounds is not None else ""
    return (f"{m.wall:.2f} s, {m.requests} req, {m.bytes_sent / 1e6:.2f} MB{rounds}, "
            f"{m.connections} conn, {m.rss_peak_mb:.0f} MB RSS")


def run_task(
    server: SlowRangeServer, task: Task, data: Data, tools: list[str], repeats: int,
    args: argparse.Namespace, log: list[Measurement],
) -> list[Row]:
    rows = {tool: Row(task, tool) for tool in tools if tool in task.tools}
    if not all(task.paths(data)):  # the Zarr v3 rows without a zarr3 venv
        for row in rows.values():
            row.skipped = "no Zarr v3 export (make zarr3-venv)"
        return list(rows.values())
    urls = [server.url(str(p.relative_to(DATA_DIR))) for p in task.paths(data)]
    runs: dict[str, dict[str, list[Measurement]]] = {t: {"cold": [], "warm": []} for t in rows}
    for tool, row in rows.items():
        if not task.runs_tool(tool):
            row.skipped = "would take many minutes (see above)"
    for rep in range(repeats):  # interleaved, so drift hits every tool alike
        for tool, row in rows.items():
            if row.skipped or (tool in task.slow_peers and rep > 0):
                continue
            cache = Path(tempfile.mkdtemp(prefix="lazynwb-bench-"))
            try:
                for phase in ("cold", "warm"):
                    m = run_once(server, tool, task.key, phase, urls, cache, args.timeout,
                                 task.params(data))
                    runs[tool][phase].append(m)
                    log.append(m)
                    print(f"  {task.key:13} {tool:17} {phase}  {_show(m)}", flush=True)
            finally:
                shutil.rmtree(cache, ignore_errors=True)
    for tool, row in rows.items():
        row.cold = median_run(runs[tool]["cold"])
        row.warm = median_run(runs[tool]["warm"])
    return list(rows.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller files, one repeat")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--bandwidth-mbps", type=float, default=100.0, help="MB/s, shared")
    parser.add_argument("--repeats", type=int, help="runs per cell (default 3, quick 1)")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--output", type=Path, help="markdown file to write (default: "
                        "benchmarks/README.md; with --quick benchmarks/data/README-quick.md; "
                        "with some --tasks or --tools benchmarks/data/README-partial.md)")
    parser.add_argument("--from-json", type=Path, metavar="RUN.json",
                        help="rewrite the markdown from a saved run instead of running")
    parser.add_argument("--playback", action=argparse.BooleanOptionalAction, default=True,
                        help="play the movie in JupyterLab + Chromium (benchmarks/playback.py)")
    args = parser.parse_args(argv)
    partial = set(args.tasks) != set(TASKS) or set(args.tools) != set(TOOLS)
    args.output = args.output or (QUICK_README if args.quick else PARTIAL_README if partial else README)
    saved = DATA_DIR / f"last-run{'-quick' if args.quick else ''}.json"

    if args.from_json:
        run = Saved.load(args.from_json)
        args.latency, args.bandwidth_mbps = run.latency, run.bandwidth / 1e6
    else:
        run = measure(args)
        run.dump(saved)
    data = ensure_all(args.quick)
    text = write_readme(
        args.output, args, data, run.rows, run.log, run.needed,
        Link(run.latency, run.bandwidth), run.repeats, run.elapsed, run.day,
        run.imports, run.load_average, run.playback,
    )
    print()
    print(text)
    print(f"written to {args.output}" + ("" if args.from_json else f"; measurements in {saved}"))
    return 0


IMPORT_PROBE = ("import sys, time; t = time.perf_counter(); from benchmarks.tools import prepare; "
                "prepare(sys.argv[1]); print(time.perf_counter() - t)")


def measure_imports(tools: list[str]) -> dict[str, list[float]]:
    """Each tool's import in a fresh process with an empty bytecode cache (every module
    compiled, as after an install that wrote none), then again with the cache it wrote.
    PYTHONPYCACHEPREFIX points every tool (and its dependencies) at that one cache."""
    out: dict[str, list[float]] = {}
    for tool in tools:
        python = ZARR3_PYTHON if tool in ZARR3_VENV_TOOLS else Path(sys.executable)
        if not python.exists():
            continue
        prefix = Path(tempfile.mkdtemp(prefix="lazynwb-bench-pyc-"))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(prefix)
        times = []
        try:
            for _ in range(2):
                done = subprocess.run([str(python), "-c", IMPORT_PROBE, tool], cwd=ROOT, env=env,
                                      capture_output=True, text=True, timeout=600)
                times.append(float(done.stdout.strip().splitlines()[-1]))
        except (ValueError, IndexError, subprocess.TimeoutExpired):
            continue
        finally:
            shutil.rmtree(prefix, ignore_errors=True)
        out[tool] = times
        print(f"  import {tool:17} no cache {times[0]:.2f} s, cache {times[1]:.2f} s", flush=True)
    return out


@dataclasses.dataclass
class Saved:
    """A run's measurements, kept as JSON so the report can be rewritten without rerunning."""

    latency: float
    bandwidth: float
    repeats: int
    elapsed: float
    day: str
    needed: dict[str, int]
    rows: list[Row]
    log: list[Measurement]
    imports: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    load_average: list[float] = dataclasses.field(default_factory=list)  # at start, at end
    playback: Playback | None = None

    def dump(self, path: Path) -> None:
        def row(r: Row) -> dict[str, Any]:
            cells = {p: dataclasses.asdict(m) if m else None for p, m in (("cold", r.cold),
                                                                           ("warm", r.warm))}
            return {"task": r.task.key, "tool": r.tool, "skipped": r.skipped, **cells}

        body = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("rows", "log")}
        body |= {"rows": [row(r) for r in self.rows],
                 "log": [dataclasses.asdict(m) for m in self.log]}
        path.write_text(json.dumps(body, indent=1))

    @classmethod
    def load(cls, path: Path) -> Saved:
        body = json.loads(path.read_text())

        def cell(m: dict[str, Any] | None) -> Measurement | None:
            return Measurement(**m) if m else None

        rows = [Row(TASKS[r["task"]], r["tool"], cell(r["cold"]), cell(r["warm"]), r["skipped"])
                for r in body.pop("rows")]
        log = [Measurement(**m) for m in body.pop("log")]
        played = body.pop("playback", None)
        return cls(**body, rows=rows, log=log, playback=Playback(**played) if played else None)


def measure(args: argparse.Namespace) -> Saved:
    """Write the files if needed, serve them and run every (task, tool), cold then warm."""
    t0 = time.perf_counter()
    repeats = args.repeats or (1 if args.quick else 3)
    data = ensure_all(args.quick)
    needed = {key: needed_bytes(key, TASKS[key].paths(data)) for key in args.tasks}
    bandwidth = args.bandwidth_mbps * 1e6
    rows: list[Row] = []
    log: list[Measurement] = []
    load = [os.getloadavg()[0]]
    imports = measure_imports(args.tools)
    with SlowRangeServer(DATA_DIR, latency=args.latency, bandwidth=bandwidth) as server:
        for key in args.tasks:
            rows += run_task(server, TASKS[key], data, args.tools, repeats, args, log)
    played = None
    if args.playback:  # after the link's rows: nothing else runs while it plays
        played = run_playback(args.quick)
        print(f"  playback      {played.drawn} of {played.expected} frames drawn, "
              f"{played.dropped} dropped{f'; {played.error}' if played.error else ''}", flush=True)
    elapsed = time.perf_counter() - t0
    day = date.today().isoformat()
    load.append(os.getloadavg()[0])
    return Saved(args.latency, bandwidth, repeats, elapsed, day, needed, rows, log, imports, load,
                 played)


if __name__ == "__main__":
    sys.exit(main())
