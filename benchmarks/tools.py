"""The work each tool does for each benchmark task, written the way a user of that tool would.

Why one module per kind of tool: the tasks must mean the same thing for every tool, so the
lazynwb-like calls (lazynwb_explorer and lazynwb 1.0 share an API) sit here side by side and
pynwb's explicit reads sit in ``tools_pynwb.py`` (issue 15's event-aligned rows, which add the
same numpy to every peer, in ``tools_aligned.py``). Every function takes the tool's module,
the task's URLs and the task's params (``Task.params``: e.g. how many units) and returns
``(rows, check, result_bytes)``: the number of rows produced, a checksum-like number (e.g.
total spike count) so the runner can tell when two tools did not do the same work, and the
in-memory size of the result. Tools are imported in ``prepare`` (timed on its own, before
the work's clock starts).

Tools:
* ``lazynwb_explorer``: this package, ``import lazynwb_explorer as lazynwb``.
* ``lazynwb``: the published lazynwb 1.0 (same calls; see ``_let_obstore_use_plain_http``).
* ``pynwb+remfile``: ``h5py.File(remfile.File(url))`` opened with ``pynwb.NWBHDF5IO``, the
  streaming recipe DANDI documents; columns read explicitly.
* ``hdmf-zarr``: pynwb's ``NWBZarrIO`` of hdmf-zarr 0.14 (zarr-python 3 over fsspec's HTTP),
  for the Zarr v3 rows; it runs in the zarr3 venv (``make zarr3-venv``), as it needs
  Python >= 3.12 and zarr >= 3.4 (``tools_hdmfzarr.py``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Result = tuple[int, float, int]
Work = Callable[..., Result]  # (lib, urls, **the task's params: Task.params)

HDF5_TOOLS = ("lazynwb_explorer", "lazynwb", "pynwb+remfile")
ZARR_TOOLS = ("lazynwb_explorer", "lazynwb", "hdmf-zarr")
TOOLS = (*HDF5_TOOLS, "hdmf-zarr")
PEERS = ("lazynwb", "pynwb+remfile", "hdmf-zarr")
ZARR3_VENV_TOOLS = ("hdmf-zarr",)  # run by the zarr3 venv's Python
OURS = "lazynwb_explorer"
SERIES = ("/processing/behavior/running_speed", "/acquisition/ElectricalSeries")
SLICE = 10_000  # samples per series slice, from the middle of each series
MOVIE = "/acquisition/TwoPhotonSeries"
MOVIE_FRAME = 21  # the frame the movie row shows: inside a chunk, not its first frame


def slice_start(n_samples: int) -> int:
    return max(0, n_samples // 2 - SLICE // 2)


def prepare(tool: str) -> Any:
    """Import what ``tool`` needs; returns its main module."""
    if tool == "pynwb+remfile":
        for name in ("h5py", "remfile", "pandas"):
            importlib.import_module(name)
        return importlib.import_module("pynwb")
    if tool == "hdmf-zarr":
        for name in ("zarr", "fsspec", "aiohttp", "pynwb"):
            importlib.import_module(name)
        return importlib.import_module("hdmf_zarr")
    importlib.import_module("polars")
    if tool == "lazynwb":
        _let_obstore_use_plain_http()
    return importlib.import_module(tool)


def _let_obstore_use_plain_http() -> None:
    """Let lazynwb 1.0's obstore reader talk to our ``http://127.0.0.1`` server.

    obstore refuses plain http unless ``client_options={"allow_http": True}``, and lazynwb 1.0
    has no way to pass that (real data is behind https, where this is a no-op). Nothing else
    about its reads changes.
    """
    import obstore.store

    original = obstore.store.from_url

    def from_url(url: Any, *args: Any, client_options: Any = None, **kwargs: Any) -> Any:
        if str(url).startswith("http://"):
            client_options = {**(client_options or {}), "allow_http": True}
        return original(url, *args, client_options=client_options, **kwargs)

    obstore.store.from_url = from_url


def frame_bytes(df: Any) -> int:
    """In-memory size of a polars or pandas frame."""
    if hasattr(df, "estimated_size"):
        return int(df.estimated_size())
    return int(df.memory_usage(deep=True).sum())


def _spike_count(df: Any) -> float:
    return float(df["spike_times"].list.len().sum())


def _units_filter_frame(lib: Any, urls: list[str], *columns: str) -> Any:
    import polars as pl

    return (
        lib.scan_nwb(urls if len(urls) > 1 else urls[0], "/units")
        .filter(pl.col("presence_ratio") >= 0.95, pl.col("location") == "VISp")
        .select(*columns)
        .collect()
    )


# ------------------------------------------------------------------------------- lazynwb-like
def _trials(lib: Any, urls: list[str]) -> Result:
    df = lib.get_df(urls[0], "/intervals/trials", as_polars=True)
    return len(df), float(df["start_time"].sum()), frame_bytes(df)


def _units_scalars(lib: Any, urls: list[str]) -> Result:
    df = lib.get_df(urls[0], "/units", exclude_array_columns=True, as_polars=True)
    return len(df), float(df["presence_ratio"].sum()), frame_bytes(df)


def _units_filter(lib: Any, urls: list[str]) -> Result:
    df = _units_filter_frame(lib, urls, "unit_id", "spike_times")
    return len(df), _spike_count(df), frame_bytes(df)


def _units_all(lib: Any, urls: list[str]) -> Result:
    df = lib.get_df(urls[0], "/units", exclude_array_columns=False, as_polars=True)
    return len(df), _spike_count(df), frame_bytes(df)


def _series(lib: Any, urls: list[str]) -> Result:
    rows, check, nbytes = 0, 0.0, 0
    for path in SERIES:
        data = lib.get_timeseries(urls[0], path, exact_path=True).data
        start = slice_start(data.shape[0])
        values = data[start : start + SLICE]
        rows, check, nbytes = rows + len(values), check + float(values.sum()), nbytes + values.nbytes
    return rows, check, nbytes


def _paths(lib: Any, urls: list[str]) -> Result:
    paths = lib.get_internal_paths(urls[0])
    return len(paths), 0.0, 0


def _schema(lib: Any, urls: list[str]) -> Result:
    schema = lib.get_table_schema(urls[0], "/units")
    return len(schema), 0.0, 0


def _metadata(lib: Any, urls: list[str]) -> Result:
    df = lib.get_metadata_df(urls, disable_progress=True, as_polars=True)
    return len(df), float(df["identifier"].str.len_chars().sum()), frame_bytes(df)


def _units_many(lib: Any, urls: list[str]) -> Result:
    df = _units_filter_frame(lib, urls, "spike_times")
    return len(df), _spike_count(df), frame_bytes(df)


def _real_units(lib: Any, urls: list[str]) -> Result:
    """/units of a real file: its scalar columns (whatever they are)."""
    df = lib.get_df(urls[0], "/units", exclude_array_columns=True, as_polars=True)
    return len(df), 0.0, frame_bytes(df)


def _units_memory(lib: Any, urls: list[str]) -> Result:
    df = _units_filter_frame(lib, urls, "unit_id", "spike_times", "waveform_mean")
    return len(df), _spike_count(df), frame_bytes(df)


def _movie_frame(lib: Any, urls: list[str]) -> Result:
    """One frame, as the frame viewer shows it: ours by get_frame, lazynwb 1.0 (which has
    none) by indexing the series' data."""
    if hasattr(lib, "get_frame"):
        frame = lib.get_frame(urls[0], MOVIE, MOVIE_FRAME)
    else:
        frame = lib.get_timeseries(urls[0], MOVIE, exact_path=True).data[MOVIE_FRAME]
    return 1, float(frame.sum(dtype="float64")), frame.nbytes


