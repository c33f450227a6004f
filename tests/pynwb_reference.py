"""What pynwb itself returns for a file, as plain Python values, so tests can compare our
reader against the reference implementation: tables column by column (`reference_columns`),
every TimeSeries (`reference_series`), session metadata (`reference_metadata`).

HDF5 files and Zarr v2 stores are read here, with pynwb and hdmf-zarr 0.13 of the test venv.
Zarr v3 stores need hdmf-zarr 0.14 (Python >= 3.12, zarr >= 3.4), which lives in a venv of
its own (`zarr3_env.py`): it runs this same module when it writes a v3 fixture and stores the
answers beside the store (`<store>.oracle.pkl`); for those stores the functions here answer
from that file.
"""

from __future__ import annotations

import contextlib
import datetime
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
        return pickle.load(f)  # noqa: S301 - written by this test session's writer


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
    if is_zarr_v3(path):
        return _from_oracle(path)["tables"][table_path]
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


def _stored_series(path: Path) -> dict[str, tuple[bool, bool]]:
    """{object_id: (it has a `data` dataset, that dataset has a `unit` attribute)} of every
    group, read from the file itself (h5py / zarr-python), independent of pynwb and of our
    reader."""
    path = Path(path)
    out = {}
    if path.is_dir():
        import zarr

        with nf.pickle_decode_allowed():  # zarr 2 decodes hdmf-zarr 0.13's pickled fill values
            stack = [zarr.open_group(str(path), mode="r")]
        while stack:
            group = stack.pop()
            object_id = group.attrs.get("object_id")
            if isinstance(object_id, str):
                with nf.pickle_decode_allowed():
                    data = dict(group.arrays()).get("data")
                out[object_id] = (data is not None, data is not None and "unit" in data.attrs)
            stack.extend(g for _, g in group.groups())
        return out
    import h5py

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Group) and isinstance(obj.attrs.get("object_id"), str | bytes):
            object_id = obj.attrs["object_id"]
            data = obj.get("data", getlink=True) and obj.get("data")
            has = isinstance(data, h5py.Dataset)
            out[object_id.decode() if isinstance(object_id, bytes) else object_id] = (
                has, has and "unit" in data.attrs)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def reference_series(path: Path) -> dict[str, dict[str, Any]]:
    """Every pynwb TimeSeries of the file, keyed by object_id, as plain values."""
    if is_zarr_v3(path):
        return _from_oracle(path)["series"]
    out = {}
    stored = _stored_series(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_nwb(path) as nwbfile:
            for obj in nwbfile.objects.values():
                if not isinstance(obj, pynwb.TimeSeries):
                    continue
                stored_ts = obj.timestamps
                electrodes = getattr(obj, "electrodes", None)
                has_data, has_unit = stored.get(obj.object_id, (False, False))
                out[obj.object_id] = {
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
                    "timestamps_unit": obj.timestamps_unit if stored_ts is not None
                    else obj.starting_time_unit,
                    "electrodes": None if electrodes is None else np.asarray(electrodes.data[:]),
                    "stored_data": has_data,
                    "stored_unit": has_unit,
                }
    return out


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
        pickle.dump(answers, f)
    return target
