"""pynwb + remfile doing the benchmark tasks: the streaming recipe DANDI documents.

Why explicit reads: ``to_dataframe()`` of a table with array columns materialises every
array as Python objects, which no one streaming a file would do; a pynwb user reads the
columns they need (``units["col"].data[...]``), so that is what is timed. Files are opened one
after another: h5py serialises libhdf5 calls under one lock, so threads would not overlap them.
Every function returns ``(rows, check, result_bytes)`` like those in ``tools.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.tools import MOVIE_FRAME, SERIES, SLICE, Result, Work, frame_bytes, slice_start
from benchmarks.tools_aligned import (
    ALIGN_TO,
    GROUP_BY,
    PSTH_UNITS,
    RASTER_UNITS,
    RASTER_WINDOW,
    aligned_samples,
    raster_result,
    trial_spikes,
    windows_of,
)

UNITS_ARRAY_COLUMNS = {"spike_times", "waveform_mean"}
SESSION_FIELDS = ("identifier", "session_start_time", "session_id", "session_description",
                  "experiment_description", "experimenter", "lab", "institution", "keywords")
SUBJECT_FIELDS = ("subject_id", "species", "sex", "age", "genotype", "description")


def _open(url: str) -> Any:
    import h5py
    import pynwb
    import remfile

    io = pynwb.NWBHDF5IO(file=h5py.File(remfile.File(url), "r"), mode="r")
    return io.read()


def _text(values: Any) -> np.ndarray:
    return np.asarray([v.decode() if isinstance(v, bytes) else v for v in values])


def _filter_rows(units: Any) -> np.ndarray:
    presence = np.asarray(units["presence_ratio"].data[:])
    location = _text(units["location"].data[:])
    return np.flatnonzero((presence >= 0.95) & (location == "VISp"))


def _spikes(units: Any, rows: np.ndarray) -> list[np.ndarray]:
    return [np.asarray(units["spike_times"][int(i)]) for i in rows]


def _trials(_: Any, urls: list[str]) -> Result:
    df = _open(urls[0]).trials.to_dataframe()
    return len(df), float(df["start_time"].sum()), frame_bytes(df)


def _units_scalars(_: Any, urls: list[str]) -> Result:
    df = _open(urls[0]).units.to_dataframe(exclude=UNITS_ARRAY_COLUMNS)
    return len(df), float(df["presence_ratio"].sum()), frame_bytes(df)


def _units_filter(_: Any, urls: list[str]) -> Result:
    units = _open(urls[0]).units
    rows = _filter_rows(units)
    unit_ids = np.asarray(units["unit_id"].data[rows.tolist()] if len(rows) else [])
    spikes = _spikes(units, rows)
    return len(spikes), float(sum(map(len, spikes))), unit_ids.nbytes + sum(s.nbytes for s in spikes)


def _units_all(_: Any, urls: list[str]) -> Result:
    units = _open(urls[0]).units
    columns: dict[str, Any] = {}
    for name in units.colnames:
        column = units[name]
        if name == "spike_times":  # ragged: the index, then all the data, split
            ends = np.asarray(column.data[:])
            data = np.asarray(column.target.data[:])
            columns[name] = np.split(data, ends[:-1])
        else:
            columns[name] = np.asarray(column.data[:])
    ids = np.asarray(units.id.data[:])
    nbytes = ids.nbytes + sum(
        sum(a.nbytes for a in v) if isinstance(v, list) else v.nbytes for v in columns.values()
    )
    return len(ids), float(sum(map(len, columns["spike_times"]))), nbytes


def _series(_: Any, urls: list[str]) -> Result:
    nwb = _open(urls[0])
    rows, check, nbytes = 0, 0.0, 0
    for path in SERIES:
        parts = path.strip("/").split("/")
        series = nwb.acquisition[parts[1]] if parts[0] == "acquisition" else (
            nwb.processing[parts[1]][parts[2]]
        )
        start = slice_start(series.data.shape[0])
        values = np.asarray(series.data[start : start + SLICE])
        rows, check, nbytes = rows + len(values), check + float(values.sum()), nbytes + values.nbytes
    return rows, check, nbytes


def _paths(_: Any, urls: list[str]) -> Result:
    nwb = _open(urls[0])
    return len(list(nwb.all_children())), 0.0, 0


def _metadata(_: Any, urls: list[str]) -> Result:
    records = []
    for url in urls:
        nwb = _open(url)
        record = {name: getattr(nwb, name) for name in SESSION_FIELDS}
        subject = nwb.subject
        record |= {f"subject_{n}": getattr(subject, n, None) if subject else None
                   for n in SUBJECT_FIELDS}
        records.append(record)
    import pandas as pd

    df = pd.DataFrame.from_records(records)
    return len(df), float(df["identifier"].str.len().sum()), frame_bytes(df)


def _units_many(_: Any, urls: list[str]) -> Result:
    rows, check, nbytes = 0, 0.0, 0
    for url in urls:
        units = _open(url).units
        spikes = _spikes(units, _filter_rows(units))
        rows, check = rows + len(spikes), check + float(sum(map(len, spikes)))
        nbytes += sum(s.nbytes for s in spikes)
    return rows, check, nbytes


def _real_units(_: Any, urls: list[str]) -> Result:
    """A real file's /units without its ragged and n-D columns (region columns as indexes)."""
    from hdmf.common import VectorIndex

    units = _open(urls[0]).units
    ragged = {c.target.name for c in units.columns if isinstance(c, VectorIndex)}
    arrays = {c.name for c in units.columns
              if not isinstance(c, VectorIndex) and len(getattr(c.data, "shape", ())) > 1}
    df = units.to_dataframe(exclude=ragged | arrays, index=True)
    return len(df), 0.0, frame_bytes(df)


