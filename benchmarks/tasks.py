"""The benchmark rows: what each task reads, on which files, who runs it, and its targets.

Why a registry: the runner, the floor computation (``needed.py``) and the report must agree
on every row, so each row is described once, here. Targets come from the issues:

* every row, cold: >= 3x faster than the fastest peer and <= floor + 8 round trips (the
  all-columns row: <= 1.3x its floor, it is bandwidth-bound);
* every row, warm: <= 1.5x floor + one round trip;
* bytes (warm): <= 1.5x the bytes of the chunks the work needs;
* list internal paths / table schema, warm: zero requests;
* metadata of 100 small files, cold: < 1 s; of 1,000: < 3 s; filtered /units of 300
  sessions, cold: < 5 s (issue 7);
* raster of 100 units over a minute and trial-aligned running speed, warm: one concurrent
  round (our transport's critical-path rounds); PSTH of 300 units x 500 trials, cold:
  <= floor + 6 round trips (issue 15).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from benchmarks.datasets import Data, Scale
from benchmarks.layouts import LAYOUTS, REAL_FILES
from benchmarks.tools import HDF5_TOOLS, ZARR_TOOLS
from benchmarks.tools_aligned import PSTH_UNITS, RASTER_UNITS


@dataclasses.dataclass(frozen=True)
class Task:
    key: str
    label: str  # "{n}" is replaced by the number of files
    # "session" (the big file), "session_zarr" (it as Zarr v3), "movie", "small", "units",
    # "layout:<name>" (the session in another layout, or a real file: layouts.py), "ndb"
    files: str
    count: str | None = None  # a Scale field: how many files
    tools: tuple[str, ...] = HDF5_TOOLS
    slow_peers: tuple[str, ...] = ()  # run once (cold + warm), not `repeats` times
    skip: tuple[str, ...] = ()  # not run: they would take many minutes
    comparable: bool = True  # tools must agree on (rows, check)
    cold_limit: float | None = None  # seconds, row-specific cold target (issue 7, issue 5)
    cold_floor_factor: float | None = None  # cold <= factor x floor instead of floor + 8 RTT
    cold_round_trips: int = 8  # cold <= floor + this many round trips (issue 15's PSTH: 6)
    warm_zero_requests: bool = False
    warm_rounds: int | None = None  # warm: at most this many rounds (our counters; issue 15)
    units: int | None = None  # the first this many units of /units (fewer if the file has fewer)

    def n_files(self, scale: Scale) -> int:
        return getattr(scale, self.count) if self.count else 1

    def title(self, scale: Scale) -> str:
        return self.label.replace("{n}", f"{self.n_files(scale):,}")

    def paths(self, data: Data) -> list:
        if self.files == "session":
            return [data.session]
        if self.files == "session_zarr":
            return [data.session_zarr]
        if self.files.startswith("layout:"):
            return [data.layouts.get(self.files.split(":", 1)[1])]
        if self.files == "ndb":
            return list(data.ndb)
        if self.files == "movie":
            return [data.movie]
        pool = data.small if self.files == "small" else data.units
        return pool[: self.n_files(data.scale)]

    def params(self, data: Data) -> dict[str, Any]:
        """The keyword arguments of the tools' work (``tools.py``), from the files' spec."""
        return {"units": min(self.units, data.spec.n_units)} if self.units else {}

    def runs_tool(self, tool: str) -> bool:
        return tool in self.tools and tool not in self.skip


def _layout_tasks() -> list[Task]:
    """The single-session rows on the session written in other layouts (issue 16)."""
    rows = (("trials", "/intervals/trials, all columns"), ("units_scalars", "/units, scalar columns"),
            ("series", "10,000-sample slices of 2 series"), ("paths", "list internal paths"),
            ("schema", "get_table_schema('/units')"))
    out = []
    for layout in LAYOUTS:
        for key, label in rows:
            out.append(Task(f"{key}@{layout}", f"{layout}: {label}", f"layout:{layout}",
                            comparable=key != "paths", warm_zero_requests=key in ("paths", "schema"),
                            tools=("lazynwb_explorer", "lazynwb") if key == "schema" else HDF5_TOOLS))
    return out


def _real_tasks() -> list[Task]:
    """Real files of other writers (../shared/data): their tables, and their paths."""
    out = []
    for i, (relative, tables) in enumerate(REAL_FILES.items()):
        name = relative.rsplit("/", 1)[-1].split("_")[0].split("-")[0][:12]
        if "/intervals/trials" in tables:
            out.append(Task(f"trials@real{i}", f"real {name}: /intervals/trials", f"layout:real{i}"))
        out.append(Task(f"real_units@real{i}", f"real {name}: /units, scalar columns", f"layout:real{i}"))
        out.append(Task(f"paths@real{i}", f"real {name}: list internal paths", f"layout:real{i}",
                        comparable=False, warm_zero_requests=True))
    return out


def _ndb_tasks() -> list[Task]:
    """neurodatabench's four questions (benchmarks/ndb.py), 5 sessions."""
    return [
        Task("ndb_units", "neurodatabench: VISp units passing default_qc, 5 sessions", "ndb"),
        Task("ndb_spikes", "neurodatabench: longest ISI of the fastest VISp unit, 5 sessions", "ndb"),
        Task("ndb_trials", "neurodatabench: mean trial length, 5 sessions", "ndb"),
        Task("ndb_array", "neurodatabench: mean of a 12,850 x 128 block of a gzip array", "ndb"),
    ]


