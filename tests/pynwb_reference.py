"""What pynwb itself returns for a file, as plain Python values, so tests can compare our
reader against the reference implementation: tables column by column (`reference_columns`),
every TimeSeries (`reference_series`), session metadata (`reference_metadata`).

Objects are found by where they are stored in the file (hdmf's builder path), so a table in
a processing module or below /general is compared at its real path. Some files pynwb cannot
open (NWB 1.x, MatNWB's 2.0b files): `pynwb_reads(path)` says so, and tests check those
against h5py instead (h5py_reference.py).

HDF5 files and Zarr v2 stores are read here, with pynwb and hdmf-zarr 0.13 of the test venv.
Zarr v3 stores need hdmf-zarr 0.14 (Python >= 3.12, zarr >= 3.4), which lives in a venv of
its own (`zarr3_env.py`): it runs this same module when it writes a v3 fixture and stores the
answers beside the store (`<store>.oracle.pkl`); for those stores the functions here answer
from that file.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import pickle
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pynwb

import nwb_factory as nf

TABLES = ["/units", "/intervals/trials", "/intervals/epochs", "/general/extracellular_ephys/electrodes"]
# lazynwb 1.0's get_metadata_df fields, from the NWBFile and from its Subject
SESSION = ["identifier", "session_start_time", "session_id", "session_description",
           "experiment_description", "experimenter", "lab", "institution",
           "related_publications", "keywords", "notes", "data_collection", "surgery",
           "pharmacology", "virus", "source_script", "source_script_file_name"]
SUBJECT = ["age", "age__reference", "description", "genotype", "sex", "species", "subject_id",
           "weight", "strain", "date_of_birth"]
LISTS = {"experimenter", "related_publications", "keywords"}


_writing = False  # True while write_oracle computes the answers itself


def is_zarr_v3(path: Path) -> bool:
    """Whether the answers for `path` come from its oracle file (a v3 store, not being written)."""
    return not _writing and (Path(path) / "zarr.json").is_file()


def oracle_file(path: Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".oracle.pkl")


def _from_oracle(path: Path) -> dict[str, Any]:
    """The answers hdmf-zarr 0.14 gave for a v3 store when it was written (our own file)."""
    with open(oracle_file(path), "rb") as f:
        return _arrays_back(pickle.load(f))  # noqa: S301 - written by this test session's writer


def _portable(value: Any) -> Any:
    """Answers with numpy arrays as plain lists (numpy 2's pickles do not load in numpy 1,
    and the floor venv has numpy 1 while the zarr3 venv has numpy 2)."""
    if isinstance(value, np.ndarray):
        text = value.dtype.kind in "OUTS"
        return {"__ndarray__": value.tolist(), "dtype": "object" if text else value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_portable(v) for v in value)
    return value


def _arrays_back(value: Any) -> Any:
    if isinstance(value, dict) and "__ndarray__" in value:
        return np.array(value["__ndarray__"], dtype=value["dtype"])
    if isinstance(value, dict):
        return {k: _arrays_back(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_arrays_back(v) for v in value)
    return value


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
    """True when pynwb opens the file (it refuses NWB 1.x and MatNWB's 2.0b files); a v3
    store's answers come from the NWBZarrIO of the zarr3 venv."""
    if is_zarr_v3(path):
        return True
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
    if is_zarr_v3(path):
        return _from_oracle(path)["tables"][table_path]
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


def one_value(value: Any) -> Any:
    """An attribute as one value (MatNWB 2.0b stores one-element arrays), text decoded."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, np.generic):
        value = value.item()
    return value.decode() if isinstance(value, bytes) else value


def stored_facts(path: Path, series_path: str) -> dict[str, Any]:
    """What the file itself holds for a series, read with h5py / zarr-python (independent
    of pynwb and of our reader): whether `data` exists and has a `unit` attribute, and the
    `unit` of its timestamps (or starting_time)."""
    path = Path(path)
    key = series_path.strip("/")
    if path.is_dir():
        import zarr

        with nf.pickle_decode_allowed():  # zarr 2 decodes hdmf-zarr 0.13's pickled fill values
            root = zarr.open_group(str(path), mode="r")

            def get(name: str) -> Any:
                try:
                    return root[f"{key}/{name}"]
                except KeyError:
                    return None

            return _facts(get)
    import h5py

    with h5py.File(path, "r") as f:
        return _facts(lambda name: f.get(f"{key}/{name}"))


def _facts(get: Any) -> dict[str, Any]:
    data = get("data")
    times = get("timestamps")
    if times is None:
        times = get("starting_time")
    return {"stored_data": data is not None,
            "stored_unit": data is not None and "unit" in data.attrs,
            "time_unit": None if times is None else one_value(times.attrs.get("unit"))}


def series_values(obj: Any) -> dict[str, Any]:
    """A pynwb TimeSeries as plain values."""
    stored_ts = obj.timestamps
    electrodes = getattr(obj, "electrodes", None)
    return {
        "data": np.asarray(obj.data[:]) if obj.data is not None else None,
        "timestamps": np.asarray(stored_ts[:]) if stored_ts is not None
        else (np.asarray(obj.get_timestamps()) if obj.rate is not None else None),
        "rate": obj.rate,
        "starting_time": obj.starting_time,
        "unit": obj.unit,
        "conversion": obj.conversion,
        "offset": getattr(obj, "offset", 0.0),
        "resolution": obj.resolution,
        "description": obj.description,
        "electrodes": None if electrodes is None else np.asarray(electrodes.data[:]),
    }


def reference_series(path: Path) -> dict[str, dict[str, Any]]:
    """Every pynwb TimeSeries of the file, keyed by where it is stored, as plain values, with
    what the file holds for it (`stored_facts`)."""
    if is_zarr_v3(path):
        return _from_oracle(path)["series"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_nwb_io(path) as (io, nwbfile):
            series = containers_by_path(io, nwbfile, pynwb.TimeSeries)
            return {p: series_values(obj) | stored_facts(path, p) for p, obj in series.items()}


def reference_metadata(path: Path) -> dict[str, Any]:
    """The session and subject fields lazynwb's get_metadata_df reports, as pynwb has them."""
    if is_zarr_v3(path):
        return _from_oracle(path)["metadata"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_nwb(path) as nwbfile:
            out = {name: getattr(nwbfile, name, None) for name in SESSION}
            subject = nwbfile.subject
            for name in SUBJECT:
                out[name] = getattr(subject, name, None) if subject is not None else None
            for name in LISTS:  # read while the file is open (keywords may be lazy)
                value = out[name]
                out[name] = None if value is None else [
                    v.decode() if isinstance(v, bytes) else str(v) for v in value]
    if out["keywords"] is None:
        out["keywords"] = []  # lazynwb's LazyNWB.keywords gives [] for none
    for name, value in out.items():  # plain values: pynwb may hand out lazy arrays
        if isinstance(value, np.ndarray):
            out[name] = value.tolist()
        elif not isinstance(value, str | list | datetime.datetime | float | int | type(None)):
            out[name] = str(value)
    return out


def write_oracle(path: Path, tables: list[str] = TABLES) -> Path:
    """Every answer above for the file at `path`, pickled beside it (run where the file's
    reader lives: the zarr3 venv for v3 stores)."""
    global _writing
    _writing = True
    try:
        answers = {
            "tables": {t: reference_columns(path, t) for t in tables},
            "series": reference_series(path),
            "metadata": reference_metadata(path),
        }
    finally:
        _writing = False
    target = oracle_file(path)
    with open(target, "wb") as f:
        pickle.dump(_portable(answers), f)
    return target