LAZY_WORK: dict[str, Work] = {
    "trials": _trials,
    "units_scalars": _units_scalars,
    "units_filter": _units_filter,
    "units_all": _units_all,
    "series": _series,
    "paths": _paths,
    "schema": _schema,
    "meta_few": _metadata,
    "meta_many": _metadata,
    "meta_lots": _metadata,
    "units_many": _units_many,
    "units_memory": _units_memory,
    "zarr_units_filter": _units_filter,
    "zarr_metadata": _metadata,
    "real_units": _real_units,
    "movie_frame": _movie_frame,
}


def base_task(task: str) -> str:
    """A layout's row ("trials@contiguous") does what its base row ("trials") does."""
    return task.split("@", 1)[0]


def work_for(tool: str, task: str) -> Work | None:
    """The function doing ``task`` with ``tool`` (None: the tool cannot do it)."""
    task = base_task(task)
    if task.startswith("ndb_"):
        from benchmarks.ndb import LAZY_NDB, PYNWB_NDB

        return (PYNWB_NDB if tool == "pynwb+remfile" else LAZY_NDB).get(task)
    if tool == "pynwb+remfile":
        from benchmarks.tools_pynwb import PYNWB_WORK

        return PYNWB_WORK.get(task)
    if tool == "hdmf-zarr":
        from benchmarks.tools_hdmfzarr import HDMF_ZARR_WORK

        return HDMF_ZARR_WORK.get(task)
    from benchmarks.tools_aligned import ALIGNED_LAZY_WORK

    return LAZY_WORK.get(task) or ALIGNED_LAZY_WORK.get(task)
