"""What pynwb itself returns for a table, as plain Python values per column, so tests can
compare our reader against the reference implementation column by column."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pynwb

import nwb_factory as nf


@contextlib.contextmanager
def open_nwb(path: Path) -> Iterator[pynwb.NWBFile]:
    path = Path(path)
    if path.is_dir():
        from hdmf_zarr.nwb import NWBZarrIO

        with nf.pickle_decode_allowed(), NWBZarrIO(str(path), mode="r") as io:
            yield io.read()
    else:
        with pynwb.NWBHDF5IO(str(path), mode="r", load_namespaces=True) as io:
            yield io.read()


def table_at(nwbfile: pynwb.NWBFile, table_path: str) -> Any:
    obj: Any = nwbfile
    parts = table_path.strip("/").split("/")
    if parts == ["units"]:
        return nwbfile.units
    if parts[:2] == ["intervals", "trials"]:
        return nwbfile.trials
    if parts[:2] == ["intervals", "epochs"]:
        return nwbfile.epochs
    if parts[-1] == "electrodes" and parts[0] == "general":
        return nwbfile.electrodes
    for part in parts:
        obj = obj[part] if not hasattr(obj, part) else getattr(obj, part)
    return obj


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
    with open_nwb(path) as nwbfile:
        table = table_at(nwbfile, table_path)
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
