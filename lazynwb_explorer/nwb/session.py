"""Session and subject metadata of one file: one typed value per field (api/metadata.py
builds get_metadata_df's frames from them).

Each field has a kind that fixes its Python type whatever the file's age or writer:
  text      str (a one-element array is unwrapped; numbers stay numbers)
  list      list[str] (experimenter, keywords, related_publications: old files store a
            single string, new ones an array; both become a list, as pynwb's tuple does)
  datetime  timezone-aware datetime (a naive one is taken as local time, as pynwb does)
Strings from a file are data: they are never evaluated (lazynwb `eval`s strings shaped
like "[...]"; a file could put code there).

Fields follow lazynwb's names and order (its LazyNWB/Subject properties), so
get_metadata_df has lazynwb's columns; `age__reference` is read from the `reference`
attribute of subject/age (where NWB stores it) and `source_script_file_name` from the
`file_name` attribute of general/source_script, so both match pynwb.
"""

from __future__ import annotations

import datetime
import warnings
from typing import Any, Literal

import numpy as np

from ..catalog import Catalog, open_metadata_catalog
from ..errors import LazyNWBError, redact
from ..sources import Source
from .table_query import NWB_PATH_COLUMN_NAME

Kind = Literal["text", "list", "datetime"]

# name -> (internal path, attribute of that path or None, kind); lazynwb's order
SESSION_FIELDS: dict[str, tuple[str, str | None, Kind]] = {
    "identifier": ("/identifier", None, "text"),
    "session_start_time": ("/session_start_time", None, "datetime"),
    "session_id": ("/general/session_id", None, "text"),
    "session_description": ("/session_description", None, "text"),
    "experiment_description": ("/general/experiment_description", None, "text"),
    "experimenter": ("/general/experimenter", None, "list"),
    "lab": ("/general/lab", None, "text"),
    "institution": ("/general/institution", None, "text"),
    "related_publications": ("/general/related_publications", None, "list"),
    "keywords": ("/general/keywords", None, "list"),
    "notes": ("/general/notes", None, "text"),
    "data_collection": ("/general/data_collection", None, "text"),
    "surgery": ("/general/surgery", None, "text"),
    "pharmacology": ("/general/pharmacology", None, "text"),
    "virus": ("/general/virus", None, "text"),
    "source_script": ("/general/source_script", None, "text"),
    "source_script_file_name": ("/general/source_script", "file_name", "text"),
}
SUBJECT_FIELDS: dict[str, tuple[str, str | None, Kind]] = {
    "age": ("/general/subject/age", None, "text"),
    "age__reference": ("/general/subject/age", "reference", "text"),
    "description": ("/general/subject/description", None, "text"),
    "genotype": ("/general/subject/genotype", None, "text"),
    "sex": ("/general/subject/sex", None, "text"),
    "species": ("/general/subject/species", None, "text"),
    "subject_id": ("/general/subject/subject_id", None, "text"),
    "weight": ("/general/subject/weight", None, "text"),
    "strain": ("/general/subject/strain", None, "text"),
    "date_of_birth": ("/general/subject/date_of_birth", None, "datetime"),
}
# The root's datasets the fields above read (the root's groups are not opened for metadata)
_ROOT_DATASETS = frozenset(
    path for path, _, _ in (SESSION_FIELDS | SUBJECT_FIELDS).values() if path.count("/") == 1
)


def in_metadata_scope(path: str) -> bool:
    """What a metadata-only walk reads: the fields' root datasets and all of /general (its
    groups are opened, so a field is found wherever a writer put it below /general)."""
    return path in _ROOT_DATASETS or path == "/general" or path.startswith("/general/")


# lazynwb returns [] (not None) for a file without keywords
EMPTY_DEFAULTS = {"keywords": list}


def _plain(value: Any) -> Any:
    """numpy / bytes values -> Python str, int, float, bool, list."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.reshape(-1).tolist()] if value.ndim else _plain(value[()])
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def parse_datetime(text: Any, source: str, path: str) -> datetime.datetime | None:
    """An ISO 8601 string -> timezone-aware datetime (naive = local time, as pynwb).
    Unparseable text warns (naming file and path) and gives None."""
    if isinstance(text, datetime.datetime):
        value = text
    else:
        raw = str(text).strip()
        try:
            value = datetime.datetime.fromisoformat(raw)
        except ValueError:
            try:
                from dateutil.parser import isoparse

                value = isoparse(raw)
            except (ValueError, OverflowError):
                warnings.warn(
                    f"{path} in {redact(str(source))} is not an ISO 8601 date/time: {raw[:80]!r}; using None",
                    stacklevel=3,
                )
                return None
    return value if value.tzinfo is not None else value.astimezone()


def _shape(value: Any, kind: Kind, source: str, path: str) -> Any:
    if kind == "list":
        if isinstance(value, list):
            return [str(v) for v in value]
        return [str(value)]
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else value
    if kind == "datetime":
        if isinstance(value, list):  # several dates where one is expected: the first
            value = value[0] if value else None
        return None if value is None else parse_datetime(value, source, path)
    return value


def read_field(catalog: Catalog, path: str, attr: str | None, kind: Kind) -> Any:
    """One metadata field (None when the file does not have it)."""
    node = catalog.get(path)
    if node is None:
        return None
    if attr is not None:
        value = node.attrs.get(attr)
        return None if value is None else _shape(_plain(value), kind, catalog.label, path)
    if node.dataset is None:
        return None
    try:
        value = _plain(catalog.backend.read(node.path))
    except LazyNWBError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure is re-raised naming the field
        raise LazyNWBError(f"cannot read metadata: {exc}", source=catalog.label, path=path) from exc
    return _shape(value, kind, catalog.label, path)


def read_fields(catalog: Catalog, fields: dict[str, tuple[str, str | None, Kind]]) -> dict[str, Any]:
    out = {}
    for name, (path, attr, kind) in fields.items():
        value = read_field(catalog, path, attr, kind)
        if value is None and name in EMPTY_DEFAULTS:
            value = EMPTY_DEFAULTS[name]()
        out[name] = value
    return out


def read_session(catalog: Catalog) -> dict[str, Any]:
    """The session fields of one file (lazynwb's LazyNWB properties)."""
    return read_fields(catalog, SESSION_FIELDS)


def read_subject(catalog: Catalog) -> dict[str, Any]:
    """The subject fields of one file (lazynwb's Subject properties)."""
    return read_fields(catalog, SUBJECT_FIELDS)


def _field_reads(catalog: Catalog) -> list[tuple[str, list[tuple[int, int]]]]:
    """(dataset, rows) of every session and subject field stored as a dataset."""
    out = []
    for path, attr, _ in (*SESSION_FIELDS.values(), *SUBJECT_FIELDS.values()):
        node = catalog.get(path)
        if attr is None and node is not None and node.dataset is not None:
            out.append((node.path, [(0, node.dataset.shape[0] if node.dataset.shape else 1)]))
    return out


def metadata_record(source: Source) -> dict[str, Any]:
    """One get_metadata_df row: session fields, subject fields, then _nwb_path. The field
    datasets are fetched together first (one round where the backend can, e.g. a Zarr
    store's one object per field), then read from memory."""
    catalog = open_metadata_catalog(source, in_metadata_scope)
    with catalog.backend.prefetched(_field_reads(catalog)):
        return {**read_session(catalog), **read_subject(catalog), NWB_PATH_COLUMN_NAME: source.label}
