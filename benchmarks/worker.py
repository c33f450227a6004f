"""Run one task with one tool in this (fresh) process and print one JSON line of results.

Why a separate process per run: every run must be cold (no catalog, no open file, no warm
cache from an earlier task) and its peak memory must be its own. The runner starts
``python -m benchmarks.worker TOOL TASK URL`` with a fresh cache directory in the environment.

Output (last line of stdout): ``{"wall": s, "rss_mb": MB, "rows": n, "check": x}`` or
``{"error": "..."}``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path


def _peak_rss_mb() -> float:
    """This process's peak resident memory.

    Linux's ``ru_maxrss`` survives fork + exec (a child reports its parent's peak when that
    is higher), so read the high-water mark of this process's own address space instead.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv: list[str]) -> int:
    tool, task, url = argv
    warnings.simplefilter("ignore")
    from benchmarks.tools import WORK, prepare

    try:
        lib = prepare(tool)
        work = WORK[tool][task]
        t0 = time.perf_counter()
        rows, check = work(lib, url)
        wall = time.perf_counter() - t0
    except Exception as exc:  # reported in the table, not raised: one broken peer != no results
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:300]}))
        return 1
    print(json.dumps({"wall": wall, "rss_mb": _peak_rss_mb(), "rows": rows, "check": check}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
