"""Write benchmarks/README.md: what is measured and how (prose), then the generated tables.

Why the prose lives here: the README is rewritten by every `make bench`, so its text must be
generated with the numbers it describes (file sizes, link, repeats, versions).
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from benchmarks.datasets import Data
from benchmarks.playback import Playback
from benchmarks.playback import table as playback_table
from benchmarks.report import (
    Link,
    Measurement,
    Row,
    breakdown_table,
    import_table,
    main_table,
    memory_table,
    targets_table,
)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _mb(paths: Sequence[Path]) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6


def _skips(rows: Sequence[Row], data: Data, repeats: int) -> str:
    skipped = [f"{r.tool} on “{r.task.title(data.scale)}”" for r in rows if r.skipped]
    once = [f"{r.tool} on “{r.task.title(data.scale)}”" for r in rows
            if repeats > 1 and not r.skipped and r.tool in r.task.slow_peers]
    text = ""
    if skipped:
        text += ("\n- **Not run** (each run would take several minutes: the files are opened "
                 "one by one, ~0.2–0.4 s each): " + "; ".join(skipped) + ".")
    if once:
        text += ("\n- **Run once** (cold + warm) instead of every repeat, to keep `make bench` "
                 "under 15 min: " + "; ".join(once) + ".")
    return text


def header(args: argparse.Namespace, data: Data, rows: Sequence[Row], repeats: int,
           elapsed: float, day: str) -> str:
    spec, scale = data.spec, data.scale
    versions = ", ".join(
        f"{d} {_version(d)}"
        for d in ("lazynwb_explorer", "lazynwb", "pynwb", "remfile", "h5py", "polars")
    )
    times = "once" if repeats == 1 else f"{repeats} times (medians shown)"
    quick = " --quick" if args.quick else ""
    n_small = max(scale.many, scale.lots)
    n_units = max(scale.units, scale.few)
    return f"""# Benchmarks

Cold and warm reads of NWB files over a slow HTTP link, side by side:
lazynwb_explorer, [lazynwb](https://pypi.org/project/lazynwb/) 1.0 and pynwb + remfile.
This file is generated: `make bench` (`python -m benchmarks.run{quick}`) measures and
rewrites it (the text is in `readme.py`, the measurements are kept in
`benchmarks/data/last-run.json`; `--from-json` rewrites the text without measuring).
`make bench BENCH_ARGS=--quick` runs smaller files once and writes
`benchmarks/data/README-quick.md` instead.

## Setup

- **Files** (written by `datasets.py` into `benchmarks/data/`, deterministic):
  - one realistic session ({_mb([data.session]):.0f} MB, `lazynwb_explorer.demo_data`):
    /units with {spec.n_units} units (scalar columns, ragged spike_times in hdmf's default
    ~4 MB chunks, float32 waveform_mean {spec.waveform_shape} per unit, one unit per chunk);
    /intervals/trials with {spec.n_trials} rows; {spec.session_seconds / 60:.0f} min of
    running speed at 60 Hz with timestamps; a gzip-compressed {spec.ephys_channels}-channel
    ElectricalSeries;
  - {n_small:,} small sessions (session + subject metadata only, {_mb(data.small) / n_small * 1000:.0f} KB
    each, most of it the cached NWB schema pynwb writes): one pynwb file copied with its
    identifier, start time, session and subject ids patched by h5py;
  - {n_units} sessions with a small /units table (20–150 units, scalar columns incl.
    presence_ratio and location, ragged spike_times; {_mb(data.units) / n_units * 1000:.0f} KB each),
    written by pynwb.
  - the session as **Zarr v3**, exported by hdmf-zarr 0.14 (`NWBZarrIO.export`, in the zarr3
    venv: `zarr3_export.py`; its chunking kept, zstd / zlib, consolidated metadata inline in
    the root zarr.json), for the Zarr v3 rows.
  - the session in **other layouts** (`layouts.py`, issue 16): `pynwb_gzip` (hdmf's default
    ~4 MB chunks, gzip on every table column and series), `contiguous` (the legacy layout:
    `expandable=()`); and **real files** of other writers from ../shared/data (`real0`..:
    ALM ecephys + ogen, a dandi-cli session, a phy export), each with its own rows;
  - 5 sessions for **neurodatabench**'s four questions (`ndb.py`; the questions of
    bjhardcastle/neurodatabench's `dynamic_routing_nwb_hdf5_v0`, asked of files written here
    with the same tables and columns, answered by each tool's own calls).
- **Link**: a Range server on 127.0.0.1 (`server.py`) adding **{args.latency * 1000:.0f} ms
  per request**, with **{args.bandwidth_mbps:g} MB/s shared by all connections**; it counts
  requests, body bytes and the most connections open at once.
- **Runs**: every run is a **fresh process** (`worker.py`). A **cold** run starts with an
  empty cache directory; the **warm** run that follows is another fresh process given the
  directory the cold run filled (our persistent catalog; lazynwb 1.0's SQLite catalog lives
  there too, so its warm run is warm in the same way; pynwb+remfile keeps nothing, so its
  warm run is simply a second cold one). Each run gets its own directory (never ~/.cache).
  Cold + warm pairs are repeated {times}, tools interleaved.{_skips(rows, data, repeats)}
- **Columns**: wall time covers the work only; imports are timed separately (table below).
  Requests, MB sent and connections are counted by the server; rounds are the critical-path
  rounds our own transport counters report (`lazynwb_explorer.transport.counters`; a round
  is one batch of requests issued together; over many files the rounds are shown per file,
  as the files run concurrently). Peak RSS is the process's high-water mark
  (imports included). "vs fastest peer" divides by the faster peer's cold time (below 1 is
  faster); "vs floor" divides by the row's floor. ⚠ marks tools disagreeing on the result.
