"""The data bytes each benchmark row needs, read from the files themselves with h5py.

Why: a row's floor (the fastest any reader could be) is ``needed bytes / bandwidth + one
round trip``, and its bytes target compares what was sent with the same number, so it must
come from the file's real layout, not from what one reader happened to fetch. The rules:

* A dataset read whole needs all its elements. Rows of a dataset (a selection on axis 0) need:
  - chunked **and compressed** (any filter): the stored size of every chunk holding a
    selected row (a compressed chunk can only be read whole);
  - otherwise (contiguous, compact, or chunked without filters): the selected rows' bytes
    (a reader can range-read inside an uncompressed chunk; elements only, so the unused tail
    of a last chunk does not count).
* Variable-length strings need their 16-byte references (the dataset's own elements) plus
  each selected string's global-heap object: a 16-byte header and the payload rounded up to
  8 bytes.
* Metadata (superblock, object headers, B-trees, local heaps, attributes) is not counted: it
  is the price of being cold, which the cold target's allowance of 8 round trips covers, and
  a warm reader has it already. So "list internal paths" and "table schema" need 0 bytes.

What each row reads is written next to its name in ``NEEDS`` and mirrors the work in
``tools.py`` (e.g. the filter row: presence_ratio and location whole, then unit_id and
spike_times_index at the passing rows and their predecessors, then those units' spike spans).
Issue 15's rows need, of each unit, only the spike_times elements inside their windows (the
session's spike_times is chunked without filters, so elements rather than chunks; were it
compressed, the same rule would count the chunks holding them), plus the units' index
entries (where each train starts and ends: a cold reader must read them), the trials
columns used, and, for the running speed, the timestamps and data rows inside the windows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import h5py
import numpy as np

from benchmarks.tasks import TASKS
from benchmarks.tools import MOVIE, MOVIE_FRAME, SERIES, SLICE, slice_start
from benchmarks.tools_aligned import (
    ALIGN_TO,
    GROUP_BY,
    RASTER_WINDOW,
    RUNNING_SPEED,
    TRIALS,
    WINDOW,
    windows_of,
)
from lazynwb_explorer.nwb.session import SESSION_FIELDS, SUBJECT_FIELDS

Rows = np.ndarray | None  # sorted row indices on axis 0, or None for all rows


def _ceil8(n: int) -> int:
    return (n + 7) // 8 * 8


def _is_vlen(ds: h5py.Dataset) -> bool:
    return ds.dtype.kind == "O"


def _element_bytes(ds: h5py.Dataset) -> int:
    """Stored bytes per row (axis 0) of ``ds``: file element size x inner shape."""
    inner = int(np.prod(ds.shape[1:])) if ds.ndim > 1 else 1
    return ds.id.get_type().get_size() * inner


def _vlen_payload(ds: h5py.Dataset, rows: Rows) -> int:
    values = np.asarray(ds[()], dtype=object)
    if values.ndim == 0:
        values = values.reshape(1)
    picked = values if rows is None else values[rows]
    total = 0
    for v in picked.reshape(-1):
        raw = v if isinstance(v, bytes) else str(v).encode()
        total += 16 + _ceil8(len(raw))
    return total


def dataset_bytes(ds: h5py.Dataset, rows: Rows = None) -> int:
    """The bytes a reader needs to get ``rows`` of ``ds`` (see the module's rules)."""
    n_rows = 1 if ds.ndim == 0 else ds.shape[0]
    plist = ds.id.get_create_plist()
    if ds.chunks is not None and plist.get_nfilters() > 0:
        step = ds.chunks[0]
        wanted = None if rows is None else set((np.asarray(rows) // step).tolist())
        total = 0
        for i in range(ds.id.get_num_chunks()):
            info = ds.id.get_chunk_info(i)
            if wanted is None or info.chunk_offset[0] // step in wanted:
                total += info.size
    else:
        total = (n_rows if rows is None else len(rows)) * _element_bytes(ds)
    if _is_vlen(ds):
        total += _vlen_payload(ds, rows)
    return total


def _group_bytes(group: h5py.Group, skip: Callable[[str, h5py.Dataset], bool] = lambda *_: False) -> int:
    return sum(
        dataset_bytes(ds)
        for name, ds in group.items()
        if isinstance(ds, h5py.Dataset) and not skip(name, ds)
    )


def _passing_rows(units: h5py.Group) -> np.ndarray:
    presence = units["presence_ratio"][:]
    location = np.asarray([v.decode() if isinstance(v, bytes) else v for v in units["location"][:]])
    return np.flatnonzero((presence >= 0.95) & (location == "VISp"))


def _ragged_rows(units: h5py.Group, name: str, rows: np.ndarray) -> int:
    """Index entries of ``rows`` and their predecessors, then the data spans they bound."""
    index = units[f"{name}_index"]
    ends = index[:]
    around = np.union1d(rows, rows[rows > 0] - 1)
    total = dataset_bytes(index, around)
    spans = [np.arange(ends[i - 1] if i else 0, ends[i]) for i in rows]
    data_rows = np.concatenate(spans) if spans else np.zeros(0, dtype=int)
    return total + dataset_bytes(units[name], data_rows)


def _filtered_units(f: h5py.File, *columns: str) -> int:
    units = f["units"]
    rows = _passing_rows(units)
    total = dataset_bytes(units["presence_ratio"]) + dataset_bytes(units["location"])
    for name in columns:
        if f"{name}_index" in units:
            total += _ragged_rows(units, name, rows)
        else:
            total += dataset_bytes(units[name], rows)
    return total


def _trials(f: h5py.File) -> int:
    return _group_bytes(f["intervals/trials"])


def _units_scalars(f: h5py.File) -> int:
    units = f["units"]

    def array_column(name: str, ds: h5py.Dataset) -> bool:
        ragged = name.endswith("_index") or f"{name}_index" in units
        return ragged or ds.ndim > 1

    return _group_bytes(units, array_column)


def _series(f: h5py.File) -> int:
    total = 0
    for path in SERIES:
        data = f[f"{path}/data"]
        start = slice_start(data.shape[0])
        total += dataset_bytes(data, np.arange(start, min(data.shape[0], start + SLICE)))
    return total


def _metadata(f: h5py.File) -> int:
    total = 0
    for path, attr, _ in (SESSION_FIELDS | SUBJECT_FIELDS).values():
        obj = f.get(path)
        if attr is None and isinstance(obj, h5py.Dataset):
            total += dataset_bytes(obj)
    return total


def _ndb_spikes(f: h5py.File) -> int:
    """location and firing_rate whole, in every file; the fastest unit's spikes are left out
    (one unit's, in one file: a lower bound, as which file holds it depends on all of them)."""
    return dataset_bytes(f["units/location"]) + dataset_bytes(f["units/firing_rate"])


def _ndb_array(f: h5py.File) -> int:
    from benchmarks.ndb import ARRAY_COLS, ARRAY_PATH, ARRAY_ROWS

    ds = f[ARRAY_PATH]
    if "ndb-0" not in f.filename:  # the question reads the first session only
        return 0
    total, seen = 0, set()
    for i in range(ds.id.get_num_chunks()):
        info = ds.id.get_chunk_info(i)
        r, c = info.chunk_offset[:2]
        if r < ARRAY_ROWS and c < ARRAY_COLS and info.byte_offset not in seen:
            seen.add(info.byte_offset)
            total += info.size
    return total


def _movie_frame(f: h5py.File) -> int:
    data = f[f"{MOVIE}/data"]
    return dataset_bytes(data, np.array([MOVIE_FRAME]))


# -- issue 15: spikes and samples inside windows ----------------------------------------------
def _first_units(f: h5py.File, task: str) -> np.ndarray:
    """The rows the task's tools read: its first ``units`` (fewer if the file has fewer)."""
    wanted = TASKS[task].units or 0
    return np.arange(min(wanted, f["units/id"].shape[0]))


def _spikes_in_windows(f: h5py.File, rows: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> int:
    """The units' index entries (and their predecessors': where each train starts), then
    the spike_times elements inside the windows [start, stop) - or, were spike_times
    compressed, the chunks holding them (``dataset_bytes``'s rule)."""
    index, data = f["units/spike_times_index"], f["units/spike_times"]
    ends = index[()]
    positions = [np.zeros(0, dtype=np.int64)]
    for row in rows.tolist():
        start = int(ends[row - 1]) if row else 0
        at, _ = windows_of(data[start : int(ends[row])], starts, stops)
        positions.append(start + at)
    around = np.union1d(rows, rows[rows > 0] - 1)
    return dataset_bytes(index, around) + dataset_bytes(data, np.unique(np.concatenate(positions)))


def _events(f: h5py.File) -> np.ndarray:
    return np.asarray(f[f"{TRIALS}/{ALIGN_TO}"][()], dtype=np.float64)


def _raster(f: h5py.File) -> int:
    window = np.array([RASTER_WINDOW[0]]), np.array([RASTER_WINDOW[1]])
    return _spikes_in_windows(f, _first_units(f, "raster"), *window)


def _psth(f: h5py.File) -> int:
    events = _events(f)
    columns = dataset_bytes(f[f"{TRIALS}/{ALIGN_TO}"]) + dataset_bytes(f[f"{TRIALS}/{GROUP_BY}"])
    return columns + _spikes_in_windows(f, _first_units(f, "psth"), events + WINDOW[0],
                                        events + WINDOW[1])


def _aligned_series(f: h5py.File) -> int:
    events = _events(f)
    timestamps, data = f[f"{RUNNING_SPEED}/timestamps"], f[f"{RUNNING_SPEED}/data"]
    at, _ = windows_of(timestamps[()], events + WINDOW[0], events + WINDOW[1])
    rows = np.unique(at)
    return (dataset_bytes(f[f"{TRIALS}/{ALIGN_TO}"]) + dataset_bytes(timestamps, rows)
            + dataset_bytes(data, rows))


NEEDS: dict[str, Callable[[h5py.File], int]] = {
    "trials": _trials,  # every dataset of /intervals/trials
    "units_scalars": _units_scalars,  # /units minus ragged (data + index) and n-D columns
    "units_filter": lambda f: _filtered_units(f, "unit_id", "spike_times"),
    "units_all": lambda f: _group_bytes(f["units"]),  # every dataset of /units
    "series": _series,  # SLICE rows from the middle of each series' data
    "paths": lambda f: 0,  # metadata only
    "schema": lambda f: 0,  # metadata only
    "meta_few": _metadata,  # the session + subject field datasets present
    "meta_many": _metadata,
    "meta_lots": _metadata,
    "units_many": lambda f: _filtered_units(f, "spike_times"),
    "units_memory": lambda f: _filtered_units(f, "unit_id", "spike_times", "waveform_mean"),
    "real_units": _units_scalars,
    "ndb_units": lambda f: dataset_bytes(f["units/location"]) + dataset_bytes(f["units/default_qc"]),
    "ndb_spikes": _ndb_spikes,
    "ndb_trials": lambda f: dataset_bytes(f["intervals/trials/start_time"])
    + dataset_bytes(f["intervals/trials/stop_time"]),
    "ndb_array": _ndb_array,
    "movie_frame": _movie_frame,  # the compressed chunk that holds the frame
    "raster": _raster,  # 100 units' index entries + their spikes inside the minute
    "psth": _psth,  # stim_start_time + stimulus_name whole, 300 units' spikes in the windows
    "aligned_series": _aligned_series,  # stim_start_time + the windows' timestamps and data
}


def needed_bytes(task: str, paths: Iterable[Path]) -> int:
    """Data bytes the task needs, summed over its files."""
    total = 0
    task = task.split("@", 1)[0]  # a layout's row needs what its base row needs
    for path in paths:
        if task in ZARR_NEEDS:
            total += ZARR_NEEDS[task](ZarrFile(path))
            continue
        with h5py.File(path, "r") as f:
            total += NEEDS[task](f)
    return total


# -- Zarr v3 stores (an exported copy of the session) ---------------------------------------
class ZarrFile:
    """What the Zarr rows need from a v3 store with consolidated metadata, read with json and
    the file system (not our reader): every stored chunk is compressed, so a row selection
    needs the stored size of every chunk holding a selected row."""

    def __init__(self, store: Path):
        import json

        self.store = store
        root = json.loads((store / "zarr.json").read_text())
        self.members = root["consolidated_metadata"]["metadata"]

    def chunk_bytes(self, key: str, rows: Rows = None) -> int:
        meta = self.members[key]
        if not meta["shape"]:
            return sum(p.stat().st_size for p in (self.store / key).glob("c"))
        step = meta["chunk_grid"]["configuration"]["chunk_shape"][0]
        wanted = None if rows is None else {int(r) // step for r in rows}
        total = 0
        for path in (self.store / key / "c").glob("*"):
            if wanted is None or int(path.name) in wanted:
                total += sum(p.stat().st_size for p in ([path] if path.is_file() else path.rglob("*"))
                             if p.is_file())
        return total


def _zarr_filtered_units(z: ZarrFile) -> int:
    """As units_filter; the rows passing come from the HDF5 session the store was exported
    from (the same values)."""
    with h5py.File(z.store.with_name(z.store.name.removesuffix(".zarr")), "r") as f:
        rows = _passing_rows(f["units"])
        ends = f["units/spike_times_index"][()]
    around = np.union1d(rows, rows[rows > 0] - 1)
    spans = [np.arange(ends[i - 1] if i else 0, ends[i]) for i in rows]
    data_rows = np.concatenate(spans) if spans else np.zeros(0, dtype=int)
    return (z.chunk_bytes("units/presence_ratio") + z.chunk_bytes("units/location")
            + z.chunk_bytes("units/unit_id", rows) + z.chunk_bytes("units/spike_times_index", around)
            + z.chunk_bytes("units/spike_times", data_rows))


def _zarr_metadata(z: ZarrFile) -> int:
    return sum(z.chunk_bytes(path.strip("/")) for path, attr, _ in (SESSION_FIELDS | SUBJECT_FIELDS).values()
               if attr is None and path.strip("/") in z.members
               and z.members[path.strip("/")]["node_type"] == "array")


ZARR_NEEDS: dict[str, Callable[[ZarrFile], int]] = {
    "zarr_units_filter": _zarr_filtered_units,  # as units_filter, in the store's chunks
    "zarr_metadata": _zarr_metadata,  # the session + subject field arrays present
}
