"""Turn benchmark measurements into the markdown written to benchmarks/README.md.

Why separate from the runner: the table (medians, ratios against the fastest peer, sanity
marks when tools disagree on the result) is the product; keeping it pure makes it easy to read.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

from benchmarks.tools import PEERS, TASKS

# Tasks whose results must agree between tools (list-paths differs by design: pynwb lists
# objects, the lazynwb-likes list tables and series).
COMPARABLE = ("trials", "units_scalars", "units_filter")


@dataclasses.dataclass
class Measurement:
    """One cold run of one task by one tool."""

    tool: str
    task: str
    wall: float | None = None
    requests: int = 0
    bytes_sent: int = 0
    rss_mb: float | None = None
    rows: int | None = None
    check: float | None = None
    error: str | None = None


def median_run(runs: Sequence[Measurement]) -> Measurement:
    """The run with the median wall time (errors win: one failure marks the cell)."""
    failed = [r for r in runs if r.error]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=lambda r: r.wall or 0.0)
    pick = ordered[(len(ordered) - 1) // 2]
    return dataclasses.replace(pick, wall=statistics.median(r.wall or 0.0 for r in runs))


def _ratio(value: float | None, best: float | None) -> str:
    if value is None or not best:
        return "–"
    return f"{value / best:.2f}×"


def table(results: dict[tuple[str, str], Measurement], tools: Sequence[str]) -> str:
    """A markdown table: one row per (task, tool)."""
    lines = [
        "| Task | Tool | Wall (s) | Wall vs fastest peer | Requests | MB sent "
        "| Peak RSS (MB) | Rows |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for task, label in TASKS.items():
        runs = [results[(tool, task)] for tool in tools if (tool, task) in results]
        peer_walls = [r.wall for r in runs if r.tool in PEERS and r.wall is not None]
        best = min(peer_walls) if peer_walls else None
        answers = {(r.rows, round(r.check or 0.0, 3)) for r in runs if not r.error}
        disagree = task in COMPARABLE and len(answers) > 1
        for r in runs:
            if r.error:
                error = " ".join(r.error.split())[:120].replace("|", "/")
                lines.append(f"| {label} | {r.tool} | error: {error} | | | | | |")
                continue
            rows = f"{r.rows}{' ⚠' if disagree else ''}"
            lines.append(
                f"| {label} | {r.tool} | {r.wall:.2f} | {_ratio(r.wall, best)} | {r.requests} "
                f"| {r.bytes_sent / 1e6:.2f} | {r.rss_mb:.0f} | {rows} |"
            )
    return "\n".join(lines)


def readme(header: str, body: str) -> str:
    return f"{header.rstrip()}\n\n{body}\n"