def _units_memory(_: Any, urls: list[str]) -> Result:
    units = _open(urls[0]).units
    rows = _filter_rows(units)
    selected = rows.tolist()
    unit_ids = np.asarray(units["unit_id"].data[selected] if selected else [])
    waveforms = np.asarray(units["waveform_mean"].data[selected] if selected else [])
    spikes = _spikes(units, rows)
    nbytes = unit_ids.nbytes + waveforms.nbytes + sum(s.nbytes for s in spikes)
    return len(spikes), float(sum(map(len, spikes))), nbytes


def _movie_frame(_: Any, urls: list[str]) -> Result:
    frame = np.asarray(_open(urls[0]).acquisition["TwoPhotonSeries"].data[MOVIE_FRAME])
    return 1, float(frame.sum(dtype="float64")), frame.nbytes


def _raster(_: Any, urls: list[str], units: int = RASTER_UNITS) -> Result:
    """Each unit's whole train (pynwb reads a ragged row whole), then numpy's window."""
    spikes = _spikes(_open(urls[0]).units, np.arange(units))
    window = np.array([RASTER_WINDOW[0]]), np.array([RASTER_WINDOW[1]])
    return raster_result([train[windows_of(train, *window)[0]] for train in spikes])


def _psth(_: Any, urls: list[str], units: int = PSTH_UNITS) -> Result:
    nwb = _open(urls[0])
    events = np.asarray(nwb.trials[ALIGN_TO].data[:], dtype=np.float64)
    names = _text(nwb.trials[GROUP_BY].data[:])
    return trial_spikes(_spikes(nwb.units, np.arange(units)), events, names)


def _aligned_series(_: Any, urls: list[str]) -> Result:
    """The series' timestamps and data whole (two reads; 500 windows read one by one would
    cost 1,000 round trips), then numpy's windows."""
    nwb = _open(urls[0])
    series = nwb.processing["behavior"]["running_speed"]
    events = np.asarray(nwb.trials[ALIGN_TO].data[:], dtype=np.float64)
    data = np.asarray(series.data[:]) * series.conversion + series.offset
    return aligned_samples(np.asarray(series.timestamps[:]), data, events)


PYNWB_WORK: dict[str, Work] = {
    "trials": _trials,
    "units_scalars": _units_scalars,
    "units_filter": _units_filter,
    "units_all": _units_all,
    "series": _series,
    "paths": _paths,
    "meta_few": _metadata,
    "meta_many": _metadata,
    "meta_lots": _metadata,
    "units_many": _units_many,
    "units_memory": _units_memory,
    "real_units": _real_units,
    "movie_frame": _movie_frame,
    "raster": _raster,
    "psth": _psth,
    "aligned_series": _aligned_series,
}
