"""pynwb's NWBZarrIO (hdmf-zarr 0.14, zarr-python 3) doing the Zarr v3 benchmark rows.

Why a tool of its own: hdmf-zarr 0.14 is the writer and reader of today's NWB Zarr files; it
opens a remote store through zarr-python 3's fsspec store (HTTP via aiohttp) and reads the
columns asked for, as ``tools_pynwb.py`` does for HDF5. It needs Python >= 3.12 and
zarr >= 3.4, so the runner starts its worker with the zarr3 venv's Python.
"""

from __future__ import annotations

from typing import Any

from benchmarks.tools import Result, Work
from benchmarks.tools_pynwb import SESSION_FIELDS, SUBJECT_FIELDS, _filter_rows, _spikes


def _open(url: str) -> Any:
    from hdmf_zarr.nwb import NWBZarrIO

    return NWBZarrIO(url, mode="r").read()


def _units_filter(_: Any, urls: list[str]) -> Result:
    import numpy as np

    units = _open(urls[0]).units
    rows = _filter_rows(units)
    unit_ids = np.asarray(units["unit_id"].data[:])[rows]
    spikes = _spikes(units, rows)
    return len(spikes), float(sum(map(len, spikes))), unit_ids.nbytes + sum(s.nbytes for s in spikes)


def _metadata(_: Any, urls: list[str]) -> Result:
    nwb = _open(urls[0])
    record = {name: getattr(nwb, name) for name in SESSION_FIELDS}
    record |= {f"subject_{n}": getattr(nwb.subject, n, None) for n in SUBJECT_FIELDS}
    return 1, float(len(str(record["identifier"]))), 0


HDMF_ZARR_WORK: dict[str, Work] = {
    "zarr_units_filter": _units_filter,
    "zarr_metadata": _metadata,
}
