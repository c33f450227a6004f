"""What pynwb itself returns for a table, as plain Python values per column, so tests can
compare our reader against the reference implementation column by column.

Objects are found by where they are stored in the file (hdmf's builder path), so a table in
a processing module or below /general is compared at its real path. Some files pynwb cannot
open (NWB 1.x, MatNWB's 2.0b files): `pynwb_reads(path)` says so, and tests check those
against h5py instead (h5py_reference.py)."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pynwb

import nwb_factory as nf


@contextlib.contextmanager
def open_nwb_io(path: Path) -> Iterator[tuple[Any, pynwb.NWBFile]]:
    """(io, nwbfile), open for reading while the block runs."""
    path = Path(path)
    if path.is_dir():
        from hdmf_zarr.nwb import NWBZarrIO

        with nf.pickle_decode_allowed(), NWBZarrIO(str(path), mode="r") as io:
            yield io, io.read()
    else:
        with pynwb.NWBHDF5IO(str(path), mode="r", load_namespaces=True) as io:
            yield io, io.read()


@contextlib.contextmanager
def open_nwb(path: Path) -> Iterator[pynwb.NWBFile]:
    with open_nwb_io(path) as (_, nwbfile):
        yield nwbfile


@functools.cache
def pynwb_reads(path: Path) -> bool:
    """True when pynwb opens the file (it refuses NWB 1.x and MatNWB's 2.0b files)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with open_nwb(Path(path)):
                return True
    except Exception:  # noqa: BLE001 - any refusal: pynwb is no oracle for this file
        return False


def stored_path(io: Any, obj: Any) -> str | None:
    """Where a container read by pynwb is stored in the file ('/processing/m/table')."""
    builder = io.manager.get_builder(obj)
    if builder is None:
        return None
    parts = builder.path.split("/")
    return "/" + "/".join(parts[1:])  # the builder path starts with the root's name


def containers_by_path(io: Any, nwbfile: pynwb.NWBFile, kind: type) -> dict[str, Any]:
    """Every container of `kind` pynwb read, keyed by its path in the file."""
    out = {}
    for obj in nwbfile.all_children():
        if isinstance(obj, kind):
            path = stored_path(io, obj)
            if path is not None:
                out[path] = obj
    return out


def tables_pynwb_reads(path: Path) -> list[str]:
    """The paths of the non-empty DynamicTables pynwb finds in the file."""
    from hdmf.common import DynamicTable

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_nwb_io(path) as (io, nwbfile):
            tables = containers_by_path(io, nwbfile, DynamicTable)
            return sorted(p for p, t in tables.items() if len(t.id) > 0)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.dtype == object else value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "name") and hasattr(value, "object_id"):  # a referenced container
        return value.name
    return value


def reference_columns(path: Path, table_path: str) -> dict[str, list[Any]]:
    """Each column of the table as pynwb gives it (region columns as row indices)."""
    from hdmf.common import DynamicTable

    with open_nwb_io(path) as (io, nwbfile):
        table = containers_by_path(io, nwbfile, DynamicTable)["/" + table_path.strip("/")]
        df = table.to_dataframe(index=True)
        out = {"id": [int(i) for i in df.index]}
        for name in df.columns:
            values = df[name].tolist()
            if name == "timeseries" and table_path.endswith("epochs"):
                values = [
                    [(int(r[0]), int(r[1]), r[2].name) for r in np.asarray(v).tolist()]
                    for v in values
                ]
            out[name] = [_plain(v) for v in values]
        return out
