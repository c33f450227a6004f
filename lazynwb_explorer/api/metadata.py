"""get_metadata_df (lazynwb's name and parameters): session and subject metadata, one row per
file, with one polars type per column whatever the files' ages or writers."""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable
from typing import Any

import pandas as pd
import polars as pl

from ..config import resolve_as_polars
from ..multifile import Missing, is_skipped, map_sources
from ..nwb.session import SESSION_FIELDS, SUBJECT_FIELDS, Kind, metadata_record
from ..sources import PathLike, to_sources

FIELD_KINDS: dict[str, Kind] = {
    name: kind for name, (_, _, kind) in (SESSION_FIELDS | SUBJECT_FIELDS).items()
}


def polars_column(name: str, values: list[Any], kind: Kind | None = None) -> pl.Series:
    """A typed column from per-file values; types that differ between files are unified
    (a str among lists becomes a one-element list; a number in a text field becomes text)."""
    present = [v for v in values if v is not None]
    if kind == "datetime" or (present and all(isinstance(v, datetime.datetime) for v in present)):
        utc = [None if v is None else v.astimezone(datetime.timezone.utc) for v in values]
        return pl.Series(name, utc, dtype=pl.Datetime("us", "UTC"))
    if kind == "list" or any(isinstance(v, list) for v in present):
        lists = [None if v is None else [str(x) for x in (v if isinstance(v, list) else [v])]
                 for v in values]
        return pl.Series(name, lists, dtype=pl.List(pl.String))
    if kind is None and present and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in present
    ):
        return pl.Series(name, values)
    return pl.Series(name, [None if v is None else str(v) for v in values], dtype=pl.String)


def records_to_polars(records: list[dict[str, Any]], kinds: dict[str, Kind] | None = None) -> pl.DataFrame:
    kinds = FIELD_KINDS if kinds is None else kinds
    names = list(dict.fromkeys(k for r in records for k in r))
    return pl.DataFrame(  # every record has _nwb_path: the columns give the height
        [polars_column(n, [r.get(n) for r in records], kinds.get(n)) for n in names]
    )


def get_metadata_df(
    nwb_path_or_paths: PathLike | Iterable[PathLike],
    disable_progress: bool = False,
    as_polars: bool | None = None,
) -> pd.DataFrame | pl.DataFrame:
    """One row per file: session and subject metadata plus `_nwb_path`, in input order.

    Files are read concurrently with a progress bar. Columns (lazynwb's): identifier,
    session_start_time, session_id, session_description, experiment_description,
    experimenter, lab, institution, related_publications, keywords, notes, data_collection,
    surgery, pharmacology, virus, source_script, source_script_file_name, age,
    age__reference, description, genotype, sex, species, subject_id, weight, strain,
    date_of_birth, _nwb_path. experimenter / related_publications / keywords are lists.
    Polars frames hold times in UTC (one time zone per column); pandas keeps each file's.
    """
    if isinstance(nwb_path_or_paths, str | os.PathLike):
        nwb_path_or_paths = [nwb_path_or_paths]
    sources = to_sources(nwb_path_or_paths)
    records = []
    for _, result in map_sources(
        sources, metadata_record, disable_progress=disable_progress, desc="Getting metadata"
    ):
        if isinstance(result, Missing):
            raise result.error
        if not is_skipped(result):
            records.append(result)
    if resolve_as_polars(as_polars):
        return records_to_polars(records)
    return pd.DataFrame.from_records(records)
