"""Run one task with one tool in this (fresh) process and print one JSON line of results.

Why a separate process per run: a cold run must start with nothing open and nothing in
memory, a warm run must get its speed from the cache directory alone (not from an object
left in memory), and each run's peak memory must be its own. The runner starts
``python -m benchmarks.worker`` with the job as JSON on stdin
(``{"tool": ..., "task": ..., "urls": [...], "params": {...}}``; params are the work's
keyword arguments, ``Task.params``) and a cache directory in the environment.

Output (last line of stdout): ``{"wall": s, "cpu_s": s, "import_s": s, "rss_base_mb": MB,
"rss_peak_mb": MB, "rows": n, "check": x, "result_bytes": n, "counters": {...} | null}``
or ``{"error": "..."}``. ``rss_base_mb`` is the resident size after the imports, just before
the work; the kernel's high-water mark is reset there, so ``rss_peak_mb - rss_base_mb`` is the
memory the work itself needed. ``counters`` are lazynwb_explorer's own transport counters
(requests, bytes, rounds on the critical path) for its runs. ``cpu_s`` is the CPU time
(user + system, all threads) the process spent during the work: next to the wall time it
tells a CPU-bound run from one waiting on the network.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024 / 1e6  # kB -> MB
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    """This process's peak resident memory (since the last ``_reset_peak``).

    Linux's ``ru_maxrss`` survives fork + exec and cannot be reset, so read the high-water
    mark of this process's own address space (VmHWM) instead.
    """
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def _reset_peak() -> float:
    """Reset VmHWM to the current resident size (Linux >= 4.0) and return that size."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS") or _peak_rss_mb()


def main() -> int:
    job = json.loads(sys.stdin.read())
    tool, task, urls = job["tool"], job["task"], job["urls"]
    warnings.simplefilter("ignore")
    from benchmarks.tools import OURS, prepare, work_for

    try:
        t0 = time.perf_counter()
        lib = prepare(tool)
        import_s = time.perf_counter() - t0
        work = work_for(tool, task)
        if work is None:
            raise NotImplementedError(f"{tool} has no way to do {task}")
        counting: Any = contextlib.nullcontext
        if tool == OURS:
            from lazynwb_explorer.transport.counters import counting
        rss_base = _reset_peak()
        with counting() as counters:
            t0, cpu0 = time.perf_counter(), time.process_time()
            rows, check, result_bytes = work(lib, urls, **job.get("params", {}))
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    except Exception as exc:  # reported in the table, not raised: one broken peer != no results
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:300]}))
        return 1
    out = {
        "wall": wall,
        "cpu_s": cpu,
        "import_s": import_s,
        "rss_base_mb": rss_base,
        "rss_peak_mb": _peak_rss_mb(),
        "rows": rows,
        "check": check,
        "result_bytes": result_bytes,
        "counters": dataclasses.asdict(counters) if counters is not None else None,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
