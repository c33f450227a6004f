"""Hostile NWB files, each made from a small clean file written by pynwb / hdmf-zarr: a column
whose bytes live in another local file (external raw storage, a virtual dataset, an external
link), groups nested 1,500 deep, columns declaring 3x10^8 rows backed by no data, a pickled
"billion laughs", a Zarr chunk key that climbs out of its store.

The victim is a local file the attacker does not own: its values (SECRET) must never come
back from a read of the hostile file.
"""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numcodecs
import numpy as np

import fuzz_inputs as fi
import nwb_factory as nf

SECRET = 4242.4242  # every value of the victim's files
TRIALS = "/intervals/trials"
N_TRIALS = fi.SMALL_NWB["n_trials"]


def small_hdf5(path: Path, contiguous: bool = True) -> Path:
    return nf.write_hdf5(path, contiguous=contiguous, **fi.SMALL_NWB)


def small_zarr(path: Path) -> Path:
    return nf.write_zarr(path, **fi.SMALL_NWB)


def write_victims(directory: Path) -> tuple[Path, Path]:
    """(raw file of 1,024 float64 SECRETs, HDF5 file with /secret: a trials column's worth
    of them, and a group /stolen)."""
    directory.mkdir(parents=True, exist_ok=True)
    raw = directory / "victim.bin"
    raw.write_bytes(np.full(1024, SECRET, dtype="<f8").tobytes())
    h5 = directory / "victim.h5"
    with h5py.File(h5, "w") as f:
        f["secret"] = np.full(N_TRIALS, SECRET, dtype="<f8")
        f["stolen/ds"] = np.full(4, SECRET, dtype="<f8")
    return raw, h5


def replace_dataset(path: Path, name: str, make: Callable[[h5py.File, str], Any]) -> None:
    """Swap the dataset `name` for what `make(file, name)` creates, keeping its attributes."""
    with h5py.File(path, "r+") as f:
        attrs = dict(f[name].attrs) if name in f else {}
        if name in f:
            del f[name]
        make(f, name)
        obj = f.get(name)
        if isinstance(obj, h5py.Dataset):
            for key, value in attrs.items():
                obj.attrs[key] = value


def with_external_storage(base: Path, out: Path, raw: Path, column: str = f"{TRIALS}/start_time") -> Path:
    """`column`'s values are the bytes of `raw` (HDF5's External Data Files message)."""
    shutil.copyfile(base, out)
    n = N_TRIALS
    replace_dataset(out, column, lambda f, name: f.create_dataset(
        name, shape=(n,), dtype="<f8", external=[(str(raw), 0, n * 8)]))
    return out


def with_virtual_dataset(base: Path, out: Path, victim_h5: Path, column: str = f"{TRIALS}/start_time") -> Path:
    """`column` is a virtual dataset mapping the victim file's /secret."""
    shutil.copyfile(base, out)
    n = N_TRIALS

    def make(f: h5py.File, name: str) -> None:
        layout = h5py.VirtualLayout(shape=(n,), dtype="<f8")
        layout[:] = h5py.VirtualSource(str(victim_h5), "secret", shape=(n,))
        f.create_virtual_dataset(name, layout)

    replace_dataset(out, column, make)
    return out


def with_external_link(base: Path, out: Path, victim_h5: Path, column: str = f"{TRIALS}/start_time") -> Path:
    """`column` is an external link to the victim file's /secret."""
    shutil.copyfile(base, out)
    replace_dataset(out, column, lambda f, name: f.__setitem__(name, h5py.ExternalLink(str(victim_h5), "/secret")))
    with h5py.File(out, "r+") as f:  # and a group linked out of the file
        f["acquisition/stolen"] = h5py.ExternalLink(str(victim_h5), "/stolen")
    return out


def with_both(base: Path, out: Path, raw: Path, victim_h5: Path) -> Path:
    """The attack of the issue: one virtual dataset (which sent the whole file to libhdf5)
    and one column with external raw storage at an absolute local path."""
    with_external_storage(base, out, raw)
    with h5py.File(out, "r+") as f:
        layout = h5py.VirtualLayout(shape=(N_TRIALS,), dtype="<f8")
        layout[:] = h5py.VirtualSource(str(victim_h5), "secret", shape=(N_TRIALS,))
        f.create_virtual_dataset("acquisition/virtual", layout)
    return out


def nested_groups(out: Path, depth: int = 1500, padding: int = 0) -> Path:
    """An NWB-looking file whose /acquisition holds groups nested `depth` deep; with
    `padding`, each level also holds that many bytes of data, written before its child, so
    every level's metadata lies far from the last (one round trip per level)."""
    with h5py.File(out, "w") as f:
        f.attrs["nwb_version"] = "2.8.0"
        f.attrs["neurodata_type"] = "NWBFile"
        group = f.create_group("acquisition")
        for _ in range(depth):
            if padding:
                group["padding"] = np.zeros(padding, dtype="u1")
            group = group.create_group("g")
    return out