- **Floor** of a row = data bytes the row needs / bandwidth + one round trip. The bytes are
  computed from the files with h5py (`needed.py`): a dataset read whole counts all its
  elements; a row selection counts the stored size of every *compressed* chunk it touches,
  and only the selected elements' bytes of contiguous or uncompressed chunked data (a reader
  can range-read inside those); variable-length strings add their global-heap objects.
  HDF5 metadata (object headers, B-trees, heaps) is not data: the cold target's 8 extra
  round trips are its allowance, and a warm reader has it already.
- **Tasks**: the same user-level call for both lazynwb-like tools (`tools.py`:
  `get_df`, `scan_nwb(...).filter(...).select(...)`, `get_timeseries(...).data[a:b]`,
  `get_internal_paths`, `get_table_schema`, `get_metadata_df(urls)` with all files in
  flight); pynwb+remfile opens files as DANDI documents
  (`NWBHDF5IO(file=h5py.File(remfile.File(url)))`), reads the columns it needs explicitly
  and opens files one after another (`tools_pynwb.py`); for "list internal paths" it lists
  `nwbfile.all_children()`, so its row count differs by design. Series slices are 10,000
  samples from the middle of running_speed and the ElectricalSeries. **lazynwb 1.0**'s
  obstore reader refuses plain `http://`; the harness passes obstore `allow_http` for it and
  changes nothing else.
  The Zarr v3 rows run lazynwb_explorer, lazynwb 1.0 (on zarr-python 2, which cannot read
  Zarr v3) and **hdmf-zarr** 0.14's `NWBZarrIO` (pynwb, zarr-python 3 over fsspec's HTTP;
  its worker runs in the zarr3 venv, Python >= 3.12), reading the columns it needs
  (`tools_hdmfzarr.py`). Their floor counts the stored size of every chunk a row needs.
  **Issue 15's rows** (`tools_aligned.py`) take the first 100 (raster) or 300 (PSTH) units
  of /units as the frame a grid already holds (`_nwb_path`, `_table_index`; fewer when
  the file has fewer) and align to the trials' stim_start_time with a -0.5 to 1.0 s window.
  Ours calls `get_spike_times_in_window` (the minute 300-360 s), `get_psth` (25 ms bins,
  grouped by stimulus_name) and `get_aligned_timeseries` (running speed). lazynwb 1.0 reads
  the units' spike_times with `get_df` for the raster (its `get_spike_times_in_intervals`
  joins windows with the rows of an intervals table, and a raster's minute is no table's
  row), calls `get_spike_times_in_intervals` for the PSTH, and `get_timeseries` (timestamps
  and data whole) for the running speed; pynwb reads `units['spike_times'][i]` and the
  series whole. The peers then share one numpy (`searchsorted` windows, `histogramdd` bins
  on `linspace` edges). Checksums make the tools comparable: the exact sum of the raster's
  spike times; each PSTH bin's count times a weight of its (unit, group, bin), so ⚠ shows
  when any bin's count differs; the exact sums of the aligned samples and their relative
  times. Their floors (`needed.py`): the units' index entries and the spike_times
  elements inside the windows (spike_times is chunked without compression: a reader can
  range-read inside a chunk, so elements, not chunks), the trials columns used, and the
  running speed's timestamps and data rows inside the windows.
  **Issue 19's movie row** shows one frame of the movie file (`lazynwb_explorer.demo_ophys`:
  a 512x512 uint16 TwoPhotonSeries in gzip chunks of 4 frames): ours by `get_frame`, lazynwb
  1.0 (which has none) by indexing its `get_timeseries(...).data`, pynwb by indexing the
  series' data. Its floor is the stored (compressed) chunk holding the frame, so its bytes
  ratio is to that chunk; the frame's own bytes (512 x 512 x 2 = 0.52 MB) are smaller than
  the chunk a reader must fetch and decompress.

