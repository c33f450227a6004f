"""`make bench`: cold, side-by-side reads of a realistic NWB file over a slow HTTP link.

Why: speed claims need a reproducible, honest setup. This writes the benchmark file
(benchmarks/datasets.py), serves it from 127.0.0.1 with added latency and a shared bandwidth
cap (benchmarks/server.py), runs every task with every tool in a fresh subprocess (cold, with
an empty cache directory), and writes the table to benchmarks/README.md.

    python -m benchmarks.run [--quick] [--latency 0.05] [--bandwidth-mbps 100] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from importlib import metadata
from pathlib import Path

from benchmarks.datasets import ensure_session, spec_for
from benchmarks.report import Measurement, median_run, readme, table
from benchmarks.server import SlowRangeServer
from benchmarks.tools import TASKS, TOOLS

ROOT = Path(__file__).resolve().parents[1]
README = Path(__file__).resolve().parent / "README.md"


def run_once(
    server: SlowRangeServer, tool: str, task: str, url: str, timeout: float
) -> Measurement:
    """One cold run: a fresh process with its own empty cache directory."""
    with tempfile.TemporaryDirectory(prefix="lazynwb-bench-") as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache, "LAZYNWB_CACHE_DIR": cache}
        env.pop("LAZYNWB_DISABLE_CACHE", None)
        server.reset()
        cmd = [sys.executable, "-m", "benchmarks.worker", tool, task, url]
        try:
            done = subprocess.run(
                cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return Measurement(tool, task, error=f"timeout after {timeout:.0f} s")
    m = Measurement(tool, task, requests=server.requests, bytes_sent=server.bytes_sent)
    try:
        out = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return Measurement(tool, task, error=f"worker failed: {tail[0][:200]}")
    if "error" in out:
        m.error = out["error"]
        return m
    m.wall, m.rss_mb, m.rows, m.check = out["wall"], out["rss_mb"], out["rows"], out["check"]
    return m


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def header(args: argparse.Namespace, path: Path, repeats: int, elapsed: float) -> str:
    spec = spec_for(args.quick)
    size = path.stat().st_size / 1e6
    versions = ", ".join(
        f"{d} {_version(d)}"
        for d in ("lazynwb_explorer", "lazynwb", "pynwb", "remfile", "h5py", "polars")
    )
    chunking = ", chunked one unit per chunk" if spec.waveform_chunk_per_unit else ""
    times = "once" if repeats == 1 else f"{repeats} times (median shown)"
    return f"""# Benchmarks

Cold reads of one realistic NWB file over a slow HTTP link, side by side:
lazynwb_explorer, [lazynwb](https://pypi.org/project/lazynwb/) 1.0 and pynwb + remfile.
Regenerate with `make bench` (`python -m benchmarks.run{" --quick" if args.quick else ""}`).

- **File** ({size:.0f} MB, written by `lazynwb_explorer.demo_data`): /units with
  {spec.n_units} units (scalar columns, ragged spike_times in hdmf's default ~4 MB chunks,
  float32 waveform_mean {spec.waveform_shape} per unit{chunking}); /intervals/trials with
  {spec.n_trials} rows; {spec.session_seconds / 60:.0f} min of running speed at 60 Hz;
  a gzip-compressed ElectricalSeries.
- **Link**: a Range server on 127.0.0.1 adding **{args.latency * 1000:.0f} ms per request**,
  with **{args.bandwidth_mbps:g} MB/s shared by all connections**; requests and body bytes are
  counted by the server.
- **Runs**: every task in a **fresh process per tool** (nothing open, empty cache directory),
  {times}. Wall time covers the work only (imports excluded); peak RSS is the process's
  high-water mark (imports included). "Wall vs fastest peer" divides by the faster of lazynwb
  and pynwb+remfile: below 1 is faster. ⚠ marks tools disagreeing on the result.
- **pynwb+remfile** opens the file as DANDI documents
  (`NWBHDF5IO(file=h5py.File(remfile.File(url)))`) and reads columns explicitly; for "list
  internal paths" it reads the file and lists `nwbfile.all_children()` (so its row count
  differs by design). **lazynwb 1.0**'s obstore reader refuses plain `http://`; the harness
  passes obstore `allow_http` for it and changes nothing else (see `tools.py`).

Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()};
{versions}. Run on {date.today().isoformat()}; the whole run took {elapsed / 60:.1f} min.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller file, one repeat")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--bandwidth-mbps", type=float, default=100.0, help="MB/s, shared")
    parser.add_argument("--repeats", type=int, help="runs per cell (default 3, quick 1)")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--output", type=Path, default=README, help="markdown file to write")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)

    t0 = time.perf_counter()
    path = ensure_session(args.quick)
    results: dict[tuple[str, str], Measurement] = {}
    bandwidth = args.bandwidth_mbps * 1e6 if args.bandwidth_mbps > 0 else None
    with SlowRangeServer(path.parent, latency=args.latency, bandwidth=bandwidth) as server:
        url = server.url(path.name)
        for task in args.tasks:
            runs: dict[str, list[Measurement]] = {tool: [] for tool in args.tools}
            for _ in range(repeats):  # interleaved, so drift hits every tool alike
                for tool in args.tools:
                    m = run_once(server, tool, task, url, args.timeout)
                    runs[tool].append(m)
                    shown = (
                        m.error or f"{m.wall:.2f} s, {m.requests} req, {m.bytes_sent / 1e6:.1f} MB"
                    )
                    print(f"  {task:14} {tool:17} {shown}", flush=True)
            for tool, measured in runs.items():
                results[(tool, task)] = median_run(measured)

    body = table(results, args.tools)
    text = readme(header(args, path, repeats, time.perf_counter() - t0), body)
    args.output.write_text(text)
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
