"""The work each tool does for each benchmark task, written the way a user of that tool would.

Why one module: the tasks must mean the same thing for every tool, so they sit side by side.
Every function takes the file's URL and returns ``(rows, check)``: the number of rows the task
produced and a checksum-like number (e.g. total spike count), so the runner can tell when two
tools did not do the same work. Tools are imported in ``prepare`` (before the clock starts), so
import time is not counted as work.

Tools:
* ``lazynwb_explorer``: this package, ``import lazynwb_explorer as lazynwb``.
* ``lazynwb``: the published lazynwb 1.0 (same calls; see ``_let_obstore_use_plain_http``).
* ``pynwb+remfile``: ``h5py.File(remfile.File(url))`` opened with ``pynwb.NWBHDF5IO``, the
  streaming recipe DANDI documents; columns read explicitly, never ``to_dataframe()`` of
  array columns.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

Result = tuple[int, float]
TASKS: dict[str, str] = {
    "trials": "/intervals/trials, all columns",
    "units_scalars": "/units, scalar columns",
    "units_filter": "/units filter presence_ratio >= 0.95 & location == 'VISp', + spike_times",
    "paths": "list internal paths",
}
TOOLS = ("lazynwb_explorer", "lazynwb", "pynwb+remfile")
PEERS = ("lazynwb", "pynwb+remfile")
UNITS_ARRAY_COLUMNS = {"spike_times", "waveform_mean"}


def prepare(tool: str) -> Any:
    """Import what ``tool`` needs; returns its main module."""
    if tool == "pynwb+remfile":
        for name in ("h5py", "remfile", "pandas"):
            importlib.import_module(name)
        return importlib.import_module("pynwb")
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


# ------------------------------------------------------------------------------- lazynwb-like
def _lazy_trials(lib: Any, url: str) -> Result:
    df = lib.get_df(url, "/intervals/trials", as_polars=True)
    return len(df), float(df["start_time"].sum())


def _lazy_units_scalars(lib: Any, url: str) -> Result:
    df = lib.get_df(url, "/units", exclude_array_columns=True, as_polars=True)
    return len(df), float(df["presence_ratio"].sum())


def _lazy_units_filter(lib: Any, url: str) -> Result:
    import polars as pl

    df = (
        lib.scan_nwb(url, "/units")
        .filter(pl.col("presence_ratio") >= 0.95, pl.col("location") == "VISp")
        .select("unit_id", "spike_times")
        .collect()
    )
    return len(df), float(df["spike_times"].list.len().sum())


def _lazy_paths(lib: Any, url: str) -> Result:
    paths = lib.get_internal_paths(url)
    return len(paths), 0.0


# ------------------------------------------------------------------------------- pynwb
def _open_pynwb(url: str) -> Any:
    import h5py
    import pynwb
    import remfile

    io = pynwb.NWBHDF5IO(file=h5py.File(remfile.File(url), "r"), mode="r")
    return io.read()


def _pynwb_trials(_: Any, url: str) -> Result:
    df = _open_pynwb(url).trials.to_dataframe()
    return len(df), float(df["start_time"].sum())


def _pynwb_units_scalars(_: Any, url: str) -> Result:
    df = _open_pynwb(url).units.to_dataframe(exclude=UNITS_ARRAY_COLUMNS)
    return len(df), float(df["presence_ratio"].sum())


def _pynwb_units_filter(_: Any, url: str) -> Result:
    units = _open_pynwb(url).units
    presence = np.asarray(units["presence_ratio"].data[:])
    location = np.asarray(
        [s.decode() if isinstance(s, bytes) else s for s in units["location"].data[:]]
    )
    rows = np.flatnonzero((presence >= 0.95) & (location == "VISp"))
    unit_ids = units["unit_id"].data[rows.tolist()] if len(rows) else []
    spikes = [units["spike_times"][int(i)] for i in rows]
    assert len(unit_ids) == len(spikes)
    return len(spikes), float(sum(len(s) for s in spikes))


def _pynwb_paths(_: Any, url: str) -> Result:
    nwb = _open_pynwb(url)
    return len(list(nwb.all_children())), 0.0


WORK: dict[str, dict[str, Callable[[Any, str], Result]]] = {
    "pynwb+remfile": {
        "trials": _pynwb_trials,
        "units_scalars": _pynwb_units_scalars,
        "units_filter": _pynwb_units_filter,
        "paths": _pynwb_paths,
    },
    **{
        tool: {
            "trials": _lazy_trials,
            "units_scalars": _lazy_units_scalars,
            "units_filter": _lazy_units_filter,
            "paths": _lazy_paths,
        }
        for tool in ("lazynwb_explorer", "lazynwb")
    },
}