TASKS: dict[str, Task] = {
    t.key: t
    for t in (
        Task("trials", "/intervals/trials, all columns", "session"),
        Task("units_scalars", "/units, scalar columns", "session"),
        Task(
            "units_filter",
            "/units filter presence_ratio >= 0.95 & location == 'VISp', + spike_times",
            "session",
        ),
        Task("units_all", "/units, all columns (bandwidth-bound)", "session",
             slow_peers=("lazynwb", "pynwb+remfile"), cold_floor_factor=1.3),
        Task("series", "10,000-sample slices of 2 series", "session"),
        Task("paths", "list internal paths", "session", comparable=False,
             warm_zero_requests=True),
        Task("schema", "get_table_schema('/units')", "session",
             tools=("lazynwb_explorer", "lazynwb"), warm_zero_requests=True),
        Task("meta_few", "session + subject metadata of {n} files", "units", count="few"),
        Task("meta_many", "metadata of {n} small files (all in flight)", "small",
             count="many", slow_peers=("pynwb+remfile",), cold_limit=1.0),
        Task("meta_lots", "metadata of {n} small files (issue 7)", "small", count="lots",
             slow_peers=("lazynwb",), skip=("pynwb+remfile",), cold_limit=3.0),
        Task("units_many", "filtered /units + spike_times of {n} sessions (issue 7)", "units",
             count="units", slow_peers=("lazynwb",), skip=("pynwb+remfile",),
             cold_limit=5.0),
        Task("units_memory", "/units filter + unit_id, spike_times, waveform_mean (issue 6)",
             "session", slow_peers=("pynwb+remfile",)),
        Task("movie_frame", "frame 21 of a 512x512 uint16 TwoPhotonSeries (issue 19)", "movie",
             warm_rounds=1),
        Task("zarr_units_filter", "Zarr v3: /units filter + spike_times (issue 17)", "session_zarr",
             tools=ZARR_TOOLS),
        Task("zarr_metadata", "Zarr v3: session + subject metadata (issue 17)", "session_zarr",
             tools=ZARR_TOOLS),
        Task("raster", "raster: spike times of 100 units in a 60 s window (issue 15)", "session",
             units=RASTER_UNITS, warm_rounds=1),
        Task("psth", "PSTH of 300 units x 500 trials, 25 ms bins, by stimulus_name (issue 15)",
             "session", units=PSTH_UNITS, cold_round_trips=6),
        Task("aligned_series", "running speed around 500 stimulus onsets (issue 15)", "session",
             warm_rounds=1),
        *_layout_tasks(),
        *_real_tasks(),
        *_ndb_tasks(),
    )
}