## Targets (issues 5, 6, 7, 15, 19), checked for lazynwb_explorer

Cold: ≥ 3× faster than the fastest peer and ≤ floor + 8 round trips (the all-columns row,
bandwidth-bound: ≤ 1.3× its floor). Warm: ≤ 1.5× floor + one round trip; list internal paths
and table schema with zero requests. Bytes: ≤ 1.5× the bytes the work needs (checked on the
warm run; the cold run also reads metadata, its ratio is shown beside). Row targets:
metadata of 100 small files cold < 1 s; of 1,000 cold < 3 s; filtered /units of 300
sessions cold < 5 s; the raster, the trial-aligned running speed and a movie frame warm in
one round (our transport's critical-path rounds); the PSTH cold ≤ floor + 6 round trips
(shown in the cold column); the movie at 30 fps with no dropped frame (its own section).

Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()};
{versions}. Run on {day}; the whole run took {elapsed / 60:.1f} min.
"""


def write_readme(
    output: Path, args: argparse.Namespace, data: Data, rows: Sequence[Row],
    log: Sequence[Measurement], needed: dict[str, int], link: Link, repeats: int,
    elapsed: float, day: str, imports: dict[str, list[float]] | None = None,
    load_average: Sequence[float] = (), playback: Playback | None = None,
) -> str:
    scale = data.scale
    load = ", ".join(f"{x:.1f}" for x in load_average)
    text = "\n".join([
        header(args, data, rows, repeats, elapsed, day)
        + (f"1-minute load average at the start and end of the run: {load} (2 cores).\n" if load else ""),
        "## Results (cold / warm)\n",
        main_table(rows, needed, link, scale),
        "\n## Targets\n",
        targets_table(rows, needed, link, scale),
        "\n## Where lazynwb_explorer's time goes (median runs)\n",
        "Round trips and sent / bandwidth are what the network alone would cost: round trips =",
        "RTT × the larger of rounds per file (files run concurrently) and requests per open",
        "connection (a connection serves its requests one by one). CPU is the process's CPU",
        "time during the work (user + system, both cores: it can exceed the wall time).\n",
        breakdown_table(rows, needed, link, scale),
        "\n## Memory of filter + select on the large /units (issue 6), cold\n",
        "Result = the returned frame's in-memory size; delta = peak RSS during the work minus",
        "RSS just before it (the kernel's high-water mark is reset after the imports).\n",
        memory_table(rows),
        "\n## Import time\n",
        "In the runs, and in a fresh process with an empty bytecode cache (every module of the",
        "tool and its dependencies compiled), then with the cache that run wrote.\n",
        import_table(rows, log, imports),
        "\n## Playing a movie (issue 19)\n",
        "A FrameViewer in a real JupyterLab plays the movie file (local, 512x512 uint16, gzip",
        "chunks of 4 frames) in headless Chromium; the page counts the frame canvas's draws",
        "(`playback.py`). Frames come from the kernel over the widget's comm in batches,",
        "prefetched about a second ahead. The clock starts at the first frame played.\n",
        playback_table(playback),
        "",
    ])
    output.write_text(text)
    return text
