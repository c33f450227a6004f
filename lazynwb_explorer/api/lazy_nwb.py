"""LazyNWB and Subject: pynwb-like attribute access to one file, read on demand.

The attributes are lazynwb's (README / base.py): session metadata (identifier,
session_start_time, session_id, ..., source_script_file_name), `subject` (age, sex, ...),
the common tables (trials, epochs, electrodes, units), `get_df`, `get`,
`get_timeseries` and `describe()`. Metadata values are typed as in `nwb/session.py`
(experimenter / keywords / related_publications are lists; times are timezone-aware).
`_repr_html_` escapes everything it shows: file contents are untrusted text. It names the file
without its secrets (no query string, no user:password@): a notebook saves it.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Iterable
from typing import Any

import pandas as pd
import polars as pl

from ..catalog import Catalog, open_catalog
from ..errors import redact
from ..nwb import session as session_fields
from ..nwb.internal_paths import internal_paths
from ..nwb.timeseries import TimeSeries
from ..sources import PathLike, public_uri, to_source
from .frames import get_df, merge_array_column
from .timeseries import get_timeseries


class _Component:
    """Shared: one file, its catalog opened on first use."""

    _fields: dict[str, tuple[str, str | None, session_fields.Kind]] = {}

    def __init__(self, path: PathLike) -> None:
        self._file_path = path
        self._source = to_source(path)

    @property
    def _catalog(self) -> Catalog:
        return open_catalog(self._source)

    def _field(self, name: str) -> Any:
        path, attr, kind = self._fields[name]
        value = session_fields.read_field(self._catalog, path, attr, kind)
        if value is None and name in session_fields.EMPTY_DEFAULTS:
            return session_fields.EMPTY_DEFAULTS[name]()
        return value

    def _to_dict(self) -> dict[str, Any]:
        return session_fields.read_fields(self._catalog, self._fields)


def _field_property(name: str, doc: str = "") -> property:
    def get(self: _Component) -> Any:
        return self._field(name)

    return property(get, doc=doc or f"`{name}` from the file (None when absent).")


class Subject(_Component):
    """The subject of a session (/general/subject); every field is None when absent."""

    _fields = session_fields.SUBJECT_FIELDS

    def __repr__(self) -> str:
        return f"Subject({redact(str(self._file_path))!r})"

    age = _field_property("age", "Age, ISO 8601 duration recommended (e.g. 'P90D').")
    age__reference = _field_property(
        "age__reference", "'birth' or 'gestational' (None in files from before NWB 2.6)."
    )
    description = _field_property("description")
    genotype = _field_property("genotype")
    sex = _field_property("sex")
    species = _field_property("species")
    subject_id = _field_property("subject_id")
    weight = _field_property("weight")
    strain = _field_property("strain")
    date_of_birth = _field_property("date_of_birth", "Timezone-aware datetime, or None.")


class LazyNWB(_Component):
    """One NWB file with pynwb-like attributes; nothing is read until asked for.

    >>> nwb = LazyNWB("session.nwb")              # doctest: +SKIP
    >>> nwb.session_start_time, nwb.subject.age   # doctest: +SKIP
    >>> nwb.units.head()                          # doctest: +SKIP
    """

    _fields = session_fields.SESSION_FIELDS

    def __repr__(self) -> str:
        return f"LazyNWB({redact(str(self._file_path))!r})"

    identifier = _field_property("identifier")
    session_start_time = _field_property("session_start_time", "Timezone-aware datetime.")
    session_id = _field_property("session_id")
    session_description = _field_property("session_description")
    experiment_description = _field_property("experiment_description")
    experimenter = _field_property("experimenter", "List of names, or None.")
    lab = _field_property("lab")
    institution = _field_property("institution")
    related_publications = _field_property("related_publications", "List, or None.")
    keywords = _field_property("keywords", "List ([] when absent).")
    notes = _field_property("notes")
    data_collection = _field_property("data_collection")
    surgery = _field_property("surgery")
    pharmacology = _field_property("pharmacology")
    virus = _field_property("virus")
    source_script = _field_property("source_script")
    source_script_file_name = _field_property("source_script_file_name")

    @property
    def subject(self) -> Subject:
        return Subject(self._file_path)

    # -- tables -----------------------------------------------------------------------------

    def _table(self, path: str, **kwargs: Any) -> pd.DataFrame | pl.DataFrame:
        return get_df(self._file_path, search_term=path, exact_path=True,
                      disable_progress=True, **kwargs)

    @property
    def trials(self) -> pd.DataFrame | pl.DataFrame:
        return self._table("/intervals/trials")

    @property
    def epochs(self) -> pd.DataFrame | pl.DataFrame:
        return self._table("/intervals/epochs")

    @property
    def electrodes(self) -> pd.DataFrame | pl.DataFrame:
        return self._table("/general/extracellular_ephys/electrodes")

    @property
    def units(self) -> pd.DataFrame | pl.DataFrame:
        """Units without array columns (spike_times, waveforms), obs_intervals merged in."""
        return merge_array_column(
            self._table("/units", exclude_array_columns=True), "obs_intervals"
        )

    # -- access by name ---------------------------------------------------------------------

    def get_timeseries(self, search_term: str | None = None) -> TimeSeries:
        return get_timeseries(self._file_path, search_term=search_term, match_all=False)

    def get(
        self,
        search_term: str,
        *,
        as_df: bool = False,
        exact_path: bool = False,
        include_column_names: str | Iterable[str] | None = None,
        exclude_column_names: str | Iterable[str] | None = None,
        exclude_array_columns: bool = True,
        use_process_pool: bool = False,
        disable_progress: bool = True,
        raise_on_missing: bool = True,
        ignore_errors: bool = False,
        as_polars: bool | None = None,
    ) -> pd.DataFrame | pl.DataFrame | TimeSeries:
        from .get import get

        return get(
            self._file_path, search_term, as_df=as_df, exact_path=exact_path,
            include_column_names=include_column_names,
            exclude_column_names=exclude_column_names,
            exclude_array_columns=exclude_array_columns, use_process_pool=use_process_pool,
            disable_progress=disable_progress, raise_on_missing=raise_on_missing,
            ignore_errors=ignore_errors, as_polars=as_polars,
        )

    def get_df(
        self,
        search_term: str,
        exact_path: bool = False,
        include_column_names: str | Iterable[str] | None = None,
        exclude_column_names: str | Iterable[str] | None = None,
        exclude_array_columns: bool = True,
        use_process_pool: bool = False,
        disable_progress: bool = True,
        raise_on_missing: bool = True,
        ignore_errors: bool = False,
        as_polars: bool | None = None,
    ) -> pd.DataFrame | pl.DataFrame:
        return get_df(
            self._file_path, search_term=search_term, exact_path=exact_path,
            include_column_names=include_column_names,
            exclude_column_names=exclude_column_names,
            exclude_array_columns=exclude_array_columns, use_process_pool=use_process_pool,
            disable_progress=disable_progress, raise_on_missing=raise_on_missing,
            ignore_errors=ignore_errors, as_polars=as_polars,
        )

    def describe(self) -> dict[str, Any]:
        """Session fields, subject fields and the file's internal paths, in one dict."""
        return {
            **self._to_dict(),
            **self.subject._to_dict(),
            "paths": internal_paths(self._catalog),
        }

    def _repr_html_(self) -> str:
        """Session, subject and paths as HTML; every value from the file is escaped."""
        info = self.describe()
        paths = info.pop("paths", [])
        subject_names = set(session_fields.SUBJECT_FIELDS)
        session = {k: v for k, v in info.items() if k not in subject_names}
        subject = {k: v for k, v in info.items() if k in subject_names}
        parts = [f"<h3>NWB file: {_esc(public_uri(str(self._file_path)))}</h3>", _html_list(session),
                 "<h4>Subject</h4>", _html_list(subject),
                 "<h4>Paths</h4><details><summary>Click to expand</summary><ul>"]
        parts += [f"<li>{_esc(p)}</li>" for p in paths]
        parts.append("</ul></details>")
        return "".join(parts)


def _esc(value: Any) -> str:
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    elif isinstance(value, datetime.datetime):
        value = value.isoformat()
    return html.escape("" if value is None else str(value), quote=True)


def _html_list(fields: dict[str, Any]) -> str:
    items = "".join(f"<li><strong>{_esc(k)}:</strong> {_esc(v)}</li>" for k, v in fields.items())
    return f"<ul>{items}</ul>"
