"""The oracle for files pynwb cannot open (NWB 1.x, MatNWB's 2.0b files): what h5py itself
stores, read with h5py's own semantics and none of our code.

A table is a group with a `colnames` attribute. A column X is ragged when X_index (and
X_index_index ...) sits beside it; an index of integers holds each row's end, an index of
HDF5 region references holds each row's selection (h5py reads `data[ref]`). Strings are
decoded, object references become the referenced object's path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np


def _plain(f: h5py.File, value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, h5py.Reference):
        return f[value].name if value else None
    if isinstance(value, np.ndarray):
        return [_plain(f, v) for v in value.tolist()] if value.dtype == object else value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(f, v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_region_index(ds: h5py.Dataset) -> bool:
    return h5py.check_ref_dtype(ds.dtype) is h5py.RegionReference


def _rows(f: h5py.File, data: Any, index: h5py.Dataset) -> list[Any]:
    """Split `data` (a dataset or a list of rows) by one index level."""
    if _is_region_index(index):
        return [data[ref] for ref in index[()]]
    ends = index[()].astype(np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    return [data[a:b] for a, b in zip(starts, ends)]


def h5py_tables(path: Path) -> list[str]:
    """Groups with a `colnames` attribute and rows."""
    found: list[str] = []
    with h5py.File(path, "r") as f:
        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Group) and "colnames" in obj.attrs and "id" in obj:
                if len(obj["id"]):
                    found.append("/" + name)
        f.visititems(visit)
    return sorted(found)


def h5py_table_columns(path: Path, table_path: str) -> dict[str, list[Any]]:
    """Each column (ragged ones split by their index chain) as plain Python values."""
    with h5py.File(path, "r") as f:
        group = f[table_path]
        names = set(group)
        out: dict[str, list[Any]] = {"id": [int(i) for i in group["id"][()]]}
        for name in sorted(names):
            if name == "id" or (name.endswith("_index") and name.removesuffix("_index") in names):
                continue
            ds = group[name]
            if not isinstance(ds, h5py.Dataset) or not ds.shape:
                continue
            chain = []
            while f"{name}{'_index' * (len(chain) + 1)}" in names:
                chain.append(group[f"{name}{'_index' * (len(chain) + 1)}"])
            values: Any = ds if chain else ds[()]
            for index in reversed(chain):  # innermost level first
                values = _rows(f, values, index)
            out[name] = [_plain(f, v) for v in values]
        return out
