"""Turn benchmark measurements into the markdown tables written to benchmarks/README.md.

Why separate from the runner: the tables (medians, ratios against the fastest peer and the
floor, the issue targets checked row by row, sanity marks when tools disagree) are the
product; keeping them pure makes them easy to read and to check.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

from benchmarks.tasks import TASKS, Task
from benchmarks.tools import OURS, PEERS

MB = 1e6


@dataclasses.dataclass
class Measurement:
    """One run (cold or warm) of one task by one tool, in a fresh process."""

    tool: str
    task: str
    phase: str  # "cold" | "warm"
    wall: float | None = None
    cpu_s: float | None = None  # CPU time of the process during the work (all threads)
    import_s: float | None = None
    requests: int = 0  # seen by the server
    bytes_sent: int = 0  # seen by the server
    connections: int = 0  # most connections open at once, seen by the server
    rounds: int | None = None  # critical-path rounds (lazynwb_explorer's own counters)
    rss_base_mb: float | None = None
    rss_peak_mb: float | None = None
    rows: int | None = None
    check: float | None = None
    result_bytes: int | None = None
    cache_kb: float | None = None  # size of the cache directory after the run
    error: str | None = None


@dataclasses.dataclass
class Row:
    """One (task, tool) cell: median cold and warm runs, or why it was not run."""

    task: Task
    tool: str
    cold: Measurement | None = None
    warm: Measurement | None = None
    skipped: str | None = None


@dataclasses.dataclass(frozen=True)
class Link:
    latency: float  # s per request
    bandwidth: float  # bytes/s

    def floor(self, needed: int) -> float:
        return needed / self.bandwidth + self.latency


def median_run(runs: Sequence[Measurement]) -> Measurement | None:
    """The run with the median wall time (errors win: one failure marks the cell)."""
    if not runs:
        return None
    failed = [r for r in runs if r.error]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=lambda r: r.wall or 0.0)
    pick = ordered[(len(ordered) - 1) // 2]
    return dataclasses.replace(pick, wall=statistics.median(r.wall or 0.0 for r in runs))


def _ok(m: Measurement | None) -> bool:
    return m is not None and m.error is None and m.wall is not None


def fastest_peer(rows: Sequence[Row], phase: str) -> float | None:
    walls = [getattr(r, phase).wall for r in rows if r.tool in PEERS and _ok(getattr(r, phase))]
    return min(walls) if walls else None


def _pair(cold: object, warm: object) -> str:
    return f"{cold} / {warm}"


def _num(value: float | None, fmt: str = ".2f", suffix: str = "") -> str:
    return "–" if value is None else f"{value:{fmt}}{suffix}"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _ratio(value: float | None, base: float | None) -> str:
    return "–" if value is None or not base else f"{value / base:.2f}×"


def main_table(rows: Sequence[Row], needed: dict[str, int], link: Link, scale: object) -> str:
    """Issue 5's table: one line per (task, tool), cold / warm side by side."""
    lines = [
        "| Task | Tool | Cold (s) | Warm (s) | Cold vs fastest peer | Cold / warm vs floor "
        "| CPU (ms) | Requests | MB sent | Rounds | Connections | Peak RSS (MB) | Rows |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key, task in TASKS.items():
        group = [r for r in rows if r.task.key == key]
        if not group:
            continue
        floor = link.floor(needed[key])
        best = fastest_peer(group, "cold")
        answers = {(m.rows, round(m.check or 0.0, 3)) for r in group for m in (r.cold, r.warm)
                   if _ok(m)}
        disagree = task.comparable and len(answers) > 1
        title = task.title(scale)  # type: ignore[arg-type]
        for r in group:
            if r.skipped:
                lines.append(f"| {title} | {r.tool} | skipped: {r.skipped} |" + " |" * 11)
                continue
            bad = next((m for m in (r.cold, r.warm) if m is not None and m.error), None)
            if bad is not None or not _ok(r.cold) or not _ok(r.warm):
                error = " ".join((bad.error if bad else "no result").split())[:120]
                lines.append(f"| {title} | {r.tool} | error: {error.replace('|', '/')} |"
                             + " |" * 11)
                continue
            c, w = r.cold, r.warm
            assert c is not None and w is not None
            rounds = _pair(c.rounds, w.rounds) if c.rounds is not None else "–"
            n_files = task.n_files(scale)  # type: ignore[arg-type]
            if c.rounds is not None and w.rounds is not None and n_files > 1:
                rounds = _pair(f"{c.rounds / n_files:.1f}", f"{w.rounds / n_files:.1f}") + " per file"
            lines.append(
                f"| {title} | {r.tool} | {c.wall:.2f} | {w.wall:.2f} | {_ratio(c.wall, best)} "
                f"| {_pair(_ratio(c.wall, floor), _ratio(w.wall, floor))} "
                f"| {_pair(_num(_ms(c.cpu_s), '.0f'), _num(_ms(w.cpu_s), '.0f'))} "
                f"| {_pair(c.requests, w.requests)} "
                f"| {_pair(f'{c.bytes_sent / MB:.2f}', f'{w.bytes_sent / MB:.2f}')} "
                f"| {rounds} | {_pair(c.connections, w.connections)} "
                f"| {_pair(f'{c.rss_peak_mb:.0f}', f'{w.rss_peak_mb:.0f}')} "
                f"| {c.rows}{' ⚠' if disagree else ''} |"
            )
    return "\n".join(lines)


def _mark(ok: bool, text: str) -> str:
    return f"{'✓' if ok else '✗'} {text}"


def target_cells(row: Row, group: Sequence[Row], needed: int, link: Link) -> list[str]:
    """The issue targets for our row: ✓/✗ with the measured number."""
    task, c, w = row.task, row.cold, row.warm
    floor = link.floor(needed)
    cells = []
    best = fastest_peer(group, "cold")
    if not _ok(c) or not _ok(w):
        return ["–"] * 6
    assert c is not None and w is not None and c.wall is not None and w.wall is not None
    speedup = best / c.wall if best else None
    cells.append("– (no peer)" if speedup is None else _mark(speedup >= 3, f"{speedup:.1f}×"))
    if task.cold_floor_factor:
        limit = task.cold_floor_factor * floor
        cells.append(_mark(c.wall <= limit, f"{c.wall:.2f} ≤ {limit:.2f} ({task.cold_floor_factor}× floor)"))
    else:
        trips = task.cold_round_trips
        limit = floor + trips * link.latency
        own = "" if trips == 8 else f" (floor + {trips} RTT)"
        cells.append(_mark(c.wall <= limit, f"{c.wall:.2f} ≤ {limit:.2f}{own}"))
    limit = 1.5 * floor + link.latency
    cells.append(_mark(w.wall <= limit, f"{w.wall:.2f} ≤ {limit:.2f}"))
    if task.warm_zero_requests:
        cells.append(_mark(w.requests == 0, f"{w.requests} requests"))
    elif needed:
        ratio = w.bytes_sent / needed
        cells.append(_mark(ratio <= 1.5, f"{ratio:.2f}× ({w.bytes_sent / MB:.2f} / {needed / MB:.2f} MB)"))
    else:
        cells.append("–")
    cells.append(", ".join(_row_targets(task, c, w)))
    cells.append(f"{c.bytes_sent / max(needed, 1):.1f}×" if needed else f"{c.bytes_sent / MB:.2f} MB")
    return cells


def _row_targets(task: Task, c: Measurement, w: Measurement) -> list[str]:
    """The targets one row has of its own: a cold time limit, at most N warm rounds."""
    marks = []
    if task.cold_limit is not None:
        marks.append(_mark((c.wall or 0.0) < task.cold_limit,
                           f"cold {c.wall:.2f} < {task.cold_limit:g} s"))
    if task.warm_rounds is not None:
        if w.rounds is None:
            marks.append(f"warm rounds ≤ {task.warm_rounds}: not counted")
        else:
            marks.append(_mark(w.rounds <= task.warm_rounds,
                               f"warm {w.rounds} round{'s' * (w.rounds != 1)} ≤ {task.warm_rounds}"))
    return marks


def targets_table(rows: Sequence[Row], needed: dict[str, int], link: Link, scale: object) -> str:
    lines = [
        "| Task | Needed MB | Floor (s) | Cold ≥ 3× fastest peer | Cold ≤ floor + 8 RTT (or as shown) "
        "| Warm ≤ 1.5× floor + RTT | Warm bytes ≤ 1.5× needed (or 0 requests) | Row target "
        "| Cold bytes / needed | Catalog on disk (KB) |",
        "|---|--:|--:|---|---|---|---|---|--:|--:|",
    ]
    for key, task in TASKS.items():
        group = [r for r in rows if r.task.key == key]
        ours = next((r for r in group if r.tool == OURS and not r.skipped), None)
        if ours is None:
            continue
        cells = target_cells(ours, group, needed[key], link)
        cache = _num(ours.cold.cache_kb if ours.cold else None, ".0f")
        lines.append(
            f"| {task.title(scale)} | {needed[key] / MB:.3f} "  # type: ignore[arg-type]
            f"| {link.floor(needed[key]):.2f} | {' | '.join(cells)} | {cache} |"
        )
    return "\n".join(lines)


def import_table(rows: Sequence[Row], all_runs: Sequence[Measurement],
                 cached: dict[str, list[float]] | None = None) -> str:
    """Import time in the runs (as the environment runs Python), and in a fresh process
    without and then with a bytecode cache (``cached``: tool -> [no cache, cache] seconds)."""
    tools = list(dict.fromkeys(r.tool for r in rows))
    cached = cached or {}
    lines = ["| Tool | Import (s), median of all runs | Runs | No bytecode cache (s) "
             "| With bytecode cache (s) |", "|---|--:|--:|--:|--:|"]
    for tool in tools:
        times = [m.import_s for m in all_runs if m.tool == tool and m.import_s is not None]
        cold, warm = (cached.get(tool) or [None, None])[:2]
        if times:
            lines.append(f"| {tool} | {statistics.median(times):.2f} | {len(times)} "
                         f"| {_num(cold)} | {_num(warm)} |")
    return "\n".join(lines)


def memory_table(rows: Sequence[Row], task_key: str = "units_memory") -> str:
    lines = [
        "| Tool | Result (MB) | RSS before work (MB) | Peak RSS (MB) | Peak delta (MB) "
        "| Fixed overhead = delta − result (MB) | Delta / result |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        m = r.cold
        if r.task.key != task_key or not _ok(m):
            continue
        assert m is not None and m.rss_peak_mb is not None and m.rss_base_mb is not None
        result = (m.result_bytes or 0) / MB
        delta = m.rss_peak_mb - m.rss_base_mb
        lines.append(
            f"| {r.tool} | {result:.1f} | {m.rss_base_mb:.0f} | {m.rss_peak_mb:.0f} "
            f"| {delta:.1f} | {delta - result:.1f} | {_ratio(delta, result)} |"
        )
    return "\n".join(lines)


def breakdown_table(rows: Sequence[Row], needed: dict[str, int], link: Link, scale: object) -> str:
    """Where our time goes: the network's share (rounds x latency, bytes / bandwidth) vs CPU.

    Latency: the larger of rounds per file x RTT (files run concurrently) and requests per
    open connection x RTT (each connection serves its requests one after another), a lower
    bound of the time spent waiting on round trips. CPU time of both cores can exceed wall.
    """
    lines = [
        "| Task | Phase | Wall (s) | Floor (s) | Round trips (s) | Sent / bandwidth (s) "
        "| CPU (s) | CPU / wall |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for key, task in TASKS.items():
        ours = next((r for r in rows if r.task.key == key and r.tool == OURS), None)
        if ours is None or ours.skipped:
            continue
        n_files = task.n_files(scale)  # type: ignore[arg-type]
        for phase in ("cold", "warm"):
            m = getattr(ours, phase)
            if not _ok(m) or m.rounds is None:
                continue
            waits = max(m.rounds / n_files, m.requests / max(m.connections, 1))
            rtt = waits * link.latency
            send = m.bytes_sent / link.bandwidth
            cpu = _num(m.cpu_s)
            lines.append(
                f"| {task.title(scale)} | {phase} | {m.wall:.2f} "  # type: ignore[arg-type]
                f"| {link.floor(needed[key]):.2f} | {rtt:.2f} | {send:.2f} | {cpu} "
                f"| {_ratio(m.cpu_s, m.wall)} |"
            )
    return "\n".join(lines)