def huge_declared(base: Path, out: Path, rows: int = 3 * 10**8, chunked: bool = False) -> Path:
    """The trials table's columns (and ids) declare `rows` rows; none of them holds any data
    (the file stays the size of the clean one)."""
    shutil.copyfile(base, out)
    with h5py.File(out, "r") as f:
        names = [k for k, v in f[TRIALS].items() if isinstance(v, h5py.Dataset) and v.ndim == 1
                 and v.dtype.kind in "fiub" and not k.endswith("_index")]
    for name in names:
        def make(f: h5py.File, full: str, name: str = name) -> None:
            dtype = "<i8" if name == "id" else "<f8"
            if chunked:
                f.create_dataset(full, shape=(rows,), dtype=dtype, chunks=(1 << 16,), maxshape=(None,))
            else:
                f.create_dataset(full, shape=(rows,), dtype=dtype)
        replace_dataset(out, f"{TRIALS}/{name}", make)
    return out


# -- Zarr -----------------------------------------------------------------------------------


def edit_zarray(store: Path, array: str, edit: Callable[[dict], None]) -> None:
    """Apply `edit` to an array's .zarray and to its entry in .zmetadata."""
    path = store / array / ".zarray"
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))
    top = json.loads((store / ".zmetadata").read_text())
    edit(top["metadata"][f"{array}/.zarray"])
    (store / ".zmetadata").write_text(json.dumps(top))


def laughs(depth: int, width: int = 2) -> list:
    """A list of `width` references to a list of `width` references ... `depth` deep: a few
    bytes pickled, width**depth leaves as a tree."""
    value: list = ["lol"]
    for _ in range(depth):
        value = [value] * width
    return value


def with_pickle_laughs(base: Path, out: Path, depth: int = 22) -> tuple[Path, int]:
    """The electrodes `group` column (pickled object references) holds, in every row, the
    same shared-reference list `depth` deep. Returns (store, bytes of the chunk's pickle)."""
    shutil.copytree(base, out)
    column = out / "general" / "extracellular_ephys" / "electrodes" / "group"
    meta = json.loads((column / ".zarray").read_text())
    n = meta["shape"][0]
    payload = np.empty(n, dtype=object)
    tree = laughs(depth)
    for i in range(n):
        payload[i] = tree
    encoded = numcodecs.Pickle(protocol=pickle.HIGHEST_PROTOCOL).encode(payload)
    compressor = numcodecs.get_codec(meta["compressor"]) if meta["compressor"] else None
    for chunk in column.iterdir():
        if not chunk.name.startswith("."):
            chunk.write_bytes(compressor.encode(encoded) if compressor else encoded)
    return out, len(encoded)


def with_climbing_separator(base: Path, out: Path) -> tuple[Path, np.ndarray]:
    """units/obs_intervals (2-D) gets dimension_separator "/../../../../victim/outside_arr/":
    its chunk key 0<sep>0 names a file beside the store. Returns (store, the victim chunk's
    values)."""
    shutil.copytree(base, out)
    array = "units/obs_intervals"
    separator = "/../../../../victim/outside_arr/"
    edit_zarray(out, array, lambda meta: meta.update(dimension_separator=separator))
    (out / array / "0").mkdir()  # the hostile store may hold any directory it likes
    meta = json.loads((out / array / ".zarray").read_text())
    values = np.full(meta["chunks"], SECRET, dtype=meta["dtype"])
    compressor = numcodecs.get_codec(meta["compressor"]) if meta["compressor"] else None
    victim = out.parent / "victim" / "outside_arr" / "0"
    victim.parent.mkdir(parents=True, exist_ok=True)
    raw = values.tobytes()
    victim.write_bytes(compressor.encode(raw) if compressor else raw)
    return out, values


def with_declared_rows(base: Path, out: Path, rows: int = 10**9) -> Path:
    """The trials columns declare `rows` rows in chunks of 10^6, and hold no chunk."""
    shutil.copytree(base, out)
    top = json.loads((out / ".zmetadata").read_text())["metadata"]
    for key, meta in top.items():
        if key.startswith("intervals/trials/") and key.endswith("/.zarray") and len(meta["shape"]) == 1 \
                and meta["dtype"][1] in "fiu" and "_index" not in key:
            array = key[: -len("/.zarray")]
            edit_zarray(out, array, lambda m: m.update(shape=[rows], chunks=[10**6]))
            for chunk in (out / array).iterdir():
                if not chunk.name.startswith("."):
                    chunk.unlink()
    return out


def with_rooted_metadata_keys(base: Path, out: Path) -> Path:
    """The consolidated metadata's keys of the units table start with '/'."""
    shutil.copytree(base, out)
    top = json.loads((out / ".zmetadata").read_text())
    top["metadata"] = {("/" + k if k.startswith("units/") else k): v for k, v in top["metadata"].items()}
    (out / ".zmetadata").write_text(json.dumps(top))
    return out
