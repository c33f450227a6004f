"""`get`: one call for anything in a file - a DataFrame for tables, a TimeSeries for series.

How the search term is resolved (in the first file, as lazynwb does):
  1. an existing path: a time series -> TimeSeries, anything else -> get_df;
  2. otherwise a time series whose path contains the term (several: warn, best first);
  3. otherwise get_df's table search (shortcuts such as 'units', 'trials', fuzzy matching).
With as_df=True a series is returned as a DataFrame (data, timestamps and the internal
columns; computed timestamps for starting_time + rate), from every file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import Any

import pandas as pd
import polars as pl

from ..catalog import normalize_path, open_catalog, open_catalog_for
from ..config import resolve_as_polars
from ..errors import redact
from ..multifile import Missing, is_skipped, map_sources, report_missing
from ..nwb.kinds import is_series
from ..nwb.timeseries import TimeSeries
from ..sources import PathLike, Source, to_sources
from .frames import _names, get_df
from .series_frames import series_frame
from .timeseries import find_series


def _resolve_series(source: Source, search_term: str, exact_path: bool) -> str | None:
    """The series path the term names in this file, or None if it names no series."""
    catalog = open_catalog_for(source, search_term)
    path = normalize_path(search_term)
    if catalog.get(path) is not None:
        return path if is_series(catalog, path) else None
    if exact_path:
        return None
    matches = find_series(catalog, search_term)
    if len(matches) > 1:
        warnings.warn(
            f"{search_term!r} matches {len(matches)} time series in {redact(source.label)}: {matches}; "
            f"using {matches[0]!r} (pass an exact path to choose)",
            stacklevel=3,
        )
    return matches[0] if matches else None


def _series_df(
    sources: list[Source],
    path: str,
    *,
    include_column_names: str | Iterable[str] | None,
    exclude_column_names: str | Iterable[str] | None,
    exclude_array_columns: bool,
    disable_progress: bool,
    raise_on_missing: bool,
    ignore_errors: bool,
) -> pl.DataFrame:
    include = _names(include_column_names)
    exclude = set(_names(exclude_column_names) or [])
    columns = [c for c in (include or ["data", "timestamps"]) if c not in exclude]
    frames, missing = [], []
    for _source, frame in map_sources(
        sources,
        lambda s: series_frame(s, path, columns=columns,
                               exclude_array_columns=exclude_array_columns),
        ignore_errors=ignore_errors, disable_progress=disable_progress, desc=f"Reading {path}",
    ):
        if isinstance(frame, Missing):
            missing.append(frame.error)
        elif not is_skipped(frame):
            frames.append(frame)
    report_missing(missing, len(sources), raise_on_missing)
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def get(
    nwb_data_sources: PathLike | Iterable[PathLike],
    search_term: str,
    *,
    as_df: bool = False,
    exact_path: bool = False,
    include_column_names: str | Iterable[str] | None = None,
    exclude_column_names: str | Iterable[str] | None = None,
    exclude_array_columns: bool = True,
    use_process_pool: bool = False,
    disable_progress: bool = False,
    raise_on_missing: bool = False,
    ignore_errors: bool = False,
    as_polars: bool | None = None,
) -> pd.DataFrame | pl.DataFrame | TimeSeries:
    """A DataFrame (tables), a TimeSeries (one file's series) or, with as_df=True, a
    DataFrame of anything, including series across many files.

    Raises ValueError for a series across several files without as_df (a TimeSeries is one
    file's), and when no source is given."""
    if isinstance(nwb_data_sources, str | os.PathLike):
        nwb_data_sources = [nwb_data_sources]
    sources = to_sources(nwb_data_sources)
    if not sources:
        raise ValueError("At least one NWB source is required")
    series_path = _resolve_series(sources[0], search_term, exact_path)
    table_kwargs: dict[str, Any] = dict(
        include_column_names=include_column_names, exclude_column_names=exclude_column_names,
        exclude_array_columns=exclude_array_columns, use_process_pool=use_process_pool,
        disable_progress=disable_progress, raise_on_missing=raise_on_missing,
        ignore_errors=ignore_errors, as_polars=as_polars,
    )
    if series_path is None:
        return get_df(sources if len(sources) > 1 else sources[0],
                      search_term=search_term, exact_path=exact_path, **table_kwargs)
    if not as_df:
        if len(sources) > 1:
            raise ValueError(
                "TimeSeries containers can only be returned for a single NWB source; set "
                "`as_df=True` to materialize matching TimeSeries from multiple sources as a DataFrame"
            )
        return TimeSeries(sources[0].label, series_path, open_catalog(sources[0]))
    frame = _series_df(
        sources, series_path, include_column_names=include_column_names,
        exclude_column_names=exclude_column_names, exclude_array_columns=exclude_array_columns,
        disable_progress=disable_progress, raise_on_missing=raise_on_missing,
        ignore_errors=ignore_errors,
    )
    return frame if resolve_as_polars(as_polars) else frame.to_pandas()
